"""Column widths for what sheetpipe makes (core/tabs/widths.py), exhaustively on small inputs."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from sheetpipe.core.tabs.widths import (
    DATE_CHARS,
    DATETIME_CHARS,
    FILTER_BUTTON,
    NARROWEST,
    SAMPLE,
    WIDEST,
    plan_widths,
    shown_elsewhere,
    tab_widths,
    width,
)
from sheetpipe.model import ChangeSet, ColumnWrite


@pytest.mark.parametrize(
    ("header", "values", "chars"),
    [
        ("Score", [5, 100], len("Score") + FILTER_BUTTON + 1),  # the header is the widest
        ("A", [], NARROWEST),  # never narrower than a few characters
        ("Notes", ["x" * 30], 31),  # the longest value, and a character of padding
        ("Notes", ["x" * 500], WIDEST),  # never wider than the widest
        ("Since", [date(2026, 3, 4)], DATE_CHARS + 1),
        ("Since", [datetime(2026, 3, 4)], DATE_CHARS + 1),  # midnight shows as a date
        ("Since", [datetime(2026, 3, 4, 9, 30)], DATETIME_CHARS + 1),
        ("Done", [True, False], len("Done") + FILTER_BUTTON + 1),
        ("Value", [None, 1234567.5], 12 + 1),  # known to be at least 12 wide
        ("Amount", [None, 1234567.5], len("1234567.5") + 1),
        ("ID", [], 9 + 1),  # known before there is any: IDs like D-00001
        ("In stage since", [], len("In stage since") + FILTER_BUTTON + 1),
        (" why ", [], 40 + 1),  # matched as columns are: trimmed, any case
        ("Why", ["x" * 45], 46),
    ],
)
def test_width_fits_header_and_values(header, values, chars):
    assert width(header, values) == chars


def test_only_the_first_values_are_measured():
    values = ["x"] * SAMPLE + ["y" * 40]
    assert width("Notes", values) == len("Notes") + FILTER_BUTTON + 1


def test_a_tab_gets_a_width_per_column_even_where_a_row_is_longer_than_the_header():
    rows = [["Deal", "Stage"], ["Acme – a long deal name", "Discovery", "extra cell"]]
    assert tab_widths(rows) == {1: 36 + 1, 2: 10, 3: 11}  # deal names are long
    assert tab_widths([]) == {}


def test_plan_widths_covers_new_tabs_their_appended_rows_and_new_columns_only():
    changes = ChangeSet(
        new_tabs=[("Tasks", [["Task", "Due"]]), ("Status", [["Item", "Value", "Detail"]])],
        new_columns=[("Deals", 9, "Score"), ("Tasks", 3, "Extra")],
        writes=[
            ColumnWrite("Deals", 9, "Score", [2, 3], [7, 1234567890123]),
            ColumnWrite("Deals", 2, "Stage", [2], ["an existing column: never sized"]),
        ],
        appends=[("tasks", 2, [["Call Acme back about the renewal", date(2026, 3, 4)]])],
        status=[["Item", "Value", "Detail"], ["Last run", "x" * 30, ""]],
    )
    changes = plan_widths(changes, "Status")
    got = {(tab, col): chars for tab, col, chars in changes.widths}
    assert got == {
        ("Tasks", 1): 40 + 1,  # at least this wide for task text, and the row fits in it
        ("Tasks", 2): DATE_CHARS + 1,
        ("Status", 1): 24 + 1,
        ("Status", 2): 31,  # the report's own rows count
        ("Status", 3): 60,
        ("Deals", 9): 14,  # the longest value written into the new column
    }, "no width for Tasks' new column (its tab is new) nor for Deals' Stage"


def test_a_change_set_that_makes_nothing_sets_no_width():
    changes = ChangeSet(writes=[ColumnWrite("Deals", 2, "Stage", [2], ["Won"])])
    changes = plan_widths(changes, "Status")
    assert changes.widths == []


def test_every_append_and_write_of_a_cycle_counts():
    changes = ChangeSet(
        new_tabs=[("History", [["When"]])],
        new_columns=[("Deals", 9, "A rather long column header")],
        writes=[
            ColumnWrite("Deals", 9, "x", [2], ["x" * 40]),
            ColumnWrite("Deals", 9, "x", [3], ["y"]),
        ],
        appends=[("History", 2, [["x" * 30]]), ("History", 3, [["short"]])],
    )
    changes = plan_widths(changes, "Status")
    got = {(tab, col): chars for tab, col, chars in changes.widths}
    assert got == {("History", 1): 31, ("Deals", 9): 41}
    header_only = ChangeSet(new_columns=[("Deals", 9, "A rather long column header")])
    header_only = plan_widths(header_only, "Status")
    assert header_only.widths == [("Deals", 9, len("A rather long column header") + 4)]


def test_a_tab_made_before_its_rows_fits_the_widest_deal_name_of_the_pipelines():
    """Tasks and History are made at `init`, empty: their Deal column still shows the
    pipelines' names whole (all of them measured, not a sample), within WIDEST."""
    long_name = "Genco Pura Olive Oil Company – GTX Plus Basic #44"  # 49 characters
    deals = [["Deal", "Stage"], *[[f"Deal {i}", "Won"] for i in range(SAMPLE + 5)], [long_name]]
    customers = [["deal", "Stage"], ["Short", "Won"]]
    shown = shown_elsewhere([deals, customers, [["Name"]]])
    assert shown == {"deal": len(long_name)}
    assert shown_elsewhere([[], [["Deal"]]]) == {"deal": 0}, "no tab's rows, no name"
    assert shown_elsewhere([[["Deal"], ["Only one"]]]) == {"deal": len("Only one")}
    nothing = ChangeSet(new_tabs=[("Notes", [])])
    nothing = plan_widths(nothing, "Status")
    assert nothing.widths == [] and nothing.wrapped == [], "a tab made without rows: no widths"
    tasks = [["Task", "Deal", "Due"]]
    assert tab_widths(tasks, shown) == {1: 40 + 1, 2: len(long_name) + 1, 3: 10 + 1}
    assert tab_widths(tasks) == {1: 41, 2: 37, 3: 11}
    assert tab_widths(tasks, {"deal": 500})[2] == WIDEST
    changes = ChangeSet(new_tabs=[("Tasks", tasks)])
    changes = plan_widths(changes, "Status", shown)
    assert ("Tasks", 2, len(long_name) + 1) in changes.widths


def test_sentences_wrap_in_the_columns_sheetpipe_makes_and_nowhere_else():
    changes = ChangeSet(
        new_tabs=[("Tasks", [["Task", "Deal", "Due"]])],
        new_columns=[("Deals", 9, "Why"), ("Deals", 10, "Score"), ("Notes", 2, "Detail")],
    )
    changes = plan_widths(changes, "Status")
    assert changes.wrapped == [("Tasks", 1), ("Notes", 2)]
