"""The Outbox tab: every e-mail sheetpipe sends, from its cause to its fate.

A cycle queues an alert by appending its row, with an ID derived from its cause
(`deals/D-0123/new-lead`, or the ID of the task it announces), so a cause is queued
once whatever happens. Delivery (sheetpipe/mail/) then takes queued rows in small
batches: a batch is marked `sending`, each row with the Message-ID it will carry, before
its SMTP transactions, and `sent` or `failed: …` after. A row a stopped run left
`sending` may or may not have gone: it is never sent again by itself, only reported,
until a person looks for its Message-ID and sets it to `sent`, or to `queued` to send it
again.

A queued alert follows its deal: when its batch goes, it is addressed to the deal's
owner as the sheet says then (`address`), so a deal reassigned while its alert waited
mails the new owner, and an alert queued for an owner without an Email is made once the
Team has one. Every row is checked before anything is marked `sending`; a row that cannot
go is failed alone, with the reason.

Limits, on purpose: at most BATCH e-mails are in doubt after a kill; the daily cap
counts the rows sent (or sending) on the sheet's today, so a person deleting Outbox rows
lifts it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import pandas as pd

from sheetpipe.core.contract import OUTBOX_COLUMNS
from sheetpipe.core.deals.scoring import Columns
from sheetpipe.core.deals.tasks import slug
from sheetpipe.core.inputs.team import Member
from sheetpipe.core.sheet import cells
from sheetpipe.core.sheet.table import Table
from sheetpipe.model import ChangeSet, ColumnWrite, Problem

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
BATCH = 10  # rows marked `sending` at once: at most this many in doubt after a kill
WAITING_TOO_LONG = timedelta(minutes=30)  # queued this long: the SMTP server is not taking them
# Task kinds that are alerts worth an e-mail, and the Settings switch of each.
TASK_ALERTS = {"returning": "alert_on_new_lead", "hot": "alert_when_hot",
               "stalled": "alert_when_stalled"}  # fmt: skip
ALERT_KINDS = frozenset({"new-lead", *TASK_ALERTS})  # e-mails that go to a deal's owner
NURTURE = "nurture"  # a sequence's e-mail to the lead (core/tabs/nurture.py)


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
    """Turns an alert into its e-mail (sheetpipe/mail/ renders the templates)."""

    def compose(self, alert: Alert, to: Member) -> Letter: ...

    def merge(self, subject: str, body: str, fields: dict[str, object]) -> Letter:
        """A letter from templates written in the sheet (a nurture step's)."""
        ...


@dataclass(frozen=True)
class Outgoing:
    """A queued row to send now."""

    row: int
    id: str
    to: str
    subject: str
    body: str
    kind: str = ""
    sender_name: str = ""  # shown in From: a nurture e-mail comes from its deal's owner


@dataclass(frozen=True)
class DealRows:
    """One pipeline as this cycle planned it: its cells, and the columns sheetpipe set."""

    name: str
    table: Table  # with the rows this cycle adds
    desired: pd.DataFrame  # owned columns by contract name; index = sheet row
    columns: Columns | None = None  # its columns as the rules read them

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
) -> tuple[list[dict[str, object]], list[Problem]]:
    """Outbox rows for the alerts it lacks: queued, or failed when nothing can be sent;
    and a problem for each that cannot be."""
    problems: list[Problem] = []
    known = set(outbox.column("ID").stripped()) if outbox is not None else set()
    members = {cells.norm(m.name): m for m in team}
    rows = []
    for alert in alerts:
        if alert.id in known:
            continue
        known.add(alert.id)
        row = {"ID": alert.id, "Kind": alert.kind, "Queued": now, "Status": QUEUED}
        member = members.get(cells.norm(alert.owner))
        why = owner_problem(alert.owner, member)
        if why:
            row["Status"] = f"{FAILED}: {why}"
            problems.append(Problem(cells.a1(*alert.where, 1), _no_address(alert, why), "warning"))
            rows.append(row)
            continue
        assert member is not None  # owner_problem says why otherwise
        row["To"] = member.email
        try:
            letter = composer.compose(alert, member)
        except MailProblem as err:
            row["Status"] = f"{FAILED}: {err}"
            where = cells.a1(*alert.where, 1)
            problems.append(Problem(where, f"the {alert.kind} e-mail was not made: {err}"))
        else:
            row.update(Subject=letter.subject, Body=letter.body)
        rows.append(row)
    return rows, problems


