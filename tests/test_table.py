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


def test_equal_reads_a_short_row_as_empty_and_declines_a_missing_column():
    t = table([["A", "OK", 1], ["B"]])  # Google leaves a row's trailing empty cells out
    assert list(t.at("Score", pd.Index([3, 2]))) == [None, 1]
    assert list(t.equal("Score", t.index, np.array([1, None], dtype=object))) == [True, True]
    assert list(t.equal("Score", t.index, np.array([1, 2], dtype=object))) == [True, False]
    assert t.equal("Why", t.index, np.array(["", ""], dtype=object)) is None
    assert list(t.get("Score")) == [1, None]
    assert list(t.at("Score", pd.Index([3]))) == [None]
