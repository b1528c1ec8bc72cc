"""The data that crosses the line between backends and the pure core.

A backend reads a `Snapshot` (every tab's cells as raw values), the core turns it into a
`ChangeSet`, and the backend applies that change set with its own native calls. Nothing
here knows about files, HTTP or pandas.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

Cell = Any  # str | int | float | bool | date | datetime | None
DateCells = Literal["date", "datetime", "serial"]
Row = list[Cell]


@dataclass(frozen=True)
class HealthColours:
    """Whole-row conditional colours keyed on the Health column (1-based columns)."""

    health_col: int
    last_col: int


@dataclass(frozen=True)
class ListDropdown:
    """A dropdown on one column from row 2 down, its choices the cells of a range on
    another tab: rows 2 to 1 + count of `source_col` on `source_tab` (the Lists tab).

    A range, not a literal list: an xlsx literal holds at most 255 characters and no
    comma, a range holds any stage name and any number of them, on both backends.
    """

    col: int
    source_tab: str
    source_col: int
    count: int


@dataclass(frozen=True)
class Checkbox:
    """A tick box on one column from row 2 down, where the backend has them (Google's
    boolean validation). Ticked is "Yes" and unticked "No", the words of the workbook's
    Yes/No dropdown, so Tasks reads alike on both backends and nothing is converted."""

    col: int
    ticked: str = "Yes"
    unticked: str = "No"


@dataclass(frozen=True)
class DueColours:
    """Whole-row conditional colours on Tasks: red while an open task's Due is past,
    amber on the day it is due. The sheet recomputes them, so they stay right between
    cycles (1-based columns)."""

    due_col: int
    done_col: int
    last_col: int


@dataclass(frozen=True)
class RepViews:
    """One saved filter view per rep on the Today tab, where the backend has them
    (Google): "Today: Ana Ruiz" shows the rows whose Owner (column `owner_col`) is hers,
    so each rep opens their own list."""

    owner_col: int
    owners: frozenset[str]


@dataclass(frozen=True)
class CellLink:
    """Text that opens a cell of the sheet when clicked: a Status problem's address.

    Written as plain text with a link (an xlsx internal hyperlink, a Google text link),
    never as a HYPERLINK formula: a tab's name is text people typed."""

    text: str
    tab: str
    cell: str  # the cell inside `tab`, as D7

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Shaded:
    """A cell of a tab sheetpipe rewrites whole, on a coloured background (an error in
    Status). Its value is written as any other; the fill is the backend's to apply."""

    value: str
    rgb: str  # as HEALTH_FILLS

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class FrozenHeader:
    """Row 1 stays visible while scrolling."""


FormatSpec = HealthColours | DueColours | ListDropdown | Checkbox | RepViews | FrozenHeader

# Health colours: light fills readable with black text, as people pick them in Sheets.
HEALTH_FILLS = {"Dead": "F4CCCC", "Stalled": "FCE5CD", "At risk": "FFF2CC", "Hot": "D9EAD3"}
ERROR_FILL = HEALTH_FILLS["Dead"]  # an error in Status: the red of a dead deal
# Tasks: an open task past its Due in the red of a dead deal, one due today in amber.
DUE_FILLS = {"overdue": HEALTH_FILLS["Dead"], "today": HEALTH_FILLS["Stalled"]}


@dataclass
class Tab:
    name: str
    rows: list[Row]  # rows[0] is the header; trailing empty rows are trimmed
    formats: frozenset[FormatSpec] = frozenset()

    @property
    def header(self) -> list[str]:
        """Row 1's names, trimmed; a number typed as a name reads as people see it."""
        return [_name(v) for v in (self.rows[0] if self.rows else [])]


def _name(cell: Cell) -> str:
    if cell is None or cell != cell:  # empty, or NaN
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def tab_key(name: str) -> str:
    """How tabs are matched by name: case-insensitively, ignoring surrounding spaces."""
    return name.strip().casefold()


@dataclass
class Snapshot:
    tabs: dict[str, Tab]
    source: str = ""  # the file or spreadsheet, for messages
    # How this backend hands a date cell over: a date (in memory), a datetime (xlsx,
    # as calamine reads it) or a serial day number (Google's UNFORMATTED_VALUE).
    date_cells: DateCells = "date"
    # Whether Done in Tasks is a checkbox (Google) rather than a Yes/No dropdown, and
    # whether Today gets a filter view per rep (Google): what the backend can hold.
    checkboxes: bool = False
    filter_views: bool = False

    def find(self, name: str) -> Tab | None:
        """A tab by name, matched case-insensitively and ignoring surrounding spaces."""
        want = tab_key(name)
        for tab in self.tabs.values():
            if tab_key(tab.name) == want:
                return tab
        return None


