"""Property-based tests of the sync rules (Hypothesis), in the spirit of vdirsyncer's.

Random pipelines (blank, unknown and duplicated values included) and random sequences of
people's edits between syncs; the invariants are the contract's principles.
"""

from __future__ import annotations

import copy
import random
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from sheetpipe.core.contract import OWNED_COLUMNS
from sheetpipe.core.cycle import plan_cycle
from sheetpipe.core.sheet import cells
from sheetpipe.core.sheet.apply import apply_changes
from sheetpipe.model import ChangeSet, Snapshot

from .helpers import NAMES, NOW, snapshot

STAGES = [
    "Discovery",
    "Qualification",
    "Contact",
    "Proposal",
    "Won",
    "Lost",
    "proposal ",
    "Propsal",
    None,
]
texts = st.sampled_from(["Acme", "Beta", '=HYPERLINK("x")', "+1", "", None, "Gamma Ltd"])
day = st.integers(-60, 60).map(lambda n: NOW.date() - timedelta(days=n))
maybe_date = st.one_of(
    day,
    day.map(date.isoformat),
    day.map(lambda d: d.strftime("%d/%m/%Y")),
    st.sampled_from([None, "", "soon"]),
)
deal = st.fixed_dictionaries(
    {
        "Deal": texts,
        "Stage": st.sampled_from(STAGES),
        "Owner": st.sampled_from(["Ana", "Ben", None]),
        "Value": st.one_of(st.integers(-10, 100_000), st.sampled_from(["1,200", "lots", None])),
        "Last contact": maybe_date,
        "Expected close": maybe_date,
        "Budget": st.sampled_from(["Yes", "No", 0, None, "x"]),
        "Target": st.sampled_from(["Yes", "No", None]),
        "Source": st.sampled_from(["Referral", "Web form", None]),
        "ID": st.sampled_from([None, None, "D-0001", "D-0002", "X-7", ""]),
    }
)
deals = st.lists(deal, min_size=1, max_size=25)
PEOPLE = {
    "Deal",
    "Stage",
    "Owner",
    "Value",
    "Last contact",
    "Expected close",
    "Budget",
    "Target",
    "Source",
}

# A plan costs ~50 ms of fixed pandas overhead, so examples are counted, not unlimited.
fast = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# Any value a backend can hand over, in any people-owned cell: the cycle must go on.
any_cell = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from(["  ", "=1+1", "3000-01-01", "31/02/2026", "1e400", "Yes ", "✔", "n/a"]),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
)
wild_deals = st.lists(
    st.fixed_dictionaries({column: any_cell for column in sorted(PEOPLE)}), min_size=1, max_size=12
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wild_deals)
def test_no_cell_value_stops_a_cycle(rows):
    result = plan_cycle(snapshot(deals=rows), NAMES, NOW)
    for pipeline in result.pipelines:
        assert pipeline.desired["Score"].between(0, 100).all()
    assert all(p.where and p.message for p in result.problems)


def owned_by_id(snap: Snapshot) -> dict[str, tuple]:
    tab = snap.find("Deals")
    header = tab.header
    out = {}
    for row in tab.rows[1:]:
        values = dict(zip(header, list(row) + [None] * (len(header) - len(row)), strict=True))
        if values.get("ID"):
            out[values["ID"]] = tuple(cells.text(values.get(c)) for c in OWNED_COLUMNS)
    return out


@fast
@given(deals)
def test_applying_a_plan_then_planning_again_changes_nothing(rows):
    snap = snapshot(deals=rows)
    after = apply_changes(snap, plan_cycle(snap, NAMES, NOW).changes)
    again = plan_cycle(after, NAMES, NOW + timedelta(minutes=5))
    assert not again.changes.has_sheet_changes(), again.changes


@fast
@given(deals)
def test_a_plan_writes_only_owned_columns_and_keeps_scores_in_range(rows):
    snap = snapshot(deals=rows)
    result = plan_cycle(snap, NAMES, NOW)
    for write in result.changes.writes:
        assert write.name in OWNED_COLUMNS
    after = apply_changes(snap, result.changes)
    people_before = [{k: r[k] for k in PEOPLE} for r in rows]
    tab = after.find("Deals")
    people_after = [
        {k: dict(zip(tab.header, row + [None] * len(tab.header), strict=False))[k] for k in PEOPLE}
        for row in tab.rows[1:]
    ]
    assert people_after[: len(people_before)] == people_before
    for pipeline in result.pipelines:
        assert pipeline.desired["Score"].between(0, 100).all()
        ids = pipeline.desired["ID"]
        assert ids.is_unique and ids.ne("").all()


