"""Table: a tab's columns, read lazily and once each, or all in one pass (`whole`)."""

import pytest

from sheetpipe.core.table import read_table
from sheetpipe.model import Tab

both = pytest.mark.parametrize("whole", [False, True], ids=["by-column", "whole"])


def table(rows, whole=False):
    return read_table(Tab("Deals", [["Deal", "Health", "Score"], *rows]), whole=whole)


@both
def test_columns_by_case_folded_name_indexed_by_sheet_row(whole):
    t = table([["A", "OK", 1], ["B", "Dead", 2]], whole)
    assert list(t.get(" health ")) == ["OK", "Dead"]
    assert list(t.get("Health").index) == [2, 3]
    assert t.get("Health") is t.get("HEALTH"), "read once however often asked"
    assert t.get("Why").isna().all() and len(t.get("Why")) == 2, "a missing column is empty"


@both
def test_a_short_row_reads_as_empty_cells(whole):
    t = table([["A", "OK", 1], ["B"], []], whole)  # Google leaves trailing empty cells out
    assert list(t.get("Score")) == [1, None, None]
    assert list(t.get("Deal")) == ["A", "B", None]
    assert list(t.get("Health")) == ["OK", None, None]


@both
def test_cells_beyond_the_header_do_not_shift_columns(whole):
    t = table([["A", "OK", 1, "note"], ["B", "Dead", 2]], whole)
    assert list(t.get("Score")) == [1, 2]
    assert list(t.get("Deal")) == ["A", "B"]


@both
def test_a_tab_with_only_a_header_has_no_rows(whole):
    assert list(table([], whole).get("Score")) == []