def _no_address(alert: Alert, why: str) -> str:
    who = f'"{alert.owner}"' if alert.owner else "it (no owner)"
    fix = "give them an Email in Team" if why.endswith("has no Email in Team") else why + "; fix it"
    return (
        f"the {alert.kind} e-mail for {who} was not sent: {fix}, then "
        f"set the Outbox row {alert.id} to queued to send it."
    )


def owner_problem(owner: str, member: Member | None) -> str:
    """Why an alert cannot go to this owner ("" when it can): no Team row, no Email, or an
    Email that is not one address."""
    if member is None or not member.email:
        return f"{owner or 'the deal'} has no Email in Team"
    return address_problem(member.email, f"{member.name}'s Email in Team")


_ATOM = r"[^@\s,;:<>()\[\]\"\\]+"  # no space, separator, quote or bracket
ONE_ADDRESS = re.compile(rf"{_ATOM}@{_ATOM}")


def address_problem(text: str, whose: str) -> str:
    """Why `text` cannot be where an e-mail goes ("" when it can): exactly one plain
    address. The mail server judges the rest (a 5xx fails the row); this catches what it
    would not: a second address (a copy to someone else), a line break (a header of its
    own), a name typed where the address belongs."""
    shown = " ".join(text.split())
    if not shown:
        return f"{whose} is empty"
    if ONE_ADDRESS.fullmatch(text.strip()):
        return ""
    if len(ONE_ADDRESS.findall(text)) > 1:
        return f'{whose}, "{shown}", holds more than one address; an alert goes to one person'
    return f'{whose}, "{shown}", is not an e-mail address'


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
    state = _states(outbox)
    sent_on = outbox.column("Sent").datetimes(date_order).dt.date
    sent_today = state.isin([SENT, SENDING]) & (sent_on == now.date())
    queued = state.index[state == QUEUED]
    text = {c: cells.texts(outbox.get(c))
            for c in ("ID", "To", "Subject", "Body", "Message-ID", "Kind")}  # fmt: skip
    waiting = {}  # by ID: a row copied by a person is the same cause, mailed once
    for row in queued:
        mail = Outgoing(row, text["ID"][row].strip(), text["To"][row].strip(),
                        text["Subject"][row], text["Body"][row],
                        text["Kind"][row].strip().casefold())  # fmt: skip
        waiting.setdefault(mail.id, mail)
    doubt = [(row, text["Message-ID"][row]) for row in state.index[state == SENDING]]
    queued_at = outbox.column("Queued").datetimes(date_order)[queued]
    oldest = queued_at.min().floor("s").to_pydatetime() if queued_at.notna().any() else None
    return OutboxState(list(waiting.values()), doubt, int(sent_today.sum()), oldest)


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


def next_batch(state: OutboxState, per_day: int, window_open: bool = True) -> list[Outgoing]:
    """The queued rows to send now: oldest first, within today's cap, at most BATCH.
    E-mails to leads (nurture) wait while the send window is closed (a row queued in it
    and held up by the mail server must not reach a prospect at 3 a.m.)."""
    room = max(0, per_day - state.sent_today)
    going = [m for m in state.waiting if window_open or m.kind != NURTURE]
    return going[: min(room, BATCH)]


@dataclass(frozen=True)
class Addressed:
    """A batch as it will go: who gets what, decided before anything is marked `sending`."""

    ready: list[Outgoing]  # to send, with the To, Subject and Body they go with
    remade: dict[str, Outgoing]  # of those, by ID, the ones made again for their owner now
    refused: dict[str, str]  # ID → why it cannot go: failed alone, the rest go on


class _Refused(Exception):
    """This row cannot go; str() says why, for its Status."""


