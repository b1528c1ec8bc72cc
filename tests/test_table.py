"""Table: a tab's columns, read lazily and once each, or all in one pass (`whole`)."""

import pytest

from sheetpipe.core.sheet.table import read_table
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


def test_a_column_is_read_once_for_the_whole_cycle():
    t = table([[" Acme ", "OK", 1], ["beta", "Dead", "x"]], whole=True)
    column = t.column("deal")
    assert column is t.column(" Deal ")
    assert list(column.stripped()) == ["Acme", "beta"]
    assert column.stripped() is column.stripped(), "a reading is kept"
    assert list(t.column("Score").numbers().fillna(-1)) == [1.0, -1.0]
    assert t.column("Why").blank().all(), "a missing column reads as blank"


def test_some_rows_pick_their_part_of_a_whole_column_reading():
    import pandas as pd

    from sheetpipe.core.sheet.table import Rows

    t = table([["A", "OK", 1], ["B", "Dead", 2], ["C", "ok", 3]])
    rows = Rows(t, pd.Index([2, 4]))
    assert list(rows.pick(t.column("Health").norms())) == ["ok", "ok"]
    codes, texts = rows.pick(t.column("Health").codes())
    assert [texts[c] for c in codes] == ["ok", "ok"]
    assert list(rows.get("Deal")) == ["A", "C"]


@both
def test_a_tab_without_even_a_header_has_no_rows(whole):
    t = read_table(Tab("Deals", []), whole=whole)
    assert list(t.get("Score")) == []


@both
def test_a_repeated_header_is_reported_and_the_first_one_used(whole):
    tab = Tab("Deals", [["Deal", "Stage", "deal ", "", "Owner"], ["A", "Contact", "B", "x", "Ana"]])
    t = read_table(tab, whole=whole)
    assert list(t.get("Deal")) == ["A"]
    assert list(t.get("Owner")) == ["Ana"], "columns after the repeat and a blank one still read"
    assert t.cols == {"deal": 1, "stage": 2, "owner": 5}
    (problem,) = t.problems
    assert problem.where == "Deals!C1"
    assert problem.message == (
        'column "deal" appears twice; only the first one is used. Rename or delete the copy.'
    )
    assert problem.level == "warning"


def test_a_renamed_column_and_its_contract_name_together_are_one_column_twice():
    tab = Tab("Deals", [["Opportunity", "Deal", "Stage"], ["A", "B", "Contact"]])
    t = read_table(tab, {"Deal": "Opportunity"})
    assert list(t.get("Deal")) == ["A"]
    assert [p.where for p in t.problems] == ["Deals!B1"]
