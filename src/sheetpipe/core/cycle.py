"""One cycle's thinking: a Snapshot in, the whole plan out (the changes, Status and
column widths included) before anything is applied.

The cycle is a list of steps run in order (`plan_cycle`). Each takes read-only inputs:
the snapshot, the manager's inputs read once (`read_inputs`), and the results of the
steps before it; each returns its own result (its changes, problems and the facts later
steps need). None writes into another's result; `plan_cycle` merges them at the end.

    inputs (and the owned tabs to make) → Lists → intake → each pipeline (+ its won deals moved on)
    → intake statuses → alerts (Outbox) → Tasks and History rows → Today → Status
    → widths

A daemon's idle cycles read the same sheet again and again. What the costliest steps
(the inputs, each pipeline with its won deals' check, Today) found in an idle cycle is
carried to the next one (`Carried`), which reuses it when it reads the same sheet on the
same day: those steps are functions of the sheet and the day alone.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial

import pandas as pd

from sheetpipe.core.contract import (
    ENROLMENTS_COLUMNS,
    HISTORY_COLUMNS,
    OUTBOX_COLUMNS,
    SUPPRESSION_COLUMNS,
    TASKS_COLUMNS,
    Names,
)
from sheetpipe.core.deals.history import HistoryLog, read_history
from sheetpipe.core.deals.intake import (
    IntakeCycle,
    PipelineLeads,
    intake_statuses,
    plan_intake,
)
from sheetpipe.core.deals.pipeline import Added, PipelineInputs, PipelineResult, plan_pipeline
from sheetpipe.core.deals.transfer import Moved, Rotation, Transfers, plan_transfers
from sheetpipe.core.inputs.sequences import parse_sequences
from sheetpipe.core.inputs.settings import Settings, parse_settings
from sheetpipe.core.inputs.stages import Stages, parse_stages
from sheetpipe.core.inputs.team import RoundRobin, read_team
from sheetpipe.core.inputs.weights import Rule, parse_weights
from sheetpipe.core.review.tab import ReviewSources, review_tab
from sheetpipe.core.sheet import cells
from sheetpipe.core.sheet.table import (
    Table,
    added_columns,
    first_new_row,
    read_table,
    table_of,
)
from sheetpipe.core.tabs import outbox
from sheetpipe.core.tabs.lists import Lists, plan_lists
from sheetpipe.core.tabs.nurture import Nurture, NurtureInputs, open_enrolments, plan_nurture
from sheetpipe.core.tabs.outbox import Composer
from sheetpipe.core.tabs.status import HEALTHS, CycleFacts, plan_status
from sheetpipe.core.tabs.today import today_tab
from sheetpipe.core.tabs.widths import plan_widths, shown_elsewhere
from sheetpipe.model import (
    ChangeSet,
    Checkbox,
    DueColours,
    FormatSpec,
    Found,
    FrozenHeader,
    ListDropdown,
    Problem,
    Snapshot,
    Tab,
    tab_key,
)


@dataclass
class Plan:
    """A cycle's plan: everything `apply` writes, and what the commands report of it."""

    changes: ChangeSet
    problems: list[Problem]
    settings: Settings
    rules: list[Rule]
    pipelines: list[PipelineResult] = field(default_factory=list)
    now: datetime = datetime(1970, 1, 1)  # sheet-local wall-clock time
    tasks_added: int = 0
    history_added: int = 0
    origins: dict[str, list[str]] = field(default_factory=dict)  # deal ID → intake statuses
    mail_queued: int = 0  # Outbox rows this cycle queues
    mail_waiting: int = 0  # queued rows once this cycle is applied, for delivery to send
    mails: dict[str, list[str]] = field(default_factory=dict)  # deal ID → its e-mails, in words
    enrolments: Mapping[str, list[str]] = field(default_factory=dict)  # deal ID → nurture, in words
    carried: Carried | None = None  # for the next cycle, when this one's steps were idle

    @property
    def deals(self) -> int:
        return sum(len(p.desired) for p in self.pipelines)

    def count(self, health: str) -> int:
        return sum(p.count(health) for p in self.pipelines)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]