def address(
    batch: list[Outgoing],
    pipelines: Mapping[str, Table],  # by slug of the pipeline's name, as alert IDs hold it
    team: list[Member],
    task_texts: Mapping[str, str],  # Task ID → Task: an alert task's detail
    composer: Composer,
) -> Addressed:
    """Each queued row's recipient as the sheet holds it now. An alert follows its deal:
    it goes to the deal's owner now, made again for them when its To is not their Email
    (reassigned while it waited, a changed address, or queued when they had none). Any
    other row goes to its own To. A row that cannot go is refused alone, with the reason."""
    members = {cells.norm(m.name): m for m in team}
    ready, remade, refused = [], {}, {}
    for mail in batch:
        try:
            if not mail.id:  # fates are written by ID: without one, none could be
                raise _Refused("the row has no ID; give it one no other row has")
            deal = find_deal(mail.id, pipelines) if mail.kind in ALERT_KINDS else None
            going = _as_written(mail) if deal is None else _for_owner(
                mail, deal, members, team, task_texts, composer)  # fmt: skip
            if mail.kind == NURTURE:
                going = _from_owner(going, find_deal(mail.id, pipelines))
        except _Refused as why:
            refused[mail.id] = str(why)
            continue
        ready.append(going)
        if going is not mail:
            remade[mail.id] = going
    return Addressed(ready, remade, refused)


def _as_written(mail: Outgoing) -> Outgoing:
    """A row that is no deal's alert (a person's own, or its deal is gone): as it is."""
    why = address_problem(mail.to, "To")
    if why:
        raise _Refused(why)
    if not mail.subject.strip():
        raise _Refused("the Subject is empty")
    return mail


def _from_owner(mail: Outgoing, deal: DealNow | None) -> Outgoing:
    """A nurture e-mail goes as written, with its deal's owner's name in From."""
    if deal is None or not deal.owner:
        return mail
    return Outgoing(mail.row, mail.id, mail.to, mail.subject, mail.body, mail.kind, deal.owner)


@dataclass(frozen=True)
class DealNow:
    """A deal as the sheet holds it when its alert goes."""

    owner: str
    cells: dict[str, str]
    where: tuple[str, int]


def find_deal(alert_id: str, pipelines: Mapping[str, Table]) -> DealNow | None:
    """The deal an alert's ID names (`deals/D-0123/…`), or None when it is gone."""
    found = ALERT_CAUSE.match(alert_id)
    table = pipelines.get(found.group(1).casefold()) if found else None
    if found is None or table is None or not table.has("ID"):
        return None
    ids = table.column("ID").stripped().str.casefold()
    rows = ids.index[ids == found.group(2).casefold()]
    if rows.empty:
        return None
    row = int(rows[0])
    deal = DealRows(table.name, table, pd.DataFrame()).cells_of(row)
    return DealNow(cells.text(table.get("Owner")[row]).strip(), deal, (table.name, row))


ALERT_CAUSE = re.compile(r"^([^/]+)/([^/]+)/")  # deals/D-0123/new-lead → deals, D-0123


def _for_owner(
    mail: Outgoing,
    deal: DealNow,
    members: dict[str, Member],
    team: list[Member],
    task_texts: Mapping[str, str],
    composer: Composer,
) -> Outgoing:
    member = members.get(cells.norm(deal.owner))
    why = owner_problem(deal.owner, member)
    if why:
        raise _Refused(why)
    assert member is not None
    if mail.to.casefold() == member.email.casefold() and mail.subject.strip():
        return mail  # theirs already, as queued (or as a person edited it)
    detail = task_texts.get(mail.id) or _why_them(mail, deal, member, team)
    alert = Alert(mail.id, mail.kind, member.name, deal.cells, deal.where, detail)
    try:
        letter = composer.compose(alert, member)
    except MailProblem as err:
        raise _Refused(str(err)) from None
    return Outgoing(mail.row, mail.id, member.email, letter.subject, letter.body, mail.kind)


