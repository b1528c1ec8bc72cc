"""One cycle's thinking: a Snapshot in, the desired sheet diffed into a ChangeSet out."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from sheetpipe.core import cells, outbox
from sheetpipe.core.contract import (
    HISTORY_COLUMNS,
    OUTBOX_COLUMNS,
    TASKS_COLUMNS,
    Names,
)
from sheetpipe.core.history import read_history
from sheetpipe.core.intake import IntakeCycle, plan_intake
from sheetpipe.core.lists import plan_lists
from sheetpipe.core.outbox import Composer
from sheetpipe.core.pipeline import CycleInputs, PipelineResult, plan_pipeline
from sheetpipe.core.settings import Settings, parse_settings
from sheetpipe.core.stages import parse_stages
from sheetpipe.core.table import Table, read_table
from sheetpipe.core.team import read_team
from sheetpipe.core.today import (
    TEAM,
    TODAY_COLUMNS,
    Deals,
    open_tasks,
    plan_today,
    rewrite_owned,
    team_names,
)
from sheetpipe.core.transfer import plan_transfers
from sheetpipe.core.weights import Rule, parse_weights
from sheetpipe.model import (
    ChangeSet,
    Checkbox,
    DueColours,
    FormatSpec,
    FrozenHeader,
    ListDropdown,
    Problem,
    RepViews,
    Row,
    Snapshot,
    Tab,
)


@dataclass
class Plan:
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

    @property
    def deals(self) -> int:
        return sum(len(p.desired) for p in self.pipelines)

    def count(self, health: str) -> int:
        return sum(p.count(health) for p in self.pipelines)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]


def local_now(now: datetime, settings: Settings) -> datetime:
    """The sheet's wall-clock time: aware times are converted, naive ones taken as local."""
    if now.tzinfo is not None:
        now = now.astimezone(settings.tz).replace(tzinfo=None)
    return now.replace(microsecond=0)


def plan_cycle(
    snapshot: Snapshot, names: Names, now: datetime, composer: Composer | None = None
) -> Plan:
    """`composer` writes the alerts' e-mails; without one (no [smtp]), none is queued."""
    problems: list[Problem] = []
    changes = ChangeSet()

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
    now = local_now(now, settings)
    pipelines = {name: table(name, pipeline=True) for name in names.pipelines}
    fields = {key for t in pipelines.values() if t is not None for key in t.cols}
    rules, found = parse_weights(table(names.weights), fields, settings.decimal_separator)
    problems += found
    stages, found = parse_stages(table(names.stages), names.pipelines, settings)
    problems += found
    history = _owned_table(snapshot, names.history)
    log = read_history(history, settings.date_order)
    problems += log.problems
    tasks_table = _owned_table(snapshot, names.tasks)
    existing_tasks, done_tasks = _task_ids(tasks_table), _done_task_ids(tasks_table)
    _ensure_owned_tabs(snapshot, names, changes)
    dropdowns = plan_lists(snapshot, names, stages, changes, problems)
    intake = plan_intake(snapshot, names, settings, stages, pipelines, now, problems, history)
    intake.write_edits(changes)

    plan = Plan(changes, problems, settings, rules, now=now)
    cycle = CycleInputs(
        names,
        settings,
        rules,
        stages,
        log,
        existing_tasks,
        done_tasks,
        now,
        changes,
        problems,
        dropdowns,
        history_notes=intake.history_notes,
    )
    read = _plan_pipelines(snapshot, pipelines, cycle, intake, plan)
    ids = {name: result.desired["ID"] for name, (result, _) in read.items()}
    cycle.task_rows += intake.finish(ids, changes, existing_tasks)
    plan.origins = intake.origins()
    if composer is not None:
        _queue_alerts(snapshot, list(read.values()), intake, cycle, composer, plan)
    plan.tasks_added, plan.history_added = len(cycle.task_rows), len(cycle.history_rows)
    _append(snapshot, names.history, HISTORY_COLUMNS, cycle.history_rows, names, changes)
    _append(snapshot, names.tasks, TASKS_COLUMNS, cycle.task_rows, names, changes)
    _owned_formats(snapshot, names, changes, dropdowns.get("Task done"))
    _today(snapshot, names, list(read.values()), tasks_table, cycle)
    return plan


def _plan_pipelines(
    snapshot: Snapshot,
    pipelines: dict[str, Table | None],
    cycle: CycleInputs,
    intake: IntakeCycle,
    plan: Plan,
) -> dict[str, tuple[PipelineResult, Table]]:
    """Each pipeline in config order, with the rows this cycle adds to it (new leads,
    won deals of the pipelines before it), each planned as the tab it is read as."""
    read: dict[str, tuple[PipelineResult, Table]] = {}
    for name, pipeline in pipelines.items():
        if pipeline is None:
            continue
        with_new_rows = intake.tab(name)
        if with_new_rows is not None:
            pipeline = read_table(with_new_rows, cycle.names.columns, whole=True,
                                  date_cells=snapshot.date_cells)  # fmt: skip
        result = plan_pipeline(pipeline, name, cycle)
        if result is None:
            continue
        plan.pipelines.append(result)
        read[name] = (result, pipeline)
        plan_transfers(intake, name, result.desired, pipelines, cycle.stages, cycle.log)
    return read


