"""The Outbox tab: every e-mail sheetpipe sends, from its cause to its fate.

A cycle queues an alert by appending its row, with an ID derived from its cause
(`deals/D-0123/new-lead`, or the ID of the task it announces), so a cause is queued
once whatever happens. Delivery (sheetpipe/mail.py) then takes queued rows in small
batches: a batch is marked `sending`, each row with the Message-ID it will carry, before
its SMTP transactions, and `sent` or `failed: …` after. A row a stopped run left
`sending` may or may not have gone: it is never sent again by itself, only reported,
until a person looks for its Message-ID and sets it to `sent`, or to `queued` to send it
again.

Limits, on purpose: at most BATCH e-mails are in doubt after a kill; the daily cap
counts the rows sent (or sending) on the sheet's today, so a person deleting Outbox rows
lifts it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import pandas as pd

from sheetpipe.core import cells
from sheetpipe.core.contract import OUTBOX_COLUMNS
from sheetpipe.core.table import Table
from sheetpipe.core.tasks import slug
from sheetpipe.core.team import Member
from sheetpipe.model import ChangeSet, ColumnWrite, Problem

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
BATCH = 10  # rows marked `sending` at once: at most this many in doubt after a kill
WAITING_TOO_LONG = timedelta(minutes=30)  # queued this long: the SMTP server is not taking them
# Task kinds that are alerts worth an e-mail, and the Settings switch of each.
TASK_ALERTS = {"returning": "alert_on_new_lead", "hot": "alert_when_hot",
               "stalled": "alert_when_stalled"}  # fmt: skip


@dataclass(frozen=True)
class Alert:
    """An e-mail a cycle wants sent: what caused it, to whom, and what it is about."""

    id: str  # from its cause: a cause is queued once
    kind: str  # the template: new-lead, returning, hot, stalled
    owner: str  # the Team member it goes to
    deal: dict[str, str]  # the deal's cells, by header, as text
    where: tuple[str, int]  # the deal's tab and row
    detail: str = ""  # the task it announces, or how the lead came in


@dataclass(frozen=True)
class Letter:
    subject: str
    body: str


class MailProblem(Exception):
    """An alert's template cannot be filled in (a field it names is missing…)."""


class Composer(Protocol):
    """Turns an alert into its e-mail (sheetpipe/mail.py renders the templates)."""

    def compose(self, alert: Alert, to: Member) -> Letter: ...


@dataclass(frozen=True)
class Outgoing:
    """A queued row to send now."""

    row: int
    id: str
    to: str
    subject: str
    body: str


@dataclass(frozen=True)
class DealRows:
    """One pipeline as this cycle planned it: its cells, and the columns sheetpipe set."""

    name: str
    table: Table  # with the rows this cycle adds
    desired: pd.DataFrame  # owned columns by contract name; index = sheet row

    def cells_of(self, row: int) -> dict[str, str]:
        """The deal's cells by header, as a person reads them (dates as dates)."""
        found = {}
        # strict=False: Google hands rows over without their trailing empty cells.
        for name, value in zip(self.table.tab.header, self.table.tab.rows[row - 1], strict=False):
            if name:
                is_serial = self.table.serial_numbers and cells.norm(name) in DATE_COLUMNS
                shown = cells.parse_date(value, serial_numbers=True) if is_serial else value
                found[name] = cells.text(shown)
        planned = self.desired.loc[row] if row in self.desired.index else {}
        found.update({k: cells.text(v) for k, v in dict(planned).items() if k in OWNED})
        return found


DATE_COLUMNS = {"expected close", "last contact", "in stage since"}
OWNED = ("ID", "Score", "Lead status", "Health", "Why", "In stage since", "Days in stage")


