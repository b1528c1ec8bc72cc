"""Table: a tab's columns read lazily, and the one-pass equality the diff relies on."""

import numpy as np
import pandas as pd

from sheetpipe.core.table import read_table
from sheetpipe.model import Tab


def table(rows):
    return read_table(Tab("Deals", [["Deal", "Health", "Score"], *rows]))


def test_equal_compares_each_rows_cell_with_the_value_for_it():
    t = table([["A", "OK", 1], ["B", "Dead", 2], ["C", "Hot", 3]])
    want = np.array(["OK", "Stalled", "Hot"], dtype=object)
    assert list(t.equal("Health", t.index, want)) == [True, False, True]
    some = pd.Index([3, 4])  # rows 3 and 4 only (row 2 has no Stage, say)
    assert list(t.equal("health", some, np.array(["Dead", "OK"], dtype=object))) == [True, False]
    assert list(t.at("Health", some)) == ["Dead", "Hot"]
    assert list(t.at("Health", some).index) == [3, 4]


def test_equal_declines_where_a_row_ends_early_or_the_column_is_missing():
    t = table([["A", "OK", 1], ["B"]])
    assert t.equal("Score", t.index, np.array([1, 2], dtype=object)) is None
    assert t.equal("Why", t.index, np.array(["", ""], dtype=object)) is None
    assert list(t.get("Score")) == [1, None]
