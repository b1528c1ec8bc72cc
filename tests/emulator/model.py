"""What the emulator stores: spreadsheets of sheets of cells, copied on write.

A request changes a private copy of its spreadsheet, and the copy replaces the original
only when every part of the request succeeded: Google's batchUpdate is all or nothing.
Rows are shared between copies until one is written, so a copy costs little however
big the sheet.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace


@dataclass(frozen=True, slots=True)
class Cell:
    uev: dict | None = None  # userEnteredValue
    uef: dict | None = None  # userEnteredFormat (numberFormat, backgroundColor, …)
    note: str | None = None
    dv: dict | None = None  # dataValidation

    @property
    def empty(self) -> bool:
        return self.uev is None and self.uef is None and self.note is None and self.dv is None

    def with_(self, **kw) -> Cell | None:
        new = replace(self, **kw)
        return None if new.empty else new

    @property
    def number_format(self) -> dict | None:
        return (self.uef or {}).get("numberFormat")


EMPTY = Cell()


@dataclass
class Sheet:
    props: dict  # SheetProperties as Google returns them
    rows: list[list[Cell | None]] = field(default_factory=list)
    conditional: list[dict] = field(default_factory=list)
    col_pixels: dict[int, int] = field(default_factory=dict)  # column index → pixelSize set
    basic_filter: dict | None = None
    filter_views: list[dict] = field(default_factory=list)
    _mine: set[int] = field(default_factory=set)  # rows this copy may write in place

    @property
    def id(self) -> int:
        return self.props["sheetId"]

    @property
    def title(self) -> str:
        return self.props["title"]

    @property
    def grid(self) -> dict:
        return self.props.setdefault("gridProperties", {"rowCount": 1000, "columnCount": 26})

    @property
    def row_count(self) -> int:
        return self.grid.get("rowCount", 0)

    @property
    def col_count(self) -> int:
        return self.grid.get("columnCount", 0)

    def clone(self) -> Sheet:
        return Sheet(
            copy.deepcopy(self.props),
            self.rows[:],
            copy.deepcopy(self.conditional),
            dict(self.col_pixels),
            copy.deepcopy(self.basic_filter),
            copy.deepcopy(self.filter_views),
        )

    def cell(self, r: int, c: int) -> Cell:
        if r < len(self.rows):
            row = self.rows[r]
            if c < len(row) and row[c] is not None:
                return row[c]
        return EMPTY

    def put(self, r: int, c: int, cell: Cell | None) -> None:
        if cell is None and (r >= len(self.rows) or c >= len(self.rows[r])):
            return
        while len(self.rows) <= r:
            self.rows.append([])
        row = self._writable(r)
        if len(row) <= c:
            row.extend([None] * (c + 1 - len(row)))
        row[c] = cell

    def _writable(self, r: int) -> list[Cell | None]:
        if r not in self._mine:
            self.rows[r] = self.rows[r][:]
            self._mine.add(r)
        return self.rows[r]

    def used_extent(self) -> tuple[int, int]:
        """(rows, columns) up to the last cell holding a value."""
        last_row, last_col = 0, 0
        for r, row in enumerate(self.rows):
            for c in range(len(row) - 1, -1, -1):
                if row[c] is not None and row[c].uev is not None:
                    last_row = r + 1
                    last_col = max(last_col, c + 1)
                    break
        return last_row, last_col

    # Dimension changes rebuild the row lists; every row becomes this copy's own.
    def insert_rows(self, at: int, n: int) -> None:
        if at < len(self.rows):
            self.rows[at:at] = [[] for _ in range(n)]
            self._mine = set(range(len(self.rows)))
        self.grid["rowCount"] = self.row_count + n

    def delete_rows(self, start: int, end: int) -> None:
        del self.rows[start:end]
        self._mine = set(range(len(self.rows)))
        self.grid["rowCount"] = self.row_count - (end - start)

    def insert_cols(self, at: int, n: int) -> None:
        self.rows = [
            row[:at] + [None] * n + row[at:] if len(row) > at else row[:] for row in self.rows
        ]
        self._mine = set(range(len(self.rows)))
        self.grid["columnCount"] = self.col_count + n
        self.col_pixels = {c + n if c >= at else c: px for c, px in self.col_pixels.items()}

    def delete_cols(self, start: int, end: int) -> None:
        self.rows = [row[:start] + row[end:] for row in self.rows]
        self._mine = set(range(len(self.rows)))
        self.grid["columnCount"] = self.col_count - (end - start)
        self.col_pixels = {
            c - (end - start) if c >= end else c: px
            for c, px in self.col_pixels.items()
            if not start <= c < end
        }


@dataclass
class Spreadsheet:
    id: str
    props: dict
    sheets: list[Sheet]
    owner: str
    readers: set[str] = field(default_factory=set)
    created: str = ""
    modified: str = ""
    named_ranges: list[dict] = field(default_factory=list)

    def clone(self) -> Spreadsheet:
        return Spreadsheet(
            self.id,
            copy.deepcopy(self.props),
            [s.clone() for s in self.sheets],
            self.owner,
            set(self.readers),
            self.created,
            self.modified,
            copy.deepcopy(self.named_ranges),
        )

    def titles(self) -> list[str]:
        return [s.title for s in self.sheets]

    def by_title(self, title: str) -> Sheet | None:
        for sheet in self.sheets:
            if sheet.title == title:
                return sheet
        # Google matches sheet names in ranges case-insensitively.
        for sheet in self.sheets:
            if sheet.title.casefold() == title.casefold():
                return sheet
        return None

    def by_id(self, sheet_id: int) -> Sheet | None:
        for sheet in self.sheets:
            if sheet.id == sheet_id:
                return sheet
        return None

    def reindex(self) -> None:
        self.sheets.sort(key=lambda s: s.props["index"])
        for i, sheet in enumerate(self.sheets):
            sheet.props["index"] = i

    def can_read(self, user: str) -> bool:
        return user == self.owner or user in self.readers or "anyone" in self.readers
