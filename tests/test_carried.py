"""A daemon's idle cycle carries its costliest steps' results to the next one
(core/cycle.py: Carried). Reused only when the next read holds the same sheet on the same
day: then its plan is the plan a cold cycle makes, and anything else plans anew."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from sheetpipe.core.contract import IntakeTab, Names
from sheetpipe.core.cycle import Plan, plan_cycle
from sheetpipe.core.sheet.apply import apply_changes
from sheetpipe.model import ChangeSet, Snapshot, Tab

from .helpers import NOW, column, tabs
from .helpers import set_cell as typed

TODAY = NOW.date()
FORM = "Form Responses 1"
NAMES = Names(intakes=(IntakeTab(FORM, "Deals"),))
DEALS = [
    {"Deal": "Acme", "Stage": "Contact", "Owner": "Ana", "Value": 5000, "Budget": "Yes",
     "Last contact": TODAY - timedelta(days=20), "Expected close": TODAY + timedelta(days=9)},
    {"Deal": "Beta", "Stage": "Proposal", "Owner": "Ben", "Value": 12000,
     "Last contact": TODAY - timedelta(days=2), "Expected close": TODAY - timedelta(days=3)},
    {"Deal": "Gamma", "Stage": "Won", "Owner": "Ana", "Value": 800,
     "Last contact": TODAY - timedelta(days=1)},
]  # fmt: skip


def read(snap: Snapshot) -> Snapshot:
    """What a backend's read hands over: new lists, as every real read makes."""
    return apply_changes(snap, ChangeSet())


def synced() -> Snapshot:
    """A sheet synced until a cycle on it is idle."""
    rows = tabs(deals=DEALS)
    rows[FORM] = [["Timestamp", "Name", "Email", "Company"]]
    snap = Snapshot({n: Tab(n, r) for n, r in rows.items()})
    for _ in range(3):
        plan = plan_cycle(read(snap), NAMES, NOW)
        snap = apply_changes(snap, plan.changes)
    assert not plan_cycle(read(snap), NAMES, NOW).changes.has_sheet_changes()
    return snap


def same_plan(warm: Plan, cold: Plan) -> None:
    assert warm.changes == cold.changes
    assert warm.problems == cold.problems
    assert warm.now == cold.now
    assert [p.desired.to_dict() for p in warm.pipelines] == [
        p.desired.to_dict() for p in cold.pipelines
    ]


def test_an_idle_cycle_carries_and_the_next_read_of_the_same_sheet_reuses_it():
    snap = synced()
    idle = plan_cycle(read(snap), NAMES, NOW)
    assert idle.carried is not None
    later = NOW + timedelta(hours=3)
    warm = plan_cycle(read(snap), NAMES, later, previous=idle.carried)
    assert warm.pipelines[0] is idle.pipelines[0]  # not planned again
    same_plan(warm, plan_cycle(read(snap), NAMES, later))
    assert warm.carried is not None  # and carried on to the cycle after


def test_a_cycle_that_writes_carries_nothing():
    rows = tabs(deals=DEALS)
    rows[FORM] = [["Timestamp", "Name", "Email", "Company"]]
    first = plan_cycle(Snapshot({n: Tab(n, r) for n, r in rows.items()}), NAMES, NOW)
    assert first.changes.has_sheet_changes()
    assert first.carried is None


def set_cell(tab: str, row: int, name: str, value: object) -> Callable[[Snapshot], None]:
    """An edit: the cell typed in (its column added first when the tab lacks it)."""

    def edit(snap: Snapshot) -> None:
        t = snap.find(tab)
        assert t is not None
        if name not in t.header:
            t.rows[0].append(name)
        typed(snap, tab, row, name, value)

    return edit


def add_row(tab: str, values: list) -> Callable[[Snapshot], None]:
    return lambda snap: snap.find(tab).rows.append(values)  # type: ignore[union-attr]


def tick_first_task(snap: Snapshot) -> None:
    tasks = snap.find("Tasks")
    assert tasks is not None and len(tasks.rows) > 1
    set_cell("Tasks", 2, "Done", "Yes")(snap)


EDITS = {
    "a deal's stage": set_cell("Deals", 2, "Stage", "Proposal"),
    "a deal's value": set_cell("Deals", 3, "Value", 99000),
    "a deal typed in": add_row("Deals", ["Delta", "Discovery"]),
    "a weight's points": set_cell("Weights", 2, "Points", 40),
    "a setting": set_cell("Settings", 2, "Value", "Dead"),
    "a task ticked done": tick_first_task,
    "a form response": add_row(FORM, [NOW, "Cara Diaz", "cara@beta.example", "Beta Ltd"]),
    "a History row": add_row("History", [NOW, "D-0002", "Deals", "Contact", "Proposal"]),
    "a person's own tab": lambda snap: snap.tabs.update(Notes=Tab("Notes", [["hello"]])),
    "Today's rows": set_cell("Today", 2, "Deal", "typed over"),
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_any_edit_to_the_sheet_is_planned_anew(edit):
    snap = synced()
    idle = plan_cycle(read(snap), NAMES, NOW)
    assert idle.carried is not None
    edited = read(snap)
    edit(edited)
    warm = plan_cycle(read(edited), NAMES, NOW + timedelta(minutes=5), previous=idle.carried)
    cold = plan_cycle(read(edited), NAMES, NOW + timedelta(minutes=5))
    assert warm.pipelines[0] is not idle.pipelines[0]
    same_plan(warm, cold)


def test_the_next_day_is_planned_anew_in_the_sheets_time_zone():
    snap = synced()
    idle = plan_cycle(read(snap), NAMES, NOW)
    midnight = datetime.combine(TODAY + timedelta(days=1), datetime.min.time())
    warm = plan_cycle(read(snap), NAMES, midnight, previous=idle.carried)
    cold = plan_cycle(read(snap), NAMES, midnight)
    assert warm.pipelines[0] is not idle.pipelines[0]
    same_plan(warm, cold)
    days = column(apply_changes(snap, warm.changes), "Deals", "Days in stage")
    assert days != column(snap, "Deals", "Days in stage")  # a day on: the counts grew


def test_only_status_changed_is_the_same_sheet():
    """Status is sheetpipe's report, read by no step; its new text is the one planned on."""
    snap = synced()
    idle = plan_cycle(read(snap), NAMES, NOW)
    edited = read(snap)
    set_cell("Status", 2, "Value", "a person typed here")(edited)
    warm = plan_cycle(read(edited), NAMES, NOW + timedelta(minutes=5), previous=idle.carried)
    assert warm.pipelines[0] is idle.pipelines[0]
    same_plan(warm, plan_cycle(read(edited), NAMES, NOW + timedelta(minutes=5)))


def test_other_names_are_planned_anew():
    snap = synced()
    idle = plan_cycle(read(snap), NAMES, NOW)
    other = Names(intakes=())
    warm = plan_cycle(read(snap), other, NOW, previous=idle.carried)
    assert warm.pipelines[0] is not idle.pipelines[0]
    same_plan(warm, plan_cycle(read(snap), other, NOW))
