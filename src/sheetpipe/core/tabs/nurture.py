"""Nurture sequences at work: deals enrolled as they enter a stage, their steps queued in
Outbox one at a time inside the send window, and each enrolment's fate in the Enrolments
tab (core/inputs/sequences.py reads the sequences).

An enrolment's ID comes from its cause (`deals/D-0007/nurture/new-web-lead#1`: the
deal's first entry into the enrolling stage) and each step's Outbox ID from the
enrolment's (`…#1/2`), so a restart, a retry or a second cron entry never enrols twice
nor queues a step twice. A step is queued only when it is due, the window is open and
today's cap has room after the alerts; the next step then waits its whole wait from that
moment, so an outage, a pause or a resume is never followed by a burst of overdue steps.

People steer an enrolment through its Status: `paused` holds it, `active` resumes it
(its due step goes at the next opening of the window), `stopped` ends it. A deal that
leaves the stage (a sequence never enrols at a closed one: a closed deal is never
mailed), is marked Do not email or has its address on Suppression ends its enrolment
before anything more is sent, with the reason in words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd

from sheetpipe.core.contract import ENROLMENTS_COLUMNS
from sheetpipe.core.deals.scoring import matches
from sheetpipe.core.deals.tasks import slug
from sheetpipe.core.inputs.sequences import Sequence
from sheetpipe.core.inputs.settings import Settings
from sheetpipe.core.inputs.team import Member
from sheetpipe.core.inputs.window import SendWindow
from sheetpipe.core.sheet import cells
from sheetpipe.core.sheet.table import Table
from sheetpipe.core.tabs.outbox import (
    FAILED,
    NURTURE,
    QUEUED,
    SENT,
    Composer,
    DealRows,
    MailProblem,
    address_problem,
)
from sheetpipe.model import ChangeSet, ColumnWrite, Found, Problem

ACTIVE, PAUSED, FINISHED, EXITED = "active", "paused", "finished", "exited"
STOPPED = "stopped"  # what a person writes to end one
ENROL_WITHIN = timedelta(days=7)  # a sequence added today does not mail last year's entries


@dataclass(frozen=True)
class Enrolment:
    """An Enrolments row as the sheet holds it."""

    row: int
    id: str
    deal_id: str
    sequence: str  # norm(name)
    step: int  # the last step queued (0: none yet)
    status: str  # its first word, case-folded
    next_send: datetime | None
    reason: str


@dataclass(frozen=True)
class DealState:
    """A deal as nurture reads it, from its pipeline's planned rows."""

    pipeline: DealRows
    row: int
    id: str
    stage: str  # norm
    stage_name: str
    entry: int
    entered: datetime
    email: str
    do_not_email: bool
    owner: str


@dataclass
class Nurture(Found):
    """The step's result: its Enrolments rows and cells, and the Outbox rows it queues."""

    outbox_rows: list[dict[str, object]] = field(default_factory=list)
    enrolment_rows: list[dict[str, object]] = field(default_factory=list)


@dataclass(frozen=True)
class NurtureInputs:
    sequences: list[Sequence]
    pipelines: list[DealRows]
    enrolments: Table | None
    suppressed: frozenset[str]  # case-folded addresses
    team: list[Member]
    settings: Settings
    now: datetime  # sheet-local
    room: int  # e-mails today's cap still allows once the alerts are counted
    mail_states: Mapping[str, str]  # Outbox ID → its Status as written


def plan_nurture(inputs: NurtureInputs, composer: Composer | None) -> Nurture:
    """Enrol, end, hold or advance every enrolment; queue the steps that are due now."""
    if not inputs.sequences:
        return Nurture()
    deals = _deals(inputs)
    found = read_enrolments(inputs.enrolments, inputs.settings.date_order)
    result, writes, room = Nurture(), [], inputs.room
    for enrolment in found:
        outcome = _advance(enrolment, deals, inputs, composer, room)
        room -= len(outcome.mail)
        result.outbox_rows += outcome.mail
        result.problems += outcome.problems
        if outcome.values:
            writes.append(_write(inputs.enrolments, enrolment, outcome.values))
    result.changes = ChangeSet.merged(writes)
    known = {e.id for e in found}
    for sequence in inputs.sequences:
        for deal in _entering(sequence, deals, inputs):
            new = enrolment_id(sequence, deal)
            if new not in known:
                known.add(new)
                result.enrolment_rows.append(_enrol(new, sequence, deal, inputs))
    return result


def enrolment_id(sequence: Sequence, deal: DealState) -> str:
    return f"{slug(deal.pipeline.name)}/{deal.id}/nurture/{slug(sequence.name)}#{deal.entry}"


