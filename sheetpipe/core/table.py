"""A tab's columns as pandas Series keyed by (case-folded) column name and sheet row."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from operator import itemgetter

import numpy as np
import pandas as pd

from sheetpipe.core.cells import a1, norm
from sheetpipe.model import Problem, Tab


@dataclass
class Table:
    """A tab whose columns become pandas Series only when asked for, once each.

    A cycle reads every tab but needs few of most tabs' columns (Tasks: only Task ID),
    so building whole frames would be most of a cycle's cost.
    """

    tab: Tab
    cols: dict[str, int]  # norm(header) → 1-based column
    problems: list[Problem]
    _cache: dict[str, pd.Series] = field(default_factory=dict, repr=False)
    _converted: dict[tuple, pd.Series] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.tab.name

    @property
    def index(self) -> pd.RangeIndex:
        """Sheet row numbers of the rows below the header."""
        return pd.RangeIndex(2, 1 + max(len(self.tab.rows), 1))

    def has(self, column: str) -> bool:
        return norm(column) in self.cols

    def get(self, column: str) -> pd.Series:
        """The column's cells; all-None when the tab has no such column."""
        key = norm(column)
        if key not in self.cols:
            return pd.Series(None, index=self.index, dtype=object)
        if key not in self._cache:
            i = self.cols[key] - 1
            body = self.tab.rows[1:]
            if self._narrowest > i:  # the common case: no row ends before this column
                # Straight into the array: each cell is touched once, and at 100,000s of
                # rows scattered in memory, touching a cell is what a column costs.
                values = np.fromiter(map(itemgetter(i), body), dtype=object, count=len(body))
            else:
                cells = (row[i] if i < len(row) else None for row in body)
                values = np.fromiter(cells, dtype=object, count=len(body))
            self._cache[key] = pd.Series(values, index=self.index, dtype=object, copy=False)
        return self._cache[key]

    @cached_property
    def _narrowest(self) -> int:
        return min(map(len, self.tab.rows[1:]), default=0)

    def converted(self, column: str, how: Callable[[pd.Series], pd.Series]) -> pd.Series:
        """A whole column converted by a cells helper, once per cycle however often asked."""
        key = (norm(column), how)
        if key not in self._converted:
            self._converted[key] = how(self.get(column))
        return self._converted[key]

    def where(self, row: int, column: str) -> str:
        return a1(self.tab.name, row, self.cols.get(norm(column), 1))

    @property
    def width(self) -> int:
        return len(self.tab.header)


class Rows:
    """Some rows of a Table, read column by column (what scoring and health look at)."""

    def __init__(self, table: Table, index: pd.Index):
        self.table = table
        self.index = index
        self._all = index.equals(table.index)

    def get(self, column: str, default: object = None) -> pd.Series | None:
        if not self.table.has(column):
            return default  # type: ignore[return-value]
        values = self.table.get(column)
        return values if self._all else values[self.index]

    @property
    def columns(self) -> list[str]:
        return list(self.table.cols)


def read_table(tab: Tab, renames: Mapping[str, str] | None = None) -> Table:
    """`renames` maps contract column names to the names this sheet uses for them."""
    header = tab.header
    alias = {norm(sheet): norm(contract) for contract, sheet in (renames or {}).items()}
    cols: dict[str, int] = {}
    problems = []
    for i, name in enumerate(header, start=1):
        key = alias.get(norm(name), norm(name))
        if not key:
            continue
        if key in cols:
            problems.append(
                Problem(
                    a1(tab.name, 1, i),
                    f'column "{name}" appears twice; only the first one is used. '
                    "Rename or delete the copy.",
                    "warning",
                )
            )
            continue
        cols[key] = i
    return Table(tab, cols, problems)
