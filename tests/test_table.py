"""Table: a tab's columns, read lazily and once each."""

from sheetpipe.core.table import read_table
from sheetpipe.model import Tab


def table(rows):
    return read_table(Tab("Deals", [["Deal", "Health", "Score"], *rows]))


def test_columns_by_case_folded_name_indexed_by_sheet_row():
    t = table([["A", "OK", 1], ["B", "Dead", 2]])
    assert list(t.get(" health ")) == ["OK", "Dead"]
    assert list(t.get("Health").index) == [2, 3]
    assert t.get("Health") is t.get("HEALTH"), "read once however often asked"
    assert t.get("Why").isna().all() and len(t.get("Why")) == 2, "a missing column is empty"


def test_a_short_row_reads_as_empty_cells():
    t = table([["A", "OK", 1], ["B"], []])  # Google leaves trailing empty cells out
    assert list(t.get("Score")) == [1, None, None]
    assert list(t.get("Deal")) == ["A", "B", None]


def test_a_tab_with_only_a_header_has_no_rows():
    assert list(table([]).get("Score")) == []