@dataclass(frozen=True)
class Problem:
    where: str  # 'Weights!D7', 'sheetpipe.toml [sheet] path', a tab name
    message: str
    level: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class ColumnWrite:
    """New values for some cells of one column; rows are 1-based sheet rows."""

    tab: str
    col: int
    name: str
    rows: list[int]
    values: list[Cell]


@dataclass
class ChangeSet:
    new_tabs: list[tuple[str, list[Row]]] = field(default_factory=list)
    new_columns: list[tuple[str, int, str]] = field(default_factory=list)  # tab, col, header
    writes: list[ColumnWrite] = field(default_factory=list)
    appends: list[tuple[str, int, list[Row]]] = field(default_factory=list)  # tab, first row
    formats: list[tuple[str, FormatSpec]] = field(default_factory=list)
    status: list[Row] | None = None  # the whole Status tab, rewritten
    # Other tabs sheetpipe owns whole (Today), rewritten when their content changes.
    rewrites: dict[str, list[Row]] = field(default_factory=dict)
    # Widths in characters of the columns this change set makes (new tabs, new columns):
    # set once, so a width a person picks later stays. See core/tabs/widths.py.
    widths: list[tuple[str, int, float]] = field(default_factory=list)  # tab, col, chars
    # Of those columns, the ones whose long text wraps onto more lines (Task, Why, Detail).
    wrapped: list[tuple[str, int]] = field(default_factory=list)  # tab, col
    # What each touched row held when read (ID, Deal), so a backend whose sheet can change
    # under it (Google) can refuse to write a value to a row that now holds another deal.
    expect: dict[str, dict[int, tuple[str, str]]] = field(default_factory=dict)
    expect_cols: dict[str, tuple[int, int]] = field(default_factory=dict)  # tab → (ID, Deal)

    @classmethod
    def merged(cls, parts: Iterable[ChangeSet]) -> ChangeSet:
        """One change set holding each of `parts`' changes, in order (each step of a
        cycle returns its own; the cycle applies them as one)."""
        out = cls()
        for part in parts:
            out.new_tabs += part.new_tabs
            out.new_columns += part.new_columns
            out.writes += part.writes
            out.appends += part.appends
            out.formats += part.formats
            out.rewrites.update(part.rewrites)
            out.widths += part.widths
            out.wrapped += part.wrapped
            for tab, rows in part.expect.items():
                out.expect.setdefault(tab, {}).update(rows)
            out.expect_cols.update(part.expect_cols)
            out.status = part.status if part.status is not None else out.status
        return out

    @property
    def cells_changed(self) -> int:
        return sum(len(w.rows) for w in self.writes)

    @property
    def rows_appended(self) -> int:
        return sum(len(rows) for _, _, rows in self.appends)

    def has_sheet_changes(self) -> bool:
        """Anything beyond the Status report."""
        return bool(
            self.new_tabs
            or self.new_columns
            or self.writes
            or self.appends
            or self.formats
            or self.rewrites
        )

    def is_empty(self) -> bool:
        return not self.has_sheet_changes() and self.status is None


@dataclass
class Found:
    """What a step of a cycle returns at the least: its own changes and problems (core
    steps never write into a change set or a list handed to them)."""

    changes: ChangeSet = field(default_factory=ChangeSet)
    problems: list[Problem] = field(default_factory=list)


Marked = TypeVar("Marked", CellLink, Shaded)


def marked_cells(rows: list[Row], kind: type[Marked]) -> dict[tuple[int, int], Marked]:
    """(row, column) → each cell of `kind` (CellLink, Shaded) in a tab rewritten whole,
    1-based, for the backend to link or fill."""
    return {
        (r, c): value
        for r, row in enumerate(rows, start=1)
        for c, value in enumerate(row, start=1)
        if isinstance(value, kind)
    }


def whole_tabs(changes: ChangeSet, status_tab: str) -> dict[str, list[Row]]:
    """The tabs a change set rewrites whole (Status, Today), by name."""
    found = dict(changes.rewrites)
    if changes.status is not None:
        found[status_tab] = changes.status
    return found


def same_slot(a: FormatSpec, b: FormatSpec) -> bool:
    """True when installing `b` replaces `a`: one colour set of a kind per tab, one
    validation (a dropdown or a checkbox) per column."""
    validations = (ListDropdown, Checkbox)
    if isinstance(a, validations) and isinstance(b, validations):
        return a.col == b.col
    return type(a) is type(b)
