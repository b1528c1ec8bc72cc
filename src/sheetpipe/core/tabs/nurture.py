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

import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property, partial
from itertools import repeat

import pandas as pd

from sheetpipe.core.deals.scoring import matches
from sheetpipe.core.deals.tasks import slug
from sheetpipe.core.inputs.sequences import Sequence
from sheetpipe.core.inputs.settings import Settings
from sheetpipe.core.inputs.stages import Stages
from sheetpipe.core.inputs.team import Member
from sheetpipe.core.inputs.window import SendWindow
from sheetpipe.core.sheet import cells
from sheetpipe.core.sheet.table import Table
from sheetpipe.core.tabs.outbox import (
    FAILED,
    NURTURE,
    ONE_ADDRESS,
    QUEUED,
    SENT,
    Composer,
    DealRows,
    MailProblem,
    address_problem,
)
from sheetpipe.core.tabs.replies import Acts, Enrolled, act, read_replies
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
    email: str = ""


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
    # What the leads' replies call for (core/tabs/replies.py)
    task_rows: list[dict[str, object]] = field(default_factory=list)
    history_rows: list[dict[str, object]] = field(default_factory=list)
    suppression_rows: list[dict[str, object]] = field(default_factory=list)
    by_deal: Mapping[str, list[str]] = field(default_factory=dict)  # for `explain`


Text = typing.TypeVar("Text", str, pd.Series)


class _Described(Mapping[str, list[str]]):
    """Deal ID → its enrolments in words, worded only when `explain` asks: a cycle never
    does, and wording 10,000s of enrolments cost an idle cycle a tenth of a second."""

    def __init__(self, make: Callable[[], dict[str, list[str]]]):
        self._make = make

    @cached_property
    def _words(self) -> dict[str, list[str]]:
        return self._make()

    def __getitem__(self, deal_id: str) -> list[str]:
        return self._words[deal_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._words)

    def __len__(self) -> int:
        return len(self._words)


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
    replies: Table | None = None  # the Replies tab ([imap])
    stages: Stages = field(default_factory=Stages)
    sent: Mapping[str, str] = field(default_factory=dict)  # Outbox Message-ID → its ID
    # The sequences a manager switched off (Active No): their enrolments end. Any other
    # sequence an enrolment names that is not in `sequences` (a broken cell, a renamed or
    # deleted row, no Sequences tab) holds it: a slip must not end every lead's sequence.
    switched_off: frozenset[str] = frozenset()

    @cached_property
    def by_key(self) -> dict[str, Sequence]:
        return {s.key: s for s in self.sequences}

    @cached_property
    def window(self) -> SendWindow:
        """Read once per cycle: 10,000s of enrolments ask for it."""
        return self.settings.window()


def plan_nurture(inputs: NurtureInputs, composer: Composer | None) -> Nurture:
    """Enrol, end, hold or advance every enrolment; queue the steps that are due now."""
    if not inputs.sequences and inputs.enrolments is None:
        return Nurture()
    deals = _Deals(inputs)
    found = read_enrolments(inputs.enrolments, inputs.settings.date_order)
    result, writes, room, changed = Nurture(), [], inputs.room, {}
    acts = _answers(found, deals, inputs)
    for enrolment in found:
        if enrolment.id in acts.exits and enrolment.status not in (FINISHED, EXITED):
            ended = {"Status": EXITED, "Next send": None, "Exit reason": acts.exits[enrolment.id]}
            writes.append(_write(inputs.enrolments, enrolment, ended))
            changed[enrolment.id] = ended
            continue
        if _settled(enrolment, deals, inputs):
            continue
        outcome = _advance(enrolment, deals, inputs, composer, room)
        room -= len(outcome.mail)
        result.outbox_rows += outcome.mail
        result.problems += outcome.problems
        if outcome.values:
            writes.append(_write(inputs.enrolments, enrolment, outcome.values))
            changed[enrolment.id] = outcome.values
    result.changes = ChangeSet.merged([*writes, acts.changes])
    result.task_rows, result.history_rows = acts.tasks, acts.history
    result.suppression_rows = acts.suppress
    known = {e.id for e in found}
    for sequence in inputs.sequences:
        for deal in _entering(sequence, deals, inputs, known):
            new = enrolment_id(sequence, deal)
            known.add(new)
            result.enrolment_rows.append(_enrol(new, sequence, deal, inputs))
    names = {key: s.name for key, s in inputs.by_key.items()}
    result.problems += _held_problems(found, inputs)
    result.by_deal = _Described(partial(by_deal, found, result.enrolment_rows, changed, names))
    return result


