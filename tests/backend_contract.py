"""The contract every backend passes, run against each of them (vdirsyncer's pattern).

A backend test module subclasses `BackendContract` and provides a `backend` fixture
that returns a factory: given tabs (name → rows), it makes a real sheet holding them
and returns a Backend on it. The Google backend will run this same suite.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest

from sheetpipe.core.contract import IntakeTab, Names
from sheetpipe.core.cycle import plan_cycle
from sheetpipe.core.sheet.apply import apply_changes
from sheetpipe.core.sheet.cells import col_letter
from sheetpipe.core.tabs.today import TODAY_COLUMNS
from sheetpipe.model import (
    DUE_FILLS,
    ERROR_FILL,
    ChangeSet,
    Checkbox,
    ColumnWrite,
    DueColours,
    FrozenHeader,
    HealthColours,
    ListDropdown,
    Snapshot,
)
from sheetpipe.sync import run_cycle

from .helpers import NAMES, NOW, column, record, tabs

HEADER_FILL = "DDEBF7"  # the light blue a person gave a header
FORMULA_TEXTS = ['=HYPERLINK("http://x","y")', "+1", "@SUM(A1)", "-2", "=1+1", "\t=1+1", "\r=2"]


def deals(n: int = 3) -> list[dict]:
    return [
        {
            "Deal": f"Deal {i}",
            "Stage": ["Discovery", "Contact", "Proposal"][i % 3],
            "Owner": "Ana",
            "Value": 1000 * i,
            "Last contact": date(2026, 3, 1),
        }
        for i in range(1, n + 1)
    ]


@dataclass
class Layout:
    """How a tab looks, as the backend's own storage holds it."""

    widths: dict[int, float]  # 1-based column → characters (only columns given one)
    bold_header: bool
    frozen_header: bool
    filtered: bool
    wrapped: set[int]  # columns whose row-2 cell wraps its text