@dataclass(frozen=True)
class Report:
    """What the cycle's caller tells Status: when the next run is, what applying the
    plan costs on its backend, and problems found outside the sheet (the journal)."""

    next_run: str = "not scheduled (sheetpipe sync)"
    calls: Callable[[ChangeSet], str] = lambda changes: ""
    problems: tuple[Problem, ...] = ()


def local_now(now: datetime, settings: Settings) -> datetime:
    """The sheet's wall-clock time: aware times are converted, naive ones taken as local."""
    if now.tzinfo is not None:
        now = now.astimezone(settings.tz).replace(tzinfo=None)
    return now.replace(microsecond=0)


def plan_cycle(
    snapshot: Snapshot,
    names: Names,
    now: datetime,
    composer: Composer | None = None,
    report: Report = Report(),
    previous: Carried | None = None,
) -> Plan:
    """`composer` writes the alerts' e-mails; without one (no [smtp]), none is queued.
    `previous`: what the last cycle carried, reused only if this is the same sheet and day."""
    carried = previous.carried_to(snapshot, names, now) if previous else None
    if carried is not None:  # plan on the sheet already read; the new read can go
        snapshot = carried.snapshot
    inputs = carried.inputs if carried else read_inputs(snapshot, names, now)
    lists = plan_lists(snapshot, names, inputs.stages)
    intake = plan_intake(snapshot, names, inputs.settings, inputs.stages, inputs.pipelines,
                         inputs.now, inputs.history)  # fmt: skip
    if carried is not None and intake.adds_nothing():
        pipelines = carried.pipelines
    else:
        pipelines, carried = plan_pipelines(snapshot, inputs, lists.dropdowns, intake), None
    statuses = intake_statuses(intake, pipelines.added, pipelines.ids(), inputs.existing_tasks)
    tasks = unique_tasks([*pipelines.task_rows(), *statuses.tasks])
    alerts = plan_alerts(snapshot, inputs, pipelines, statuses.new_leads, tasks, composer)
    nurture = plan_sequences(snapshot, inputs, pipelines, alerts.room, composer)
    mail = plan_outbox(snapshot, inputs, [*alerts.rows, *nurture.outbox_rows])
    tasks = unique_tasks([*tasks, *nurture.task_rows])  # the replies' follow-ups too
    history = [*pipelines.history_rows(), *nurture.history_rows]
    logs = plan_logs(snapshot, inputs, lists, history, tasks)
    # Reused pipelines add no tasks, and intake added none: Today is the one carried.
    today = carried.today if carried else today_tab(snapshot, names, pipelines.tables(),
                                                    inputs.tasks, tasks, inputs.now)  # fmt: skip
    review = carried.review if carried else review_tab(
        snapshot, names, pipelines.planned(), ReviewSources(
            inputs.history, history, inputs.tasks, tasks, inputs.stages, inputs.settings),
        inputs.now)  # fmt: skip
    steps: list[Found] = [
        inputs, lists, Found(intake.edits(), intake.problems), *pipelines.steps(),
        Found(statuses.changes), alerts, nurture, mail, logs, today, review,
    ]  # fmt: skip
    body = ChangeSet.merged(s.changes for s in steps)
    problems = [p for s in steps for p in s.problems] + list(report.problems)
    facts = _facts(inputs, pipelines.planned(), problems, logs)
    rows = plan_status(facts, body, snapshot.find(names.status), next_run=report.next_run,
                       calls=report.calls(body))  # fmt: skip
    changes = ChangeSet.merged([body, ChangeSet(status=rows)])
    widths = plan_widths(changes, names.status, _elsewhere(snapshot, changes))
    idle = not body.has_sheet_changes()
    return Plan(
        ChangeSet.merged([changes, widths]), problems, inputs.settings, inputs.rules,
        pipelines.planned(), inputs.now, logs.tasks_added, logs.history_added,
        statuses.origins, alerts.queued + len(nurture.outbox_rows),
        alerts.waiting + len(nurture.outbox_rows), alerts.mails, nurture.by_deal,
        Carried(snapshot, names, inputs, pipelines, today, review) if idle else None,
    )  # fmt: skip


