"""A tab's columns as pandas Series keyed by (case-folded) column name and sheet row."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain, islice
from operator import itemgetter
from typing import TypeVar

import numpy as np
import pandas as pd

from sheetpipe.core.sheet.cells import Column, a1, norm
from sheetpipe.model import DateCells, Problem, Snapshot, Tab


@dataclass
class Table:
    """A tab whose columns become pandas Series only when asked for, once each.

    A cycle reads every tab but needs few of most tabs' columns (Tasks: only Task ID),
    so building whole frames would be most of a cycle's cost.
    """

    tab: Tab
    cols: dict[str, int]  # norm(header) → 1-based column
    problems: list[Problem]
    # Read every column in one pass along the rows: for a tab whose columns are nearly all
    # read (a pipeline tab), this costs a third of fetching them one by one.
    whole: bool = False
    date_cells: DateCells = "date"  # how the backend hands date cells over (Snapshot)
    _cache: dict[str, pd.Series] = field(default_factory=dict, repr=False)
    _columns_read: dict[str, Column] = field(default_factory=dict, repr=False)

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
            count = self._count
            if self.whole:
                values = self._columns[i]
            elif self._widths[0] > i:  # the common case: no row ends before this column
                # Straight into the array: each cell is touched once, and at 100,000s of
                # rows scattered in memory, touching a cell is what a column costs.
                values = np.fromiter(map(itemgetter(i), self._body()), dtype=object, count=count)
            else:
                cells = (row[i] if i < len(row) else None for row in self._body())
                values = np.fromiter(cells, dtype=object, count=count)
            self._cache[key] = pd.Series(values, index=self.index, dtype=object, copy=False)
        return self._cache[key]

    @property
    def _count(self) -> int:
        return max(len(self.tab.rows) - 1, 0)

    def _body(self) -> Iterator[list]:
        # Not rows[1:]: copying the list would touch every row once more.
        return islice(self.tab.rows, 1, None)

    @cached_property
    def _widths(self) -> tuple[int, int]:
        """The shortest and the longest row below the header (Google trims rows)."""
        lengths = np.fromiter(map(len, self._body()), dtype=np.intp, count=self._count)
        return (int(lengths.min()), int(lengths.max())) if len(lengths) else (0, 0)

    @cached_property
    def _columns(self) -> np.ndarray:
        """Every column, one contiguous array each: shape (columns, rows), as wide as
        the header or the longest row, whichever is wider.

        Rows are 100,000s of lists scattered in memory. Reading a column visits each of
        them (two cache misses per cell); reading them all along the rows visits each
        list once and walks its cells in order, then the transposing copy is a strided
        pass over one compact array of pointers.
        """
        count = self._count
        narrowest, widest = self._widths
        width = max(self.width, widest)
        rows: Iterable[list] = self._body()
        if narrowest < width:  # short rows get padded
            pad = [None] * width
            rows = (row if len(row) == width else [*row, *pad[len(row) :]] for row in rows)
        flat = np.fromiter(chain.from_iterable(rows), dtype=object, count=count * width)
        return flat.reshape(count, width).T.copy()

    def column(self, column: str) -> Column:
        """The column with its readings (blank, number, text, ...), made once per cycle
        however often and wherever asked."""
        key = norm(column)
        if key not in self._columns_read:
            self._columns_read[key] = Column(self.get(column), self.serial_numbers)
        return self._columns_read[key]

    @property
    def serial_numbers(self) -> bool:
        """Whether a number in a date column is a date (see Column)."""
        return self.date_cells == "serial"

    def where(self, row: int, column: str) -> str:
        return a1(self.tab.name, row, self.cols.get(norm(column), 1))

    @property
    def width(self) -> int:
        return len(self.tab.header)


Reading = TypeVar("Reading", pd.Series, tuple[np.ndarray, list[str]])


class Rows:
    """Some rows of a Table, read column by column (what scoring and health look at)."""

    def __init__(self, table: Table, index: pd.Index):
        self.table = table
        self.index = index
        self._all = index.equals(table.index)

    def get(self, column: str, default: object = None) -> pd.Series | None:
        if not self.table.has(column):
            return default  # type: ignore[return-value]
        return self.pick(self.table.get(column))

    def pick(self, reading: Reading) -> Reading:
        """These rows of a whole column's reading (a Series, or codes and their texts)."""
        if self._all:
            return reading
        if isinstance(reading, tuple):
            codes, texts = reading
            return codes[self._positions], texts  # type: ignore[return-value]
        return reading[self.index]  # type: ignore[return-value]

    @cached_property
    def _positions(self) -> np.ndarray:
        return self.table.index.get_indexer(self.index)

    @property
    def columns(self) -> list[str]:
        return list(self.table.cols)


def read_table(
    tab: Tab,
    renames: Mapping[str, str] | None = None,
    whole: bool = False,
    date_cells: DateCells = "date",
) -> Table:
    """`renames` maps contract column names to the names this sheet uses for them;
    `whole` reads every column in one pass (see Table.whole)."""
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
    return Table(tab, cols, problems, whole=whole, date_cells=date_cells)


def table_of(snapshot: Snapshot, name: str) -> Table | None:
    """A tab of the snapshot as a Table, its columns by their own headers; None when the
    snapshot has no such tab."""
    tab = snapshot.find(name)
    return read_table(tab, date_cells=snapshot.date_cells) if tab else None


def added_columns(tab: str, width: int, headers: Iterable[str]) -> list[tuple[str, int, str]]:
    """(tab, column, header) for each of `headers` added at the right end of a tab
    `width` columns wide, in order: the one way sheetpipe adds a column a tab lacks."""
    return [(tab, width + i, header) for i, header in enumerate(headers, start=1)]


def put(row: list[object], col: int, value: object) -> None:
    """Set a row's 1-based column, lengthening the row as needed."""
    row.extend([None] * (col - len(row)))
    row[col - 1] = value


def first_new_row(tab: Tab | None) -> int:
    """Where rows appended to a tab begin (below its header when it is to be made)."""
    return len(tab.rows) + 1 if tab else 2