def _answers(found: list[Enrolment], deals: _Deals, inputs: NurtureInputs) -> Acts:
    """What the replies recorded since the last cycle do (nothing without [imap])."""
    replies = read_replies(inputs.replies, inputs.settings.date_order)
    if inputs.replies is None or not replies:
        return Acts()
    if any(e.status in (ACTIVE, PAUSED, "") and _held(e, inputs) for e in found):
        return Acts()  # replies wait, unacted, until every sequence is readable again
    enrolled = [Enrolled(e.id, e.email, sequence, deal) for e in found
                if e.status in (ACTIVE, PAUSED, "")
                and (sequence := inputs.by_key.get(e.sequence)) is not None
                and (deal := deals.get(e.deal_id)) is not None]  # fmt: skip
    return act(replies, inputs.replies, enrolled, inputs.sent, inputs.stages, inputs.now,
               _stage_write)  # fmt: skip


def _stage_write(deal: DealState, stage: str) -> ColumnWrite | None:
    """The deal's Stage cell set to `stage` (None when its tab has no Stage column)."""
    table = deal.pipeline.table
    col = table.cols.get(cells.norm("Stage"))
    return ColumnWrite(table.name, col, "Stage", [deal.row], [stage]) if col else None


def _settled(enrolment: Enrolment, deals: _Deals, inputs: NurtureInputs) -> bool:
    """Nothing to do for it this cycle: over, or active, not due, and still its deal's
    (looked at without making the deal: most of 10,000s of enrolments are like that)."""
    if enrolment.status in (FINISHED, EXITED):
        return True
    due = enrolment.next_send
    if enrolment.status != ACTIVE or due is None or due <= inputs.now:
        return False
    sequence = inputs.by_key.get(enrolment.sequence)
    facts = deals.facts(enrolment.deal_id)
    if sequence is None or facts is None:
        return False
    stage, entry, mailable = facts
    if stage != sequence.stage or not enrolment.id.endswith(f"#{entry}") or not mailable:
        return False
    last = inputs.mail_states.get(f"{enrolment.id}/{enrolment.step}", "") if enrolment.step else ""
    return not last.casefold().startswith(FAILED)


def by_deal(enrolments: list[Enrolment], new: list[dict[str, object]],
            changed: dict[str, dict[str, object]], names: dict[str, str],
            ) -> dict[str, list[str]]:  # fmt: skip
    """Deal ID (case-folded) → its enrolments in words, as this cycle leaves them (for
    `explain`): "New web lead #1: active, step 1 sent, next send 2026-12-07 09:00"."""
    rows = [{"ID": e.id, "Deal ID": e.deal_id, "Sequence": names.get(e.sequence, e.sequence),
             "Step": e.step, "Status": e.status, "Next send": e.next_send,
             "Exit reason": e.reason, **changed.get(e.id, {})} for e in enrolments]  # fmt: skip
    found: dict[str, list[str]] = {}
    for row in [*rows, *new]:
        entry = str(row["ID"]).rpartition("#")[2]
        said = f"{row['Sequence']} #{entry}: {row['Status']}, step {row['Step']} sent"
        if row.get("Next send"):
            said += f", next send {row['Next send']:%Y-%m-%d %H:%M}"
        if row.get("Exit reason"):
            said += f" ({row['Exit reason']})"
        found.setdefault(str(row["Deal ID"]).casefold(), []).append(said)
    return found


def enrolment_id(sequence: Sequence, deal: DealState) -> str:
    return _enrolment_id(deal.pipeline.name, deal.id, sequence.name, str(deal.entry))


def _enrolment_id(pipeline: str, deal_id: Text, sequence: str, entry: Text) -> Text:
    """From its cause: the deal's `entry`th entry into the sequence's stage (`deal_id` and
    `entry` may be whole columns of text: the same recipe, column-wise)."""
    return f"{slug(pipeline)}/" + deal_id + f"/nurture/{slug(sequence)}#" + entry