@dataclass(frozen=True)
class Carried:
    """An idle cycle's sheet and the results of its costliest steps, for the next cycle.

    Those steps are functions of the sheet (Status aside: sheetpipe's report, read by
    nothing) and the day. A cycle that reads the same sheet on the same day, with
    nothing new from intake, would find the same results again: a daemon's idle cycle
    reuses them instead of planning 100,000s of deals anew (issue 22's cost budget).
    Only an idle cycle's are carried: a cycle that writes changes the sheet it read.
    """

    snapshot: Snapshot
    names: Names
    inputs: Inputs
    pipelines: Pipelines
    today: Found
    review: Found

    def carried_to(self, snapshot: Snapshot, names: Names, now: datetime) -> Carried | None:
        """These results for a cycle reading `snapshot` at `now`, if they are still its
        own: the same sheet (this cycle's Status put in), the same day in the sheet's
        time zone; else None."""
        day = local_now(now, self.inputs.settings)
        if names != self.names or day.date() != self.inputs.now.date():
            return None
        if not same_sheet(self.snapshot, snapshot, ignoring=names.status):
            return None
        status = snapshot.find(names.status)
        tabs = {key: tab for key, tab in self.snapshot.tabs.items()
                if tab_key(key) != tab_key(names.status)}  # fmt: skip
        if status is not None:
            tabs[status.name] = status
        return replace(self, snapshot=replace(snapshot, tabs=tabs),
                       inputs=replace(self.inputs, now=day))  # fmt: skip


def same_sheet(old: Snapshot, new: Snapshot, ignoring: str) -> bool:
    """Whether two reads of one backend hold the same cells and formats in the same tabs,
    the tab named `ignoring` aside (compared in C, cell by cell: a fraction of reading
    them)."""

    def tabs(snapshot: Snapshot) -> dict[str, Tab]:
        return {tab_key(k): t for k, t in snapshot.tabs.items() if tab_key(k) != tab_key(ignoring)}

    return tabs(old) == tabs(new)


# ---- the manager's inputs, read once ---------------------------------------------------


@dataclass
class Inputs(Found):
    """Settings, Weights, Stages, History and the tabs every step reads. Its changes are
    the owned tabs and columns to make: the steps that append to Tasks, History and
    Outbox lay their rows out by the header after them."""

    names: Names = field(default_factory=Names)
    settings: Settings = field(default_factory=Settings)
    now: datetime = datetime(1970, 1, 1)  # sheet-local
    pipelines: dict[str, Table | None] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    stages: Stages = field(default_factory=Stages)
    history: Table | None = None
    log: HistoryLog = field(default_factory=HistoryLog)
    tasks: Table | None = None
    existing_tasks: frozenset[str] = frozenset()
    done_tasks: frozenset[str] = frozenset()


