"""A tab's rows as a pandas frame keyed by (case-folded) column name and sheet row."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from sheetpipe.core.cells import a1, norm
from sheetpipe.model import Problem, Tab


@dataclass
class Table:
    tab: Tab
    frame: pd.DataFrame  # object columns named by norm(header); index = 1-based sheet row
    cols: dict[str, int]  # norm(header) → 1-based column
    problems: list[Problem]

    @property
    def name(self) -> str:
        return self.tab.name

    def has(self, column: str) -> bool:
        return norm(column) in self.cols

    def get(self, column: str) -> pd.Series:
        """The column's cells, or all-None when the tab has no such column."""
        key = norm(column)
        if key in self.frame.columns:
            return self.frame[key]
        return pd.Series(None, index=self.frame.index, dtype=object)

    def where(self, row: int, column: str) -> str:
        return a1(self.tab.name, row, self.cols.get(norm(column), 1))

    @property
    def width(self) -> int:
        return len(self.tab.header)


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
    width = len(header)
    body = [_pad(row, width) for row in tab.rows[1:]]
    frame = pd.DataFrame(body, columns=range(width), dtype=object) if body else None
    data = {
        key: (frame[i - 1] if frame is not None else pd.Series(dtype=object))
        for key, i in cols.items()
    }
    index = pd.RangeIndex(2, 2 + len(body))
    out = pd.DataFrame(data, dtype=object)
    out.index = index
    return Table(tab, out, cols, problems)


def _pad(row: list, width: int) -> list:
    if len(row) == width:
        return row
    return (list(row) + [None] * width)[:width]


def missing(table: Table, columns: Iterable[str]) -> list[str]:
    return [c for c in columns if not table.has(c)]