def alerts(
    pipelines: list[DealRows],
    new_leads: list[tuple[str, int, str]],  # (pipeline, row, how it came in)
    tasks: list[dict[str, object]],  # the task rows this cycle appends
    switches: dict[str, bool],  # Settings attribute → on
) -> list[Alert]:
    """The e-mails this cycle's events call for: each new lead to its owner, and the
    alert tasks (returning lead, Hot, Stalled) the Settings switch on."""
    by_name = {p.name: p for p in pipelines}
    found = []
    if switches.get("alert_on_new_lead"):
        for name, row, how in new_leads:
            deal = by_name[name].cells_of(row)
            owner = deal.get(_header(by_name[name], "Owner"), "")
            found.append(Alert(f"{slug(name)}/{deal.get('ID', row)}/new-lead", "new-lead",
                               owner, deal, (by_name[name].table.name, row), how))  # fmt: skip
    wanted = [t for t in tasks if switches.get(TASK_ALERTS.get(str(t["Kind"]), ""))]
    where = _rows_of({str(t["Deal ID"]) for t in wanted}, pipelines)
    for task in wanted:
        pipeline, row = where.get(str(task["Deal ID"]), (None, 0))
        if pipeline is None:
            continue
        found.append(Alert(str(task["Task ID"]), str(task["Kind"]), cells.text(task["Owner"]),
                           pipeline.cells_of(row), (pipeline.table.name, row),
                           cells.text(task["Task"])))  # fmt: skip
    return found


def _header(pipeline: DealRows, column: str) -> str:
    col = pipeline.table.cols.get(cells.norm(column))
    return pipeline.table.tab.header[col - 1] if col else column


def _rows_of(ids: set[str], pipelines: list[DealRows]) -> dict[str, tuple[DealRows, int]]:
    found = {}
    for pipeline in pipelines:
        column = pipeline.desired["ID"]
        for row, deal_id in column[column.isin(ids)].items():
            found.setdefault(str(deal_id), (pipeline, int(row)))
    return found


def queue(
    alerts: Iterable[Alert],
    outbox: Table | None,
    team: list[Member],
    composer: Composer,
    now: datetime,
    problems: list[Problem],
) -> list[dict[str, object]]:
    """Outbox rows for the alerts it lacks: queued, or failed when nothing can be sent."""
    known = set(outbox.column("ID").stripped()) if outbox is not None else set()
    members = {cells.norm(m.name): m for m in team}
    rows = []
    for alert in alerts:
        if alert.id in known:
            continue
        known.add(alert.id)
        row = {"ID": alert.id, "Kind": alert.kind, "Queued": now, "Status": QUEUED}
        member = members.get(cells.norm(alert.owner))
        where = cells.a1(*alert.where, 1)
        if member is None or not member.email:
            row["Status"] = f"{FAILED}: {alert.owner or 'the deal'} has no Email in Team"
            problems.append(Problem(where, _no_address(alert), "warning"))
            rows.append(row)
            continue
        row["To"] = member.email
        try:
            letter = composer.compose(alert, member)
        except MailProblem as err:
            row["Status"] = f"{FAILED}: {err}"
            problems.append(Problem(where, f"the {alert.kind} e-mail was not made: {err}"))
        else:
            row.update(Subject=letter.subject, Body=letter.body)
        rows.append(row)
    return rows


def _no_address(alert: Alert) -> str:
    who = f'"{alert.owner}"' if alert.owner else "it (no owner)"
    return (
        f"the {alert.kind} e-mail for {who} was not sent: give them an Email in Team, then "
        f"set the Outbox row {alert.id} to queued to send it."
    )


@dataclass(frozen=True)
class OutboxState:
    """The Outbox as read: what waits, what is in doubt, what today has sent."""

    waiting: list[Outgoing]  # queued, oldest first
    in_doubt: list[tuple[int, str]]  # (row, Message-ID) of rows left `sending`
    sent_today: int
    oldest_queued: datetime | None


def read_outbox(outbox: Table | None, now: datetime, date_order: str) -> OutboxState:
    if outbox is None or outbox.index.empty:
        return OutboxState([], [], 0, None)
    state = cells.texts(outbox.get("Status")).str.split(":").str[0].str.strip().str.casefold()
    sent_on = outbox.column("Sent").datetimes(date_order).dt.date
    sent_today = state.isin([SENT, SENDING]) & (sent_on == now.date())
    queued = state.index[state == QUEUED]
    text = {c: cells.texts(outbox.get(c)) for c in ("ID", "To", "Subject", "Body", "Message-ID")}
    waiting = [
        Outgoing(row, text["ID"][row].strip(), text["To"][row].strip(), text["Subject"][row],
                 text["Body"][row])
        for row in queued
    ]  # fmt: skip
    doubt = [(row, text["Message-ID"][row]) for row in state.index[state == SENDING]]
    queued_at = outbox.column("Queued").datetimes(date_order)[queued]
    oldest = queued_at.min().floor("s").to_pydatetime() if queued_at.notna().any() else None
    return OutboxState(waiting, doubt, int(sent_today.sum()), oldest)