def read_inputs(snapshot: Snapshot, names: Names, now: datetime) -> Inputs:
    problems: list[Problem] = []

    def table(name: str, pipeline: bool = False) -> Table | None:
        """A pipeline tab is required, and nearly every column of it is read."""
        tab = snapshot.find(name)
        if tab is None:
            problems.append(
                Problem(
                    f"{name} tab",
                    "the tab is missing; run `sheetpipe init` to add it, or fix its name "
                    "in sheetpipe.toml [tabs].",
                    "error" if pipeline else "warning",
                )
            )
            return None
        return read_table(tab, names.columns, whole=pipeline, date_cells=snapshot.date_cells)

    settings = parse_settings(table(names.settings))
    problems += settings.problems
    pipelines = {name: table(name, pipeline=True) for name in names.pipelines}
    fields = {key for t in pipelines.values() if t is not None for key in t.cols}
    rules, found = parse_weights(table(names.weights), fields, settings.decimal_separator)
    problems += found
    stages, found = parse_stages(table(names.stages), names.pipelines, settings)
    problems += found
    history = table_of(snapshot, names.history)
    log = read_history(history, settings.date_order)
    tasks = table_of(snapshot, names.tasks)
    return Inputs(
        _owned_tabs(snapshot, names), [*problems, *log.problems], names, settings,
        local_now(now, settings), pipelines, rules, stages, history, log, tasks,
        _task_ids(tasks), _done_task_ids(tasks),
    )  # fmt: skip


def _task_ids(tasks: Table | None) -> frozenset[str]:
    if tasks is None:
        return frozenset()
    return frozenset(tasks.column("Task ID").stripped().to_numpy())


def _done_task_ids(tasks: Table | None) -> frozenset[str]:
    if tasks is None or not tasks.has("Done"):
        return frozenset()
    ticked = tasks.column("Done").yeses()
    return frozenset(tasks.column("Task ID").stripped()[ticked].to_numpy())


def _owned_tabs(snapshot: Snapshot, names: Names) -> ChangeSet:
    """The tabs sheetpipe owns that are missing, and the columns they lack."""
    changes = ChangeSet()
    for name, header in names.owned_tabs().items():
        tab = snapshot.find(name)
        if tab is None:
            changes.new_tabs.append((name, [list(header)]))
        elif name != names.status:  # Status is rewritten whole every time it changes
            present = {cells.norm(h) for h in tab.header}
            wanted = [c for c in header if cells.norm(c) not in present]
            changes.new_columns += added_columns(tab.name, len(tab.header), wanted)
    return changes


# ---- the pipelines, with the rows intake and won deals add to them ----------------------


@dataclass
class Pipelines:
    """Each pipeline step's result in config order (by its name in sheetpipe.toml), each
    with the tab it planned and its transfer step's result, and the rows this cycle adds
    to each pipeline (intake's, and won deals moved on)."""

    results: list[tuple[str, PipelineResult, Table, Transfers]] = field(default_factory=list)
    added: dict[str, PipelineLeads] = field(default_factory=dict)

    def planned(self) -> list[PipelineResult]:
        return [r for _, r, _, _ in self.results if not r.skipped]

    def tables(self) -> list[tuple[PipelineResult, Table]]:
        return [(r, t) for _, r, t, _ in self.results if not r.skipped]

    def ids(self) -> dict[str, pd.Series]:
        """Each pipeline's deal IDs by sheet row, as planned."""
        return {name: r.desired["ID"] for name, r, _, _ in self.results if not r.skipped}

    def steps(self) -> Iterable[Found]:
        for _, result, _, transfers in self.results:
            yield Found(result.changes, result.problems)
            yield Found(problems=transfers.problems)

    def task_rows(self) -> list[dict[str, object]]:
        return [row for r in self.planned() for row in r.task_rows]

    def history_rows(self) -> list[dict[str, object]]:
        return [row for r in self.planned() for row in r.history_rows]