def _deals(inputs: NurtureInputs) -> dict[str, DealState]:
    """The deals of the sequences' pipelines, by case-folded ID."""
    wanted = {cells.norm(s.pipeline) for s in inputs.sequences}
    found: dict[str, DealState] = {}
    for pipeline in inputs.pipelines:
        if cells.norm(pipeline.name) in wanted and not pipeline.desired.empty:
            for deal in _states(pipeline):
                found.setdefault(deal.id.casefold(), deal)
    return found


def _states(pipeline: DealRows) -> list[DealState]:
    table, desired = pipeline.table, pipeline.desired
    email = cells.texts(table.get("Email")).str.strip()
    stop = table.column("Do not email").yeses() if table.has("Do not email") else None
    entered = pd.to_datetime(desired["Entered"]).dt.floor("s")
    out = []
    for row in desired.index:
        deal_id = cells.text(desired.at[row, "ID"]).strip()
        if not deal_id:
            continue
        stage = cells.text(desired.at[row, "Stage"])
        out.append(DealState(
            pipeline, int(row), deal_id, cells.norm(stage), stage.strip(),
            int(desired.at[row, "Entry"]), entered[row].to_pydatetime(), email[row],
            bool(stop[row]) if stop is not None else False,
            cells.text(desired.at[row, "Owner"]).strip(),
        ))  # fmt: skip
    return out


def read_enrolments(table: Table | None, date_order: str) -> list[Enrolment]:
    if table is None or table.index.empty:
        return []
    ids = table.column("ID").stripped()
    deal_ids = table.column("Deal ID").stripped()
    sequences = table.column("Sequence").norms()
    steps = table.column("Step").numbers()
    status = cells.texts(table.get("Status")).str.strip().str.split().str[0].str.casefold()
    next_send = table.column("Next send").datetimes(date_order)
    reasons = cells.texts(table.get("Exit reason"))
    found = []
    for row in table.index:
        if not ids[row]:
            continue
        when = next_send[row]
        step = steps[row]
        when = None if pd.isna(when) else when.floor("s").to_pydatetime()
        found.append(Enrolment(int(row), ids[row], deal_ids[row], sequences[row],
                               int(step) if step == step else 0, status[row] or "", when,
                               reasons[row]))  # fmt: skip
    return found