def report(state: OutboxState, tab: str, per_day: int, now: datetime) -> list[Problem]:
    """What a person should know of the Outbox: e-mails in doubt, and ones not leaving."""
    problems = [
        Problem(
            cells.a1(tab, row, OUTBOX_COLUMNS.index("Status") + 1),
            f"a run stopped while sending this e-mail ({message_id or 'no Message-ID'}); it may "
            "have gone. Look for it in the sender's Sent folder, then set Status to sent, or to "
            "queued to send it again.",
            "warning",
        )
        for row, message_id in state.in_doubt
    ]
    if state.waiting and state.sent_today >= per_day:
        problems.append(Problem(f"{tab} tab", f"{len(state.waiting)} e-mails wait: today's "
                                f"cap of {per_day} (Settings, E-mails per day) is reached.",
                                "warning"))  # fmt: skip
    elif state.oldest_queued is not None and now - state.oldest_queued > WAITING_TOO_LONG:
        problems.append(
            Problem(
                f"{tab} tab",
                f"{len(state.waiting)} e-mails queued since {state.oldest_queued:%Y-%m-%d %H:%M} "
                "are not sent yet: `sheetpipe check --smtp` says what the mail server answers.",
                "warning",
            )
        )
    return problems


def next_batch(state: OutboxState, per_day: int) -> list[Outgoing]:
    """The queued rows to send now: oldest first, within today's cap, at most BATCH."""
    room = max(0, per_day - state.sent_today)
    return state.waiting[: min(room, BATCH)]


def fates(outbox: Table, outcomes: dict[str, tuple[str, str, datetime | None]]) -> ChangeSet:
    """The writes recording each e-mail's fate, by Outbox ID: (Status, Message-ID, Sent).

    Rows are found by ID in the Outbox as read now (people may have sorted it), and the
    backend's guard checks that each still holds its ID before writing."""
    ids = outbox.column("ID").stripped()
    rows = {i: row for row, i in ids.items() if i in outcomes}
    changes = ChangeSet()
    if not rows:  # deleted by a person meanwhile: nothing to record
        return changes
    for name, at in (("Status", 0), ("Message-ID", 1), ("Sent", 2)):
        col = outbox.cols[cells.norm(name)]
        order = sorted(rows.items(), key=lambda item: item[1])
        changes.writes.append(ColumnWrite(outbox.name, col, name, [r for _, r in order],
                                          [outcomes[i][at] for i, _ in order]))  # fmt: skip
    to = cells.texts(outbox.get("To"))
    changes.expect[outbox.name] = {r: (i, to[r]) for i, r in rows.items()}
    changes.expect_cols[outbox.name] = (outbox.cols["id"], outbox.cols["to"])
    return changes


DEAL_IN_ID = re.compile(r"^[^/]+/([^/]+)/")  # deals/D-0123/new-lead → D-0123


def by_deal(outbox: Table | None, queued: list[dict[str, object]]) -> dict[str, list[str]]:
    """Deal ID (case-folded) → its e-mails in words, from Outbox and this cycle's new rows
    (for `explain`): "new-lead to ana@x.example: sent 2026-03-10 09:30"."""
    rows = [dict(r) for r in queued]
    if outbox is not None:
        fields = {c: cells.texts(outbox.get(c)) for c in ("ID", "Kind", "To", "Status", "Sent")}
        rows = [{c: fields[c][r] for c in fields} for r in outbox.index] + rows
    found: dict[str, list[str]] = {}
    for row in rows:
        deal = DEAL_IN_ID.match(cells.text(row.get("ID")).strip())
        if deal is None:
            continue
        sent = cells.text(row.get("Sent"))
        status = cells.text(row.get("Status")) + (f" {sent}" if sent else "")
        to = cells.text(row.get("To")) or "nobody"
        found.setdefault(deal.group(1).casefold(), []).append(
            f"{cells.text(row.get('Kind'))} to {to}: {status}"
        )
    return found