def plan_pipelines(
    snapshot: Snapshot, inputs: Inputs, dropdowns: dict[str, ListDropdown], intake: IntakeCycle
) -> Pipelines:
    """Each pipeline in config order, with the rows this cycle adds to it (new leads,
    won deals of the pipelines before it), each planned as the tab it is read as."""
    found = Pipelines(added=dict(intake.pipelines))
    notes = dict(intake.history_notes)
    rotation: Rotation = partial(intake.robin_now, inputs.pipelines, inputs.stages)
    for name, table in inputs.pipelines.items():
        if table is None:
            continue
        leads = found.added.get(name)
        if leads is not None and (leads.new or leads.edits):
            table = read_table(leads.tab(intake.names), intake.names.columns, whole=True,
                               date_cells=snapshot.date_cells)  # fmt: skip
        step = _pipeline_inputs(inputs, intake.names, dropdowns, notes)
        result = plan_pipeline(table, name, step, leads.added_rows() if leads else Added())
        transfers = Transfers()
        if not result.skipped:
            transfers = plan_transfers(name, result.desired, inputs.pipelines, inputs.stages,
                                       inputs.log, inputs.settings, intake.names,
                                       rotation)  # fmt: skip
        found.results.append((name, result, table, transfers))
        for moved in transfers.moved:
            notes.update(_move_in(found.added, moved, inputs.pipelines, snapshot))
        if transfers.robin is not None:  # the next pipeline's transfers deal on from here
            rotation = partial(_copy_of, transfers.robin)
    return found


def _copy_of(robin: RoundRobin) -> tuple[RoundRobin, list[Problem]]:
    """The rotation a later step deals from: a copy, never the earlier step's own."""
    return copy.deepcopy(robin), []


def _move_in(
    added: dict[str, PipelineLeads],
    moved: Moved,
    pipelines: dict[str, Table | None],
    snapshot: Snapshot,
) -> dict[tuple[str, int], str]:
    """The won deals `moved` as rows of their target's tab: its leads with them (a new
    object in `added`); returns the note of each row's first History row, by (tab, row)."""
    target = pipelines[moved.target]
    assert target is not None  # transfers go only to pipelines read
    leads = added.get(moved.target) or PipelineLeads(moved.target, target, snapshot.date_cells)
    start = leads.first_new + len(leads.new)
    added[moved.target] = leads.with_rows(moved.rows, moved.columns)
    return {(target.name, start + i): note for i, note in enumerate(moved.notes)}


def _pipeline_inputs(
    inputs: Inputs,
    names: Names,
    dropdowns: dict[str, ListDropdown],
    notes: dict[tuple[str, int], str],
) -> PipelineInputs:
    return PipelineInputs(names, inputs.settings, inputs.rules, inputs.stages, inputs.log,
                          inputs.existing_tasks, inputs.done_tasks, inputs.now, dropdowns,
                          dict(notes))  # fmt: skip


# ---- alerts, the rows appended to Tasks and History, Today ------------------------------


@dataclass
class Alerts(Found):
    rows: list[dict[str, object]] = field(default_factory=list)  # for Outbox
    queued: int = 0
    waiting: int = 0
    mails: dict[str, list[str]] = field(default_factory=dict)
    room: int = 0  # e-mails today's cap allows beyond those queued (nurture's share)


def plan_alerts(
    snapshot: Snapshot,
    inputs: Inputs,
    pipelines: Pipelines,
    new_leads: list[tuple[str, int, str]],
    tasks: list[dict[str, object]],
    composer: Composer | None,
) -> Alerts:
    """Outbox rows for the e-mails this cycle's events call for, and what a person should
    know of the ones already there."""
    if composer is None:
        return Alerts()
    names, settings, now = inputs.names, inputs.settings, inputs.now
    planned = [outbox.DealRows(r.name, table, r.desired) for r, table in pipelines.tables()]
    wanted = outbox.alerts(planned, new_leads, tasks, settings.switches())
    table = table_of(snapshot, names.outbox)
    team, _ = read_team(table_of(snapshot, names.team), settings.date_order)  # said by intake
    rows, problems = outbox.queue(wanted, table, team, composer, now)
    state = outbox.read_outbox(table, now, settings.date_order)
    tab = table.name if table is not None else names.outbox
    problems += outbox.report(state, tab, int(settings.e_mails_per_day), now)
    waiting = len(state.waiting) + sum(r["Status"] == outbox.QUEUED for r in rows)
    room = int(settings.e_mails_per_day) - state.sent_today  # capped: no delivery to try
    return Alerts(ChangeSet(), problems, rows, len(rows), max(0, min(waiting, room)),
                  outbox.by_deal(table, rows), max(0, room - waiting))  # fmt: skip