class _Deals:
    """The deals of the sequences' pipelines, each made a DealState only when an
    enrolment or an entry asks for it, from columns read once as plain lists (an idle
    cycle checks 10,000s of enrolments against their deals)."""

    def __init__(self, inputs: NurtureInputs):
        wanted = {cells.norm(s.pipeline) for s in inputs.sequences}
        self.pipelines = [p for p in inputs.pipelines
                          if cells.norm(p.name) in wanted and not p.desired.empty]  # fmt: skip
        self.suppressed = inputs.suppressed
        self.rows: dict[str, tuple[DealRows, int]] = {}
        self.columns: dict[str, dict[str, list]] = {}
        for pipeline in reversed(self.pipelines):  # the first pipeline's row wins
            c = self.columns[pipeline.name] = _lists(pipeline)
            places = zip(repeat(pipeline), range(len(c["key"])))
            self.rows.update(zip(c["key"], places, strict=False))  # repeat() is endless
        self.rows.pop("", None)
        self._made: dict[str, DealState] = {}

    def facts(self, deal_id: str) -> tuple[str, int, bool] | None:
        """(stage, entry, may be mailed) of a deal: what a quiet enrolment checks, without
        making the deal."""
        found = self.rows.get(deal_id.casefold())
        if found is None:
            return None
        c, n = self.columns[found[0].name], found[1]
        email = c["Email"][n]
        mailable = not c["Do not email"][n] and email.casefold() not in self.suppressed
        return c["stage"][n], c["Entry"][n], mailable and bool(ONE_ADDRESS.fullmatch(email))

    def get(self, deal_id: str) -> DealState | None:
        key = deal_id.casefold()
        if key not in self._made and key in self.rows:
            pipeline, n = self.rows[key]
            self._made[key] = _state(pipeline, n, self.columns[pipeline.name])
        return self._made.get(key)

    def entering(self, sequence: Sequence, since: datetime, known: set[str]) -> list[DealState]:
        """The deals of the sequence's pipeline in its stage that entered it since then,
        for an entry not `known` among the enrolments."""
        found = []
        for pipeline in self.pipelines:
            if cells.norm(pipeline.name) != cells.norm(sequence.pipeline):
                continue
            desired = pipeline.desired
            ids = cells.texts(desired["ID"]).str.strip()
            here = cells.texts(desired["Stage"]).str.strip().str.casefold() == sequence.stage
            recent = here & (ids != "") & desired["Entered"].ge(pd.Timestamp(since))
            # The IDs their enrolments would have, made column-wise: mostly known already.
            entries = desired["Entry"][recent].astype(int).astype(str)
            would_be = _enrolment_id(pipeline.name, ids[recent], sequence.name, entries)
            found += [self.get(i) for i in ids[recent][~would_be.isin(known)]]
        return [d for d in found if d is not None]


def _lists(pipeline: DealRows) -> dict[str, list]:
    """What nurture reads of each planned deal, column by column, as plain lists."""
    table, desired = pipeline.table, pipeline.desired
    rows = desired.index
    stop = (table.column("Do not email").yeses()[rows] if table.has("Do not email")
            else pd.Series(False, index=rows))  # fmt: skip
    return {
        "key": cells.texts(desired["ID"]).str.strip().str.casefold().tolist(),
        "stage": cells.texts(desired["Stage"]).str.strip().str.casefold().tolist(),  # norm
        "Entry": desired["Entry"].astype(int).tolist(),
        "Email": cells.texts(table.get("Email")[rows]).str.strip().tolist(),
        "Do not email": stop.astype(bool).tolist(),
    }


def _state(pipeline: DealRows, n: int, c: dict[str, list]) -> DealState:
    """The deal on the `n`th planned row, made when an enrolment or an entry needs it."""
    desired = pipeline.desired
    row = int(desired.index[n])
    stage = cells.text(desired["Stage"].iloc[n]).strip()
    entered = pd.Timestamp(desired["Entered"].iloc[n]).floor("s").to_pydatetime()
    return DealState(pipeline, row, cells.text(desired["ID"].iloc[n]).strip(), c["stage"][n],
                     stage, c["Entry"][n], entered, c["Email"][n], c["Do not email"][n],
                     cells.text(desired["Owner"].iloc[n]).strip())  # fmt: skip