@fast
@given(deals, st.randoms(use_true_random=False))
def test_values_and_task_ids_follow_the_deal_not_the_row(rows, rnd):
    """Sorting the rows changes no deal's computed values and no task."""
    snap = snapshot(deals=rows)
    first = apply_changes(snap, plan_cycle(snap, NAMES, NOW).changes)
    shuffled = copy.deepcopy(first)
    body = shuffled.find("Deals").rows[1:]
    rnd.shuffle(body)
    shuffled.find("Deals").rows[1:] = body
    later = NOW + timedelta(days=3)
    a = plan_cycle(first, NAMES, later)
    b = plan_cycle(shuffled, NAMES, later)
    assert owned_by_id(apply_changes(first, a.changes)) == owned_by_id(
        apply_changes(shuffled, b.changes)
    )
    tasks = lambda p: sorted(r[0] for t, _, rs in p.changes.appends if t == "Tasks" for r in rs)  # noqa: E731
    assert tasks(a) == tasks(b)


def fresh_read(snap: Snapshot) -> Snapshot:
    """The sheet as a backend's read hands it over: lists of its own (people's edits
    below change this machine's snapshot in place)."""
    return apply_changes(snap, ChangeSet())


class PeopleEditWhileTheDaemonSyncs(RuleBasedStateMachine):
    """People sort, insert, delete and edit between cycles; the daemon syncs at times."""

    @initialize(rows=deals)
    def start(self, rows):
        self.snap = snapshot(deals=rows)
        self.now = NOW
        self.history_seen: list[list] = []
        self.tasks_seen: set[str] = set()
        self.carried = None  # what the daemon's last idle cycle carried

    def _deals(self):
        return self.snap.find("Deals")

    @rule(rnd=st.randoms(use_true_random=False))
    def sort_rows(self, rnd):
        body = self._deals().rows[1:]
        rnd.shuffle(body)
        self._deals().rows[1:] = body

    @rule(row=deal)
    def insert_row(self, row):
        header = self._deals().header
        values = [row.get(h) for h in header]
        self._deals().rows.insert(
            1 + random.Random(len(header)).randint(0, len(self._deals().rows) - 1), values
        )

    @rule(index=st.integers(0, 30))
    def delete_row(self, index):
        body = self._deals().rows
        if len(body) > 1:
            del body[1 + index % (len(body) - 1)]

    @rule(index=st.integers(0, 30), stage=st.sampled_from(STAGES), owned=st.booleans())
    def edit_a_cell(self, index, stage, owned):
        tab = self._deals()
        if len(tab.rows) < 2:
            return
        row = tab.rows[1 + index % (len(tab.rows) - 1)]
        column = "Score" if owned and "Score" in tab.header else "Stage"
        i = tab.header.index(column)
        row.extend([None] * (i + 1 - len(row)))
        row[i] = 999 if column == "Score" else stage  # a person overwrites a daemon cell too

    @rule(hours=st.one_of(st.integers(0, 2), st.integers(0, 24 * 20)))
    def sync(self, hours):
        self.now += timedelta(hours=hours)
        result = plan_cycle(self.snap, NAMES, self.now)
        # A daemon plans on a fresh read with what its last idle cycle carried: the same plan.
        warm = plan_cycle(fresh_read(self.snap), NAMES, self.now, previous=self.carried)
        assert (warm.changes, warm.problems) == (result.changes, result.problems)
        self.snap = apply_changes(self.snap, result.changes)
        again = plan_cycle(fresh_read(self.snap), NAMES, self.now)
        assert not again.changes.has_sheet_changes()
        self.carried = again.carried

    @invariant()
    def history_is_append_only_and_tasks_unique(self):
        if not hasattr(self, "snap"):
            return
        history = self.snap.find("History").rows[1:]
        assert history[: len(self.history_seen)] == self.history_seen
        self.history_seen = [list(r) for r in history]
        tasks = self.snap.find("Tasks")
        at = tasks.header.index("Task ID")
        task_ids = [r[at] for r in tasks.rows[1:]]
        assert len(task_ids) == len(set(task_ids))
        assert self.tasks_seen <= set(task_ids)
        self.tasks_seen = set(task_ids)

    @invariant()
    def owned_ids_are_unique(self):
        if not hasattr(self, "snap"):
            return
        tab = self._deals()
        if "ID" not in tab.header:
            return
        i = tab.header.index("ID")
        ids = [r[i] for r in tab.rows[1:] if len(r) > i and r[i]]
        assert len(ids) == len(set(ids)) or any(
            (p.where.startswith("Deals!") and "also on row" in p.message)
            for p in plan_cycle(self.snap, NAMES, self.now).problems
        )


PeopleEditWhileTheDaemonSyncs.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPeopleEditWhileTheDaemonSyncs = PeopleEditWhileTheDaemonSyncs.TestCase


@pytest.mark.parametrize(
    "awkward",
    [
        lambda d: isinstance(d["Last contact"], date),
        lambda d: d["Last contact"] == "soon",
        lambda d: d["Last contact"] is None,
        lambda d: str(d["Deal"]).startswith(("=", "+")),
        lambda d: d["Value"] == "lots",
        lambda d: d["ID"] == "X-7",
    ],
)
def test_strategies_cover_the_awkward_cells(awkward):
    """The generators above really produce the inputs the properties are about: dates,
    typed text and empty cells in a date column, formula-like names, odd IDs."""
    quick = settings(database=None, phases=[Phase.generate], max_examples=5000)  # not shrunk
    assert awkward(find(deal, awkward, settings=quick))