def plan_sequences(
    snapshot: Snapshot,
    inputs: Inputs,
    pipelines: Pipelines,
    room: int,
    composer: Composer | None,
) -> Nurture:
    """The nurture sequences' step: enrolments, and the steps due now (with [smtp])."""
    names, settings = inputs.names, inputs.settings
    if composer is None or not names.mail:
        return Nurture()
    fields = {key for t in inputs.pipelines.values() if t is not None for key in t.cols}
    tab = table_of(snapshot, names.sequences)
    sequences, switched_off, problems = parse_sequences(
        tab, table_of(snapshot, names.sequence_steps), names.pipelines, inputs.stages, fields,
        settings.decimal_separator)  # fmt: skip
    enrolments = table_of(snapshot, names.enrolments)
    if not sequences and not open_enrolments(enrolments):
        return Nurture(problems=problems)  # nothing to read the Outbox, Suppression, Team for
    if tab is None:
        problems.append(Problem(names.enrolments, f"there is no {names.sequences} tab, so "
                                "no enrolment sends or ends; put it back, or write stopped in "
                                "the Status of those to end", "warning"))  # fmt: skip
    mailbox = table_of(snapshot, names.outbox)
    suppression = table_of(snapshot, names.suppression)
    suppressed = frozenset(suppression.column("Email").stripped().str.casefold()
                           if suppression is not None else ())  # fmt: skip
    team, _ = read_team(table_of(snapshot, names.team), settings.date_order)
    planned = [outbox.DealRows(r.name, table, r.desired, r.columns)
               for r, table in pipelines.tables()]  # fmt: skip
    found = plan_nurture(NurtureInputs(
        sequences, planned, enrolments, suppressed, team, settings, inputs.now, room,
        outbox.statuses(mailbox), table_of(snapshot, names.replies), inputs.stages,
        outbox.message_ids(mailbox), switched_off), composer)  # fmt: skip
    appended = [
        *appended_rows(snapshot, names.enrolments, inputs.changes, ENROLMENTS_COLUMNS,
                       found.enrolment_rows),
        *appended_rows(snapshot, names.suppression, inputs.changes, SUPPRESSION_COLUMNS,
                       found.suppression_rows),
    ]  # fmt: skip
    changes = ChangeSet.merged([found.changes, ChangeSet(appends=appended)])
    return replace(found, changes=changes, problems=[*problems, *found.problems])


def plan_outbox(snapshot: Snapshot, inputs: Inputs, rows: list[dict[str, object]]) -> Found:
    """The Outbox rows this cycle queues (alerts first), appended as one block."""
    names = inputs.names
    appended = appended_rows(snapshot, names.outbox, inputs.changes, OUTBOX_COLUMNS, rows)
    return Found(ChangeSet(appends=appended))


@dataclass
class Logs(Found):
    tasks_added: int = 0
    history_added: int = 0


def plan_logs(
    snapshot: Snapshot,
    inputs: Inputs,
    lists: Lists,
    history: list[dict[str, object]],
    tasks: list[dict[str, object]],
) -> Logs:
    """The rows this cycle appends to History and Tasks, and those tabs' formats."""
    names, owned = inputs.names, inputs.changes
    changes = ChangeSet(
        appends=[*appended_rows(snapshot, names.history, owned, HISTORY_COLUMNS, history),
                 *appended_rows(snapshot, names.tasks, owned, TASKS_COLUMNS, tasks)],
        formats=_owned_formats(snapshot, names, owned, lists.dropdowns.get("Task done")),
    )  # fmt: skip
    return Logs(changes, [], len(tasks), len(history))