def _why_them(mail: Outgoing, deal: DealNow, member: Member, team: list[Member]) -> str:
    """The detail of an alert made again for its owner: why it is theirs."""
    deal_id = deal.cells.get("ID") or "this deal"
    before = [m for m in team if m.email and m.email.casefold() == mail.to.casefold()]
    if before and before[0] is not member:
        return f"{deal_id} is yours now; it was {before[0].name}'s when this e-mail was queued"
    return f"you are the Owner of {deal_id} in {deal.where[0]}"


def task_texts(tasks: Table | None, ids: Iterable[str]) -> dict[str, str]:
    """Task ID → its Task, for these IDs (an alert task's e-mail tells its task)."""
    if tasks is None or not tasks.has("Task ID"):
        return {}
    wanted = set(ids)
    found = tasks.column("Task ID").stripped()
    text = cells.texts(tasks.get("Task"))
    return {i: text[row] for row, i in found.items() if i in wanted}


def fates(
    outbox: Table,
    outcomes: Mapping[str, tuple[str, str, datetime | None]],
    letters: Mapping[str, Outgoing] | None = None,
    marked: Mapping[str, str] | None = None,
) -> ChangeSet:
    """The writes recording each e-mail's fate, by Outbox ID: (Status, Message-ID, Sent),
    and for `letters` the To, Subject and Body they go with.

    Rows are found by ID in the Outbox as read now (people may have sorted it), and the
    backend's guard checks that each still holds its ID before writing. A fate goes to
    the rows of its ID that wait for one: `queued`, or `sending` under the Message-ID it
    was `marked` with (never over a status a person has since set, nor onto the row of
    another send)."""
    letters, marked = letters or {}, marked or {}
    ids = outbox.column("ID").stripped()
    state = _states(outbox)
    message_ids = cells.texts(outbox.get("Message-ID")).str.strip()

    def waits(row: int, i: str) -> bool:
        if state[row] == SENDING:
            return message_ids[row] == marked.get(i, outcomes[i][1])
        return state[row] == QUEUED

    rows = {row: i for row, i in ids.items() if i in outcomes and waits(row, i)}
    changes = ChangeSet()
    if not rows:  # deleted or settled by a person meanwhile: nothing to record
        return changes
    order = sorted(rows)
    for name, at in (("Status", 0), ("Message-ID", 1), ("Sent", 2)):
        values = [outcomes[rows[r]][at] for r in order]
        changes.writes.append(ColumnWrite(outbox.name, outbox.cols[cells.norm(name)], name,
                                          order, values))  # fmt: skip
    letter_rows = [r for r in order if rows[r] in letters]
    for name in ("To", "Subject", "Body") if letter_rows else ():
        values = [getattr(letters[rows[r]], name.lower()) for r in letter_rows]
        changes.writes.append(ColumnWrite(outbox.name, outbox.cols[cells.norm(name)], name,
                                          letter_rows, values))  # fmt: skip
    to = cells.texts(outbox.get("To"))
    changes.expect[outbox.name] = {r: (i, to[r]) for r, i in rows.items()}
    changes.expect_cols[outbox.name] = (outbox.cols["id"], outbox.cols["to"])
    return changes


def message_ids(outbox: Table | None) -> dict[str, str]:
    """Each e-mail's Message-ID → its ID (a reply refers to the one it answers)."""
    if outbox is None:
        return {}
    found = zip(cells.texts(outbox.get("Message-ID")).str.strip(), outbox.column("ID").stripped(),
                strict=True)  # fmt: skip
    return {message_id: mail_id for message_id, mail_id in found if message_id}


def statuses(outbox: Table | None) -> dict[str, str]:
    """Each e-mail's Status as written, by its ID (the first row of an ID)."""
    if outbox is None:
        return {}
    found: dict[str, str] = {}
    for mail_id, status in zip(outbox.column("ID").stripped(), cells.texts(outbox.get("Status")),
                               strict=True):  # fmt: skip
        found.setdefault(mail_id, status)
    return found


def _states(outbox: Table) -> pd.Series:
    """Each row's Status word: `failed: 550 …` → failed."""
    return cells.texts(outbox.get("Status")).str.split(":").str[0].str.strip().str.casefold()


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