class BackendContract:
    @pytest.fixture
    def backend(self):  # pragma: no cover - each backend module provides it
        raise NotImplementedError

    def layout(self, sheet, tab: str) -> Layout:
        """Read from the storage itself (a backend module overrides it)."""
        pytest.skip("this backend keeps no layout")

    def style_header(self, sheet, tab: str) -> None:
        """Make the tab's header bold on a blue fill, as a person does (a backend module
        overrides it)."""
        pytest.skip("this backend keeps no formats")

    def header_fills(self, sheet, tab: str) -> list[str | None]:
        """The fill of each header cell with a value, as RGB hex (a backend module
        overrides it)."""
        pytest.skip("this backend keeps no formats")

    def test_a_header_cell_sheetpipe_adds_looks_as_the_rest_of_the_header(self, backend):
        sheet = backend(tabs(deals()))
        self.style_header(sheet, "Deals")
        run_cycle(sheet, NAMES, NOW)
        header = sheet.read().find("Deals").header
        assert {"ID", "Score", "Health", "Days in stage"} <= set(header)
        assert self.layout(sheet, "Deals").bold_header, "the added cells are bold too"
        assert self.header_fills(sheet, "Deals") == [HEADER_FILL] * len(header)
        assert not self.layout(sheet, "Customers").bold_header  # a plain header stays plain

    def test_new_tabs_and_columns_are_laid_out_to_be_read(self, backend):
        sheet = backend(
            {k: v for k, v in tabs(deals()).items() if k not in ("Tasks", "History", "Status")}
        )
        deals_before = self.layout(sheet, "Deals")
        run_cycle(sheet, NAMES, NOW)
        snap = sheet.read()
        for name in ("Tasks", "History", "Lists", "Status"):
            header = snap.find(name).header
            look = self.layout(sheet, name)
            assert sorted(look.widths) == list(range(1, len(header) + 1)), name
            assert look.bold_header and look.frozen_header, name
            assert look.filtered == (name != "Status"), name
        tasks = self.layout(sheet, "Tasks")
        task_header = snap.find("Tasks").header
        assert task_header[:2] == ["Task", "Deal"] and task_header[-1] == "Task ID"
        assert tasks.widths[task_header.index("Task") + 1] >= 40
        assert tasks.wrapped == {task_header.index("Task") + 1}
        assert tasks.widths[task_header.index("Due") + 1] >= 11  # yyyy-mm-dd whole
        assert tasks.widths[task_header.index("Created") + 1] >= 17  # with its time
        history = self.layout(sheet, "History")
        assert history.widths[1] >= 17, "When: a date and a time"
        # Deals gained its owned columns: each has a width; its own columns kept theirs.
        deals_after = self.layout(sheet, "Deals")
        header = snap.find("Deals").header
        added = range(header.index("ID") + 1, len(header) + 1)
        assert set(added) <= set(deals_after.widths)
        assert {c: w for c, w in deals_after.widths.items() if c not in added} == (
            deals_before.widths
        )
        assert deals_after.widths[header.index("In stage since") + 1] >= 11

    def test_a_width_is_set_once_so_a_persons_width_stays(self, backend):
        sheet = backend(tabs(deals()))
        run_cycle(sheet, NAMES, NOW)
        first = self.layout(sheet, "Tasks").widths
        with sheet.session():
            sheet.read()
            task = ColumnWrite("Tasks", 1, "Task", [2], ["x" * 200])
            sheet.apply(ChangeSet(writes=[task]), "Status")
        run_cycle(sheet, NAMES, NOW + timedelta(days=3))
        assert self.layout(sheet, "Tasks").widths == first

    def test_reads_every_tab_with_values_as_typed(self, backend):
        sheet = backend(tabs(deals()))
        snap = sheet.read()
        assert {"Deals", "Customers", "Weights", "Stages", "Settings", "Tasks", "History"} <= set(
            snap.tabs
        )
        assert column(snap, "Deals", "Deal") == ["Deal 1", "Deal 2", "Deal 3"]
        assert column(snap, "Deals", "Value") == [1000, 2000, 3000]
        assert [_day(v) for v in column(snap, "Deals", "Last contact")] == [date(2026, 3, 1)] * 3

    def test_reads_only_the_tabs_asked_for_and_writes_after_such_a_read(self, backend):
        """E-mail delivery reads just Outbox and Settings, then writes to Outbox."""
        sheet = backend(tabs(deals()))
        full = sheet.read()
        with sheet.session():
            snap = sheet.read(only=("settings", "TASKS", "No such tab"))
            assert sorted(snap.tabs) == ["Settings", "Tasks"]
            assert snap.find("Settings").rows == full.find("Settings").rows
            col = snap.find("Tasks").header.index("Task") + 1
            sheet.apply(ChangeSet(appends=[("Tasks", 2, [["Call"]])]), "Status")
        after = sheet.read()
        assert column(after, "Tasks", "Task") == ["Call"] and col == 1
        assert after.find("Deals").rows == full.find("Deals").rows

    def test_applies_every_kind_of_change(self, backend):
        sheet = backend(tabs(deals()))
        before = sheet.read()
        width = len(before.find("Deals").header)
        changes = ChangeSet(
            new_tabs=[("Extra", [["A", "B"], [1, "x"]])],
            new_columns=[("Deals", width + 1, "Score")],
            writes=[ColumnWrite("Deals", width + 1, "Score", [2, 4], [10, 30])],
            appends=[
                (
                    "Tasks",
                    2,
                    [["Call", "Deal 1", date(2026, 3, 11), "Ana", "No", "hot", NOW, "D-1", "T-1"]],
                )
            ],
            formats=[("Deals", FrozenHeader())],
        )
        sheet.apply(changes, "Status")
        after = sheet.read()
        assert after.find("Extra").rows == [["A", "B"], [1, "x"]]
        assert column(after, "Deals", "Score") == [10, None, 30]
        task = record(after, "Tasks", 2)
        assert (task["Task ID"], task["Task"], _day(task["Due"])) == (
            "T-1",
            "Call",
            date(2026, 3, 11),
        )
        assert FrozenHeader() in after.find("Deals").formats

    def test_formula_like_text_stays_text(self, backend):
        rows = [{"Deal": text, "Stage": "Discovery"} for text in FORMULA_TEXTS]
        sheet = backend(tabs(rows))
        for _ in range(3):
            run_cycle(sheet, NAMES, NOW)
        snap = sheet.read()
        assert column(snap, "Deals", "Deal") == FORMULA_TEXTS
        assert column(snap, "History", "Deal") == FORMULA_TEXTS  # copied by the daemon
        assert set(column(snap, "Tasks", "Deal")) == set(FORMULA_TEXTS)

    def test_installs_formats_once_and_finds_them_again(self, backend):
        sheet = backend(tabs(deals()))
        run_cycle(sheet, NAMES, NOW)
        formats = sheet.read().find("Deals").formats
        stages = ("Discovery", "Qualification", "Contact", "Proposal", "Won", "Lost")
        header = sheet.read().find("Deals").header
        assert FrozenHeader() in formats
        assert HealthColours(header.index("Health") + 1, len(header)) in formats
        assert ListDropdown(header.index("Stage") + 1, "Lists", 1, len(stages)) in formats
        assert dropdown_choices(sheet.read(), "Deals", header.index("Stage") + 1) == stages
        again = plan_cycle(sheet.read(), NAMES, NOW)
        assert again.changes.formats == []

    def test_done_is_ticked_in_a_checkbox_or_a_dropdown_and_open_tasks_due_are_coloured(
        self, backend
    ):
        sheet = backend(tabs(deals()))
        run_cycle(sheet, NAMES, NOW)
        snap = sheet.read()
        header = snap.find("Tasks").header
        due, done = header.index("Due") + 1, header.index("Done") + 1
        formats = snap.find("Tasks").formats
        if snap.checkboxes:  # Google: ticked is "Yes", as the workbook's dropdown says
            assert Checkbox(done, "Yes", "No") in formats
            assert not any(isinstance(f, ListDropdown) for f in formats)
        else:
            assert ListDropdown(done, "Lists", 3, 2) in formats
            assert dropdown_choices(snap, "Tasks", done) == ("Yes", "No")
        assert DueColours(due, done, len(header)) in formats
        rules = self.row_rules(sheet, "Tasks")
        if rules is not None:  # as the storage holds them: over A2:I, the colours ours
            last = col_letter(len(header))
            assert {(span, fill) for span, _, fill in rules} == {
                (f"A2:{last}", DUE_FILLS["overdue"]),
                (f"A2:{last}", DUE_FILLS["today"]),
            }
            assert all("TODAY()" in formula for _, formula, _ in rules)
        assert plan_cycle(sheet.read(), NAMES, NOW).changes.formats == []

    def row_rules(self, sheet, tab) -> list[tuple[str, str, str]] | None:
        """(range to row 2's column, formula, fill) of each conditional rule the storage
        holds on `tab`; None where there is no storage beyond the snapshot."""
        return None

    def test_a_dropdown_holds_any_stage_name_and_any_number_of_stages(self, backend):
        """An xlsx literal list holds 255 characters and splits at commas; a quote must
        be doubled. Forty long names with commas and quotes make all three break."""
        names = ["Won, signed", 'Said "maybe"', *(f"Stage {i} of the long road" for i in range(40))]
        rows = [["Deals", name, i, "", 30, "", "", "No", ""] for i, name in enumerate(names, 1)]
        sheet = backend(tabs(deals(3), stages=rows))
        run_cycle(sheet, NAMES, NOW)
        snap = sheet.read()
        stage_col = snap.find("Deals").header.index("Stage") + 1
        assert dropdown_choices(snap, "Deals", stage_col) == tuple(names)
        # A renamed stage reaches the dropdown on the next cycle; one stage fewer shrinks it.
        last = len(rows) + 1
        edit = ColumnWrite("Stages", 2, "Stage", [3, last], ["Maybe later", None])
        sheet.apply(ChangeSet(writes=[edit]), "Status")
        run_cycle(sheet, NAMES, NOW)
        assert dropdown_choices(sheet.read(), "Deals", stage_col) == (
            names[0],
            "Maybe later",
            *names[2:-1],
        )

    def test_a_sync_converges_and_the_next_plans_nothing(self, backend):
        sheet = backend(tabs(deals(12)))
        first = run_cycle(sheet, NAMES, NOW)
        assert first.applied and first.plan.changes.cells_changed > 0
        second = run_cycle(sheet, NAMES, NOW + timedelta(minutes=5))
        assert not second.applied
        assert second.plan.changes.is_empty()

    def test_matches_the_in_memory_reference(self, backend):
        """What the backend holds after a cycle equals the pure apply of the same plan."""
        sheet = backend(tabs(deals(6)))
        before = sheet.read()
        report = run_cycle(sheet, NAMES, NOW)
        expected = apply_changes(before, report.plan.changes)
        actual = sheet.read()
        for name in ("Deals", "History", "Tasks", "Status"):
            assert _values(actual, name) == _values(expected, name), name

    def test_intake_responses_become_deals_once_with_an_owner_and_a_status(self, backend):
        """New rows appended to a pipeline with their owned cells, the intake tab's two
        status columns added and written, a returning lead merged: all in one cycle."""
        intake = "Form Responses 1"
        names = Names(intakes=(IntakeTab(intake, "Deals"),))
        sheets = tabs([{**deals(1)[0], "Email": "bob@acme.example", "ID": "D-0001"}])
        sheets["Team"] = [["Name", "Weight"], ["Ana", 1], ["Ben", 2]]
        sheets[intake] = [
            ["Timestamp", "Name", "Email", "Company", "Message"],
            [datetime(2026, 3, 9, 16, 30), "Cara", "cara@beta.example", "Beta", "Hi"],
            [datetime(2026, 3, 9, 17, 0), FORMULA_TEXTS[0], "dan@delta.example", "+1", "-2"],
            [datetime(2026, 3, 9, 18, 0), "Bob", "BOB@acme.example", "", "Back again"],
        ]
        sheet = backend(sheets)
        before = sheet.read()
        report = run_cycle(sheet, names, NOW)
        snap = sheet.read()
        assert column(snap, "Deals", "Deal") == ["Deal 1", "Beta", "+1"]
        assert column(snap, "Deals", "ID") == ["D-0001", "D-0002", "D-0003"]
        assert column(snap, "Deals", "Owner") == ["Ana", "Ben", "Ana"]
        assert column(snap, "Deals", "Contact") == ["Bob", "Cara", FORMULA_TEXTS[0]]  # merged
        assert column(snap, "Deals", "Notes") == [None, "Hi", "-2"]
        assert [_day(v) for v in column(snap, "Deals", "Last contact")] == [date(2026, 3, 9)] * 3
        assert all(column(snap, "Deals", "Health"))  # planned in the cycle that made them
        assert None not in column(snap, "Deals", "Score")
        assert column(snap, intake, "Intake status") == [
            "Created D-0002 for Ben (round-robin, turn 1)",
            "Created D-0003 for Ana (round-robin, turn 2)",
            "Merged into D-0001 (same e-mail, 2026-03-09)",
        ]
        assert all(len(k) == 12 for k in column(snap, intake, "Intake key"))
        expected = apply_changes(before, report.plan.changes)
        for name in ("Deals", intake, "Tasks", "History"):
            assert _values(snap, name) == _values(expected, name), name
        again = run_cycle(sheet, names, NOW + timedelta(minutes=5))
        assert not again.applied and again.plan.changes.is_empty()

    def test_status_lists_problems_with_their_cells(self, backend):
        sheet = backend(tabs(deals(), weights=[["Value", ">", "lots", 5, "", ""]]))
        run_cycle(sheet, NAMES, NOW)
        status = sheet.read().find("Status").rows
        assert status[1][:2] == ["Summary", "1 problem: 1 error"]
        assert status[5][:2] == ["Deals", 3]
        at = [r[0] if r else "" for r in status].index("Weights!C2")
        assert status[at][1:] == [
            'value "lots" is not a number, which ">" needs; this rule is skipped.',
            "error",
        ]
        assert self.links(sheet, "Status") == {f"A{at + 1}": ("Weights", "C2")}
        red = {f"B{at + 1}": ERROR_FILL, f"C{at + 1}": ERROR_FILL}
        assert self.fills(sheet, "Status") == red, "an error's message and level on red"
        # The manager fixes the rule: Status says so, and no link is left behind.
        with sheet.session():
            sheet.read()
            sheet.apply(ChangeSet(writes=[ColumnWrite("Weights", 3, "Value", [2], [5000])]), "")
        run_cycle(sheet, NAMES, NOW + timedelta(minutes=5))
        status = sheet.read().find("Status").rows
        assert status[1][:2] == ["Summary", "All good"]
        assert self.links(sheet, "Status") == {}
        assert self.fills(sheet, "Status") == {}

    def test_today_lists_each_reps_work_and_links_each_line_to_its_row(self, backend):
        sheet = backend(tabs(deals(4)))
        run_cycle(sheet, NAMES, NOW)
        snap = sheet.read()
        today = snap.find("Today")
        assert today.header == list(TODAY_COLUMNS)
        lines = [r for r in today.rows[1:] if r and r[0] == "Ana"]
        assert [r[1] for r in lines] == ["Check: At risk"] * 3 + ["New deal"] * 4
        links = self.links(sheet, "Today")
        for r, row in enumerate(today.rows[1:], start=2):
            if row[1] == "Summary":  # the rep's name, no link
                assert f"C{r}" not in links
                continue
            tab, cell = links[f"C{r}"]  # every line's Deal opens its row
            target = snap.find(tab)
            at = int(cell[1:]) - 1
            assert target.rows[at][target.header.index("Deal")] == row[2], (r, tab, cell)
        assert all(_day(r[4]) == NOW.date() for r in lines if r[1] == "New deal")
        look = (
            self.layout(sheet, "Today") if type(self).layout is not BackendContract.layout else None
        )
        assert look is None or (look.bold_header and look.filtered)
        again = run_cycle(sheet, NAMES, NOW + timedelta(minutes=5))
        assert "Today" not in again.plan.changes.rewrites, "unchanged: not written again"

    def fills(self, sheet, tab: str) -> dict[str, str]:
        """Each filled cell (C14) → its fill's RGB, from the storage itself."""
        return sheet.fills.get(tab.casefold(), {})

    def links(self, sheet, tab: str) -> dict[str, tuple[str, str]]:
        """Each linked cell (A14) → the tab and cell it opens, from the storage itself."""
        return sheet.links.get(tab.casefold(), {})