def unique_tasks(rows: Iterable[dict[str, object]]) -> list[dict[str, object]]:
    """Each Task ID once (the first), as Tasks holds them."""
    seen: set[object] = set()
    return [r for r in rows if not (r["Task ID"] in seen or seen.add(r["Task ID"]))]


def appended_rows(
    snapshot: Snapshot,
    name: str,
    header_changes: ChangeSet,
    contract: tuple[str, ...],
    rows: list[dict[str, object]],
) -> list[tuple[str, int, list]]:
    """`rows` (contract column → value) appended to an owned tab, laid out by its header
    once `header_changes` add its tab or columns; a column people added is left empty."""
    if not rows:
        return []
    tab = snapshot.find(name)
    header = [cells.norm(h) for h in header_after(snapshot, name, header_changes)]
    position = {cells.norm(c): c for c in contract}
    keys = [position.get(h, "") for h in header]  # "": a column people added, left empty
    ordered = [list(map(row.get, keys)) for row in rows]
    return [(tab.name if tab else name, first_new_row(tab), ordered)]


def header_after(snapshot: Snapshot, name: str, changes: ChangeSet) -> list[str]:
    """A tab's header once a change set's new tabs and columns are in place."""
    tab = snapshot.find(name)
    header = [cells.text(h) for h in tab.header] if tab else []
    for new_name, rows in changes.new_tabs:
        if new_name == name and rows:
            header = [cells.text(v) for v in rows[0]]
    title_of = tab.name if tab else name
    for _, col, title in sorted(c for c in changes.new_columns if c[0] == title_of):
        header += [""] * (col - len(header))
        header[col - 1] = title
    return header


def _owned_formats(
    snapshot: Snapshot, names: Names, owned: ChangeSet, done_list: ListDropdown | None
) -> list[tuple[str, FormatSpec]]:
    formats: list[tuple[str, FormatSpec]] = []
    for name in (names.tasks, names.history):
        tab = snapshot.find(name)
        header = [cells.norm(h) for h in header_after(snapshot, name, owned)]
        want: list[FormatSpec] = [FrozenHeader()]
        if name == names.tasks:
            want += _task_formats(header, done_list, snapshot.checkboxes)
        installed = tab.formats if tab else frozenset()
        formats += [(tab.name if tab else name, spec) for spec in want if spec not in installed]
    return formats


def _task_formats(
    header: list[str], done_list: ListDropdown | None, checkboxes: bool
) -> list[FormatSpec]:
    """Done as a checkbox (or a Yes/No dropdown), and the overdue and due-today colours."""
    found = {name: header.index(cells.norm(name)) + 1 for name in ("Due", "Done")
             if cells.norm(name) in header}  # fmt: skip
    if "Done" not in found:
        return []
    done = found["Done"]
    want: list[FormatSpec] = []
    if checkboxes:
        want.append(Checkbox(done))
    elif done_list is not None:
        want.append(replace(done_list, col=done))
    if "Due" in found:
        want.append(DueColours(found["Due"], done, len(header)))
    return want


# ---- Status and widths: what the rest of the plan makes ----------------------------------


def _facts(
    inputs: Inputs, planned: list[PipelineResult], problems: list[Problem], logs: Logs
) -> CycleFacts:
    settings = inputs.settings
    counted = [p.desired["Health"].value_counts() for p in planned if not p.desired.empty]
    health = {h: int(sum(c.get(h, 0) for c in counted)) for h in HEALTHS}
    return CycleFacts(inputs.now, settings.timezone, settings.status_heartbeat_minutes,
                      problems, [(p.name, len(p.desired)) for p in planned], health,
                      logs.tasks_added, logs.history_added)  # fmt: skip


def _elsewhere(snapshot: Snapshot, changes: ChangeSet) -> dict[str, int]:
    """A new tab's Deal column fits the pipelines' deal names (looked up only then: it
    reads every name)."""
    if not changes.new_tabs:
        return {}
    return shown_elsewhere(t.rows for t in snapshot.tabs.values())