def read_enrolments(table: Table | None, date_order: str) -> list[Enrolment]:
    if table is None or table.index.empty:
        return []
    ids = table.column("ID").stripped()
    deal_ids = table.column("Deal ID").stripped()
    sequences = table.column("Sequence").norms()
    steps = table.column("Step").numbers()
    # The first word, case-folded ("" for an empty cell, even when every cell is empty)
    words = cells.texts(table.get("Status")).str.casefold().str.split()
    status = [w[0] if w else "" for w in words]
    next_send = table.column("Next send").datetimes(date_order)
    reasons = cells.texts(table.get("Exit reason"))
    emails = cells.texts(table.get("Email")).str.strip()
    # Plain lists, zipped: 10,000s of enrolments are read every cycle.
    times = [None if pd.isna(t) else t for t in next_send.dt.floor("s").dt.to_pydatetime()]
    columns = zip(table.index, ids, deal_ids, sequences, steps.fillna(0).astype(int), status,
                  times, reasons, emails, strict=True)  # fmt: skip
    return [Enrolment(int(row), i, deal, seq, step, state or "", when, why, email)
            for row, i, deal, seq, step, state, when, why, email in columns if i]  # fmt: skip


def open_enrolments(table: Table | None) -> bool:
    """Whether any enrolment may still send or end (so the step has work without a sequence)."""
    if table is None or table.index.empty:
        return False
    words = cells.texts(table.get("Status")).str.casefold().str.split().str[0].fillna("")
    return bool((~words.isin([FINISHED, EXITED]) & (table.column("ID").stripped() != "")).any())


@dataclass
class _Outcome:
    values: dict[str, object] = field(default_factory=dict)  # Enrolments column → new value
    mail: list[dict[str, object]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _advance(
    enrolment: Enrolment,
    deals: _Deals,
    inputs: NurtureInputs,
    composer: Composer | None,
    room: int,
) -> _Outcome:
    """What becomes of one enrolment this cycle."""
    if enrolment.status in (FINISHED, EXITED):
        return _Outcome()
    sequence = inputs.by_key.get(enrolment.sequence)
    if sequence is None and enrolment.status != STOPPED and _held(enrolment, inputs):
        return _Outcome()
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
    window, now = inputs.window, inputs.now
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


def _held_problems(found: list[Enrolment], inputs: NurtureInputs) -> list[Problem]:
    """One warning per sequence whose open enrolments wait for it to be readable."""
    waiting: dict[str, int] = {}
    for e in found:
        if e.status in (ACTIVE, PAUSED, "") and _held(e, inputs):
            waiting[e.sequence] = waiting.get(e.sequence, 0) + 1
    where = inputs.enrolments.name if inputs.enrolments is not None else "Enrolments"
    return [Problem(where, f'{n} enrolments name the sequence "{key}", which Sequences does '
                    "not have or cannot read now: they send nothing and wait, and replies "
                    "wait with them. Fix or put back its row, or write stopped in their "
                    "Status.", "warning") for key, n in waiting.items()]  # fmt: skip


def _held(enrolment: Enrolment, inputs: NurtureInputs) -> bool:
    """Its sequence cannot be read now and was not switched off: it waits."""
    return enrolment.sequence not in inputs.switched_off and (
        enrolment.sequence not in inputs.by_key
    )


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
    sequence: Sequence, deals: _Deals, inputs: NurtureInputs, known: set[str]
) -> list[DealState]:
    """The deals in the sequence's stage that entered it lately, are not enrolled for
    that entry yet and meet its condition."""
    mine = deals.entering(sequence, inputs.now - ENROL_WITHIN, known)
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
    first = inputs.window.after(deal.entered, sequence.steps[0].wait)
    return {
        "ID": new, "Deal ID": deal.id, "Deal": deal.pipeline.cells_of(deal.row).get("Deal", ""),
        "Email": deal.email, "Sequence": sequence.name, "Step": 0,
        "Status": EXITED if ends else ACTIVE,
        "Next send": None if ends else first.replace(second=0, microsecond=0),
        "Exit reason": ends, "Enrolled": inputs.now, "Last sent": None,
    }  # fmt: skip


def _write(table: Table | None, enrolment: Enrolment, values: dict[str, object]) -> ChangeSet:
    """The cells of one Enrolments row that change, guarded by its ID and Status. Nothing
    while a person has deleted either column: this cycle puts it back (an owned tab's
    missing columns are added), and the next one writes."""
    assert table is not None  # an enrolment was read from it
    changes = ChangeSet()
    if not (table.has("ID") and table.has("Status")):
        return changes
    for name, value in values.items():
        col = table.cols.get(cells.norm(name))
        if col is None:
            continue
        changes.writes.append(ColumnWrite(table.name, col, name, [enrolment.row], [value]))
    status = cells.texts(table.get("Status"))
    changes.expect[table.name] = {enrolment.row: (enrolment.id, status[enrolment.row])}
    changes.expect_cols[table.name] = (table.cols["id"], table.cols["status"])
    return changes