def _queue_alerts(
    snapshot: Snapshot,
    pipelines: list[tuple[PipelineResult, Table]],
    intake: IntakeCycle,
    cycle: CycleInputs,
    composer: Composer,
    plan: Plan,
) -> None:
    """Outbox rows for the e-mails this cycle's events call for, and what a person should
    know of the ones already there."""
    names, settings = cycle.names, cycle.settings
    planned = [outbox.DealRows(result.name, table, result.desired) for result, table in pipelines]
    wanted = outbox.alerts(planned, intake.new_leads(), cycle.task_rows, settings.switches())
    table = _owned_table(snapshot, names.outbox)
    team = read_team(_owned_table(snapshot, names.team), settings.date_order, [])
    rows = outbox.queue(wanted, table, team, composer, cycle.now, cycle.problems)
    _append(snapshot, names.outbox, OUTBOX_COLUMNS, rows, names, cycle.changes)
    state = outbox.read_outbox(table, cycle.now, settings.date_order)
    tab = table.name if table is not None else names.outbox
    cycle.problems += outbox.report(state, tab, int(settings.e_mails_per_day), cycle.now)
    plan.mail_queued = len(rows)
    plan.mails = outbox.by_deal(table, rows)
    waiting = len(state.waiting) + sum(r["Status"] == outbox.QUEUED for r in rows)
    room = int(settings.e_mails_per_day) - state.sent_today  # capped: no delivery to try
    plan.mail_waiting = max(0, min(waiting, room))


def _today(
    snapshot: Snapshot,
    names: Names,
    pipelines: list[tuple[PipelineResult, Table]],
    tasks: Table | None,
    cycle: CycleInputs,
) -> None:
    """The Today tab, rewritten when what it lists changes."""
    tasks_tab = snapshot.find(names.tasks)
    first = _first_new_row(tasks_tab)
    deals = [
        Deals(result.name, result.desired, cells.col_letter(table.cols[cells.norm("Deal")]))
        for result, table in pipelines
    ]
    team = team_names(_owned_table(snapshot, names.team))
    tab = tasks_tab.name if tasks_tab else names.tasks
    found = open_tasks(tasks, cycle.task_rows, first, tab, cycle.now.date())
    rows = plan_today(deals, found, team, cycle.now.date())
    if rewrite_owned(snapshot, names.today, rows, cycle.changes, cycle.problems):
        _rep_views(snapshot, names.today, rows, cycle.changes)


def _rep_views(snapshot: Snapshot, name: str, rows: list[Row], changes: ChangeSet) -> None:
    """A filter view per rep Today lists, where the backend has filter views."""
    if not snapshot.filter_views:
        return
    owner = TODAY_COLUMNS.index("Owner")
    reps = frozenset(str(r[owner]) for r in rows[1:] if r and r[owner] and r[owner] != TEAM)
    want = RepViews(owner + 1, reps)
    tab = snapshot.find(name)
    installed = [f for f in tab.formats if isinstance(f, RepViews)] if tab else []
    if want in installed or (not reps and not installed):  # no rep and no view: done
        return
    changes.formats.append((tab.name if tab else name, want))


def _task_ids(tasks: Table | None) -> set[str]:
    if tasks is None:
        return set()
    return set(tasks.column("Task ID").stripped().to_numpy())


def _done_task_ids(tasks: Table | None) -> set[str]:
    if tasks is None or not tasks.has("Done"):
        return set()
    ticked = tasks.column("Done").yeses()
    return set(tasks.column("Task ID").stripped()[ticked].to_numpy())


def _owned_table(snapshot: Snapshot, name: str) -> Table | None:
    tab = snapshot.find(name)
    return read_table(tab, date_cells=snapshot.date_cells) if tab else None


def _ensure_owned_tabs(snapshot: Snapshot, names: Names, changes: ChangeSet) -> None:
    for name, header in names.owned_tabs().items():
        tab = snapshot.find(name)
        if tab is None:
            changes.new_tabs.append((name, [list(header)]))
            continue
        if name == names.status:
            continue  # rewritten whole every time it changes
        present = {cells.norm(h) for h in tab.header}
        width = len(tab.header)
        for column in header:
            if cells.norm(column) not in present:
                width += 1
                changes.new_columns.append((tab.name, width, column))


def _header_after(snapshot: Snapshot, name: str, changes: ChangeSet) -> list[str]:
    """A tab's header once this change set's new tabs and columns are in place."""
    tab = snapshot.find(name)
    if tab is None:
        return next((list(rows[0]) for n, rows in changes.new_tabs if n == name), [])
    extra = [(col, h) for t, col, h in changes.new_columns if t == tab.name]
    return tab.header + [h for _, h in sorted(extra)]


def _append(
    snapshot: Snapshot,
    name: str,
    contract: tuple[str, ...],
    rows: list[dict[str, object]],
    names: Names,
    changes: ChangeSet,
) -> None:
    if not rows:
        return
    tab = snapshot.find(name)
    header = [cells.norm(h) for h in _header_after(snapshot, name, changes)]
    position = {cells.norm(c): c for c in contract}
    keys = [position.get(h, "") for h in header]  # "": a column people added, left empty
    ordered = [list(map(row.get, keys)) for row in rows]
    first = _first_new_row(tab)
    changes.appends.append((tab.name if tab else name, first, ordered))


def _first_new_row(tab: Tab | None) -> int:
    """Where rows appended to a tab begin (below its header when it is to be made)."""
    return len(tab.rows) + 1 if tab else 2


def _owned_formats(
    snapshot: Snapshot, names: Names, changes: ChangeSet, done_list: ListDropdown | None
) -> None:
    for name in (names.tasks, names.history):
        tab = snapshot.find(name)
        header = [cells.norm(h) for h in _header_after(snapshot, name, changes)]
        want: list[FormatSpec] = [FrozenHeader()]
        if name == names.tasks:
            want += _task_formats(header, done_list, snapshot.checkboxes)
        installed = tab.formats if tab else frozenset()
        tab_name = tab.name if tab else name
        changes.formats += [(tab_name, spec) for spec in want if spec not in installed]


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