@dataclass
class _Outcome:
    values: dict[str, object] = field(default_factory=dict)  # Enrolments column → new value
    mail: list[dict[str, object]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _advance(
    enrolment: Enrolment,
    deals: dict[str, DealState],
    inputs: NurtureInputs,
    composer: Composer | None,
    room: int,
) -> _Outcome:
    """What becomes of one enrolment this cycle."""
    if enrolment.status in (FINISHED, EXITED):
        return _Outcome()
    sequence = next((s for s in inputs.sequences if s.key == enrolment.sequence), None)
    deal = deals.get(enrolment.deal_id.casefold())
    ended = _why_it_ends(enrolment, sequence, deal, inputs)
    if ended:
        return _Outcome({"Status": EXITED, "Next send": None, "Exit reason": ended})
    assert sequence is not None and deal is not None  # _why_it_ends says otherwise
    if enrolment.status == PAUSED:
        return _Outcome({"Next send": None} if enrolment.next_send else {})
    if enrolment.status not in (ACTIVE, ""):  # a word people wrote that means nothing here
        assert inputs.enrolments is not None  # the enrolment was read from it
        where = inputs.enrolments.where(enrolment.row, "Status")
        return _Outcome(problems=[Problem(where, f'"{enrolment.status}" is not a status '
                                          "sheetpipe knows; write active, paused or stopped",
                                          "warning")])  # fmt: skip
    window, now = inputs.settings.window(), inputs.now
    due = enrolment.next_send
    if due is None:  # resumed (or its time cleared): the step goes at the next opening
        return _Outcome({"Next send": window.next_open(now).replace(second=0), "Exit reason": ""})
    sent = (
        inputs.mail_states.get(f"{enrolment.id}/{enrolment.step}", SENT) if enrolment.step else SENT
    )
    if sent.casefold().startswith(FAILED):  # the last step bounced: the address is no good
        return _Outcome({"Status": EXITED, "Next send": None,
                         "Exit reason": f"step {enrolment.step} {sent.strip()}"})  # fmt: skip
    if due > now or not window.is_open(now) or room <= 0:
        return _Outcome()
    if not sent.casefold().startswith(SENT):  # the last step has not left yet: one at a time
        return _Outcome()
    return _send_step(enrolment, sequence, deal, inputs, composer, window)


def _why_it_ends(
    enrolment: Enrolment,
    sequence: Sequence | None,
    deal: DealState | None,
    inputs: NurtureInputs,
) -> str:
    """Why the enrolment ends now, in words ("" when it goes on)."""
    if enrolment.status == STOPPED:
        return "stopped by a person"
    if sequence is None:
        return "its sequence is gone or switched off"
    if deal is None:
        return f"{enrolment.deal_id} is no longer in {sequence.pipeline}"
    if deal.stage != sequence.stage:
        return f"stage changed to {deal.stage_name or 'nothing'}"
    if not enrolment.id.endswith(f"#{deal.entry}"):
        return f"left {deal.stage_name} and entered it again (History): a new enrolment follows"
    if deal.do_not_email:
        return "Do not email is yes"
    if deal.email.casefold() in inputs.suppressed:
        return f"{deal.email} is on Suppression"
    why = address_problem(deal.email, "its Email")
    return f"{why}; fix it, then write active" if why else ""


def _send_step(
    enrolment: Enrolment,
    sequence: Sequence,
    deal: DealState,
    inputs: NurtureInputs,
    composer: Composer | None,
    window: SendWindow,
) -> _Outcome:
    """The next step queued in Outbox, and the enrolment moved on to the one after."""
    if composer is None:
        return _Outcome()
    step = next((s for s in sequence.steps if s.number > enrolment.step), None)
    if step is None:
        return _Outcome({"Status": FINISHED, "Next send": None})
    number = step.number
    mail_id = f"{enrolment.id}/{number}"
    owner = next((m for m in inputs.team if cells.norm(m.name) == cells.norm(deal.owner)), None)
    fields = {"deal": deal.pipeline.cells_of(deal.row), "settings": inputs.settings.texts(),
              "owner": {"name": owner.name if owner else deal.owner,
                        "email": owner.email if owner else ""}}  # fmt: skip
    try:
        letter = composer.merge(step.subject, step.body, fields)
    except MailProblem as err:
        why = f"step {number} cannot be made: {err}"
        problem = Problem(step.where, f"{enrolment.id}: {why}; fix it, then write active in "
                          "its Status in Enrolments")  # fmt: skip
        paused = {"Status": PAUSED, "Next send": None, "Exit reason": f"paused: {why}"}
        return _Outcome(paused, problems=[problem])
    later = [s for s in sequence.steps if s.number > number]
    values: dict[str, object] = {"Step": number, "Last sent": inputs.now, "Exit reason": ""}
    if later:
        values["Next send"] = window.after(inputs.now, later[0].wait).replace(second=0)
    else:
        values.update({"Status": FINISHED, "Next send": None})
    mail = [] if mail_id in inputs.mail_states else [{
        "ID": mail_id, "To": deal.email, "Subject": letter.subject, "Body": letter.body,
        "Kind": NURTURE, "Status": QUEUED, "Queued": inputs.now}]  # fmt: skip
    return _Outcome(values, mail)


def _entering(
    sequence: Sequence, deals: dict[str, DealState], inputs: NurtureInputs
) -> list[DealState]:
    """The deals in the sequence's stage that entered it lately and meet its condition."""
    pipeline = cells.norm(sequence.pipeline)
    mine = [
        d for d in deals.values()
        if cells.norm(d.pipeline.name) == pipeline and d.stage == sequence.stage
        and inputs.now - d.entered <= ENROL_WITHIN
    ]  # fmt: skip
    if sequence.condition is None or not mine:
        return mine
    columns = mine[0].pipeline.columns
    if columns is None:
        return []
    holds = matches(sequence.condition, columns, inputs.now.date())
    return [d for d in mine if bool(holds[d.row])]


def _enrol(
    new: str, sequence: Sequence, deal: DealState, inputs: NurtureInputs
) -> dict[str, object]:
    """A new Enrolments row: step 1 waits from the deal's entry into the stage."""
    fresh = Enrolment(0, new, deal.id, sequence.key, 0, ACTIVE, None, "")
    ends = _why_it_ends(fresh, sequence, deal, inputs)
    first = inputs.settings.window().after(deal.entered, sequence.steps[0].wait)
    return {
        "ID": new, "Deal ID": deal.id, "Deal": deal.pipeline.cells_of(deal.row).get("Deal", ""),
        "Email": deal.email, "Sequence": sequence.name, "Step": 0,
        "Status": EXITED if ends else ACTIVE,
        "Next send": None if ends else first.replace(second=0, microsecond=0),
        "Exit reason": ends, "Enrolled": inputs.now, "Last sent": None,
    }  # fmt: skip


def _write(table: Table | None, enrolment: Enrolment, values: dict[str, object]) -> ChangeSet:
    """The cells of one Enrolments row that change, guarded by its ID and Status."""
    assert table is not None  # an enrolment was read from it
    changes = ChangeSet()
    for name, value in values.items():
        col = table.cols.get(cells.norm(name))
        if col is None:
            continue
        changes.writes.append(ColumnWrite(table.name, col, name, [enrolment.row], [value]))
    status = cells.texts(table.get("Status"))
    changes.expect[table.name] = {enrolment.row: (enrolment.id, status[enrolment.row])}
    changes.expect_cols[table.name] = (table.cols["id"], table.cols["status"])
    return changes


__all__ = ["ENROLMENTS_COLUMNS", "Nurture", "NurtureInputs", "plan_nurture"]