def _day(value: object) -> date | None:
    """A date cell's day, whether the backend reads a date, a datetime or (Google's
    UNFORMATTED_VALUE) a serial day number."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (datetime(1899, 12, 30) + timedelta(days=value)).date()
    return value  # type: ignore[return-value]


def _values(snap: Snapshot, name: str) -> list[list[str]]:
    """Cells as text; dates and times as serial numbers to the minute, so a date read
    as a date, a datetime or a serial number compares equal."""
    from sheetpipe.core.sheet.cells import text

    out = []
    for row in snap.find(name).rows:
        texts = [text(_serial(v)) for v in row]
        while texts and texts[-1] == "":
            texts.pop()
        out.append(texts)
    return out


def _serial(value: object) -> object:
    if isinstance(value, date):
        moment = (
            value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
        )
        value = (moment - datetime(1899, 12, 30)) / timedelta(days=1)
    if isinstance(value, float):
        return round(value * 1440) / 1440 if value != int(value) else int(value)
    return value


def dropdown_choices(snap, tab: str, col: int) -> tuple[str, ...]:
    """The choices a person sees in the dropdown on `col`: the cells of its source range."""
    (spec,) = [f for f in snap.find(tab).formats if isinstance(f, ListDropdown) and f.col == col]
    source = snap.find(spec.source_tab).rows
    return tuple(str(source[r][spec.source_col - 1]) for r in range(1, 1 + spec.count))
