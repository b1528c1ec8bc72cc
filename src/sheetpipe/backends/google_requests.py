"""A ChangeSet as one Sheets API batchUpdate body: pure functions, no I/O.

Values are typed (`updateCells` with stringValue, numberValue, boolValue), so text that
looks like a formula is stored as text whatever it says. Dates are serial numbers with a
date format, as Sheets keeps them.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import singledispatch
from typing import Any

from sheetpipe.colours import colour_rules, due_colours, is_due_rule
from sheetpipe.core.sheet.cells import a1_range, col_index, parse_range, serial
from sheetpipe.model import (
    HEALTH_FILLS,
    CellLink,
    ChangeSet,
    Checkbox,
    ColumnWrite,
    DueColours,
    FormatSpec,
    FrozenHeader,
    HealthColours,
    ListDropdown,
    RepViews,
    Row,
    Shaded,
    tab_key,
    whole_tabs,
)

DATE_FORMAT = {"type": "DATE", "pattern": "yyyy-mm-dd"}
# A tab rewritten whole: its values, their date formats and links (stale ones cleared).
WHOLE_FIELDS = (
    "userEnteredValue,userEnteredFormat.numberFormat,userEnteredFormat.textFormat.link,"
    "userEnteredFormat.backgroundColor"
)
PIXELS_PER_CHAR, PADDING = 7, 5  # Sheets' default font, Arial 10: ~7 px a character
DATETIME_FORMAT = {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm"}
VALUE_FIELDS = "userEnteredValue,userEnteredFormat.numberFormat"
_HEALTH_RULE = re.compile(r'^=\$([A-Z]+)2="([^"]*)"$')


@dataclass
class SheetInfo:
    """What the cached metadata says about one tab."""

    sheet_id: int
    title: str
    rows: int
    cols: int
    frozen_rows: int = 0
    conditional: list[dict] = field(default_factory=list)
    validations: dict[int, ListDropdown | Checkbox] = field(default_factory=dict)  # by column
    filter_views: list[dict] = field(default_factory=list)

    def formats(self) -> frozenset[FormatSpec]:
        found: set[FormatSpec] = set()
        if self.frozen_rows >= 1:
            found.add(FrozenHeader())
        health = health_rules(self.conditional)
        if health is not None:
            found.add(health)
        due = _due_rules(self.conditional)
        if due is not None:
            found.add(due)
        found |= set(self.validations.values())
        views = rep_views(self)
        if views is not None:
            found.add(views)
        return frozenset(found)


def _view_title(info: SheetInfo, rep: str) -> str:
    return f"{info.title}: {rep}"


def _rep_of(info: SheetInfo, view: dict) -> tuple[int, str] | None:
    """(Owner column, rep) of a filter view sheetpipe made on this tab, else None: its
    title is "<tab>: <rep>" and it filters one column for exactly that name."""
    title, prefix = view.get("title", ""), _view_title(info, "")
    specs = view.get("filterSpecs") or []
    if not title.startswith(prefix) or len(specs) != 1:
        return None
    rep = title.removeprefix(prefix)
    condition = specs[0].get("filterCriteria", {}).get("condition", {})
    values = [v.get("userEnteredValue") for v in condition.get("values") or []]
    if condition.get("type") != "TEXT_EQ" or values != [rep]:
        return None
    return specs[0].get("columnIndex", 0) + 1, rep


def rep_views(info: SheetInfo) -> RepViews | None:
    """The rep views sheetpipe made on this tab, if any (all on one column)."""
    found = [f for f in (_rep_of(info, v) for v in info.filter_views) if f]
    cols = {col for col, _ in found}
    return RepViews(cols.pop(), frozenset(rep for _, rep in found)) if len(cols) == 1 else None


def _rep_view_requests(info: SheetInfo, spec: RepViews) -> list[dict]:
    """Views of reps no longer listed (or on another column) go; missing ones are added."""
    out: list[dict] = []
    kept = set()
    for view in info.filter_views:
        found = _rep_of(info, view)
        if found is None:
            continue  # a person's view
        col, rep = found
        if col == spec.owner_col and rep in spec.owners:
            kept.add(rep)
        else:
            out.append({"deleteFilterView": {"filterId": view["filterViewId"]}})
    for rep in sorted(spec.owners - kept):
        condition = {"type": "TEXT_EQ", "values": [{"userEnteredValue": rep}]}
        view = {
            "filterViewId": random.randrange(1, 2**31 - 1),  # known, so the cache can keep it
            "title": _view_title(info, rep),
            "range": {"sheetId": info.sheet_id},
            "filterSpecs": [
                {"columnIndex": spec.owner_col - 1, "filterCriteria": {"condition": condition}}
            ],
        }
        out.append({"addFilterView": {"filter": view}})
    return out


def source_range(spec: ListDropdown) -> str:
    return a1_range(spec.source_tab, spec.source_col, 2, 1 + spec.count)


def validation(col: int, condition: dict) -> ListDropdown | Checkbox | None:
    """The dropdown a validation's condition is, when it lists a range from row 2, or
    the checkbox it is."""
    if condition.get("type") == "BOOLEAN":
        words = [v.get("userEnteredValue", "") for v in condition.get("values") or []]
        return Checkbox(col, *words) if len(words) == 2 else None
    if condition.get("type") != "ONE_OF_RANGE":
        return None
    source = parse_range((condition.get("values") or [{}])[0].get("userEnteredValue", ""))
    if source is None or source[2] != 2:
        return None
    tab, source_col, _, last = source
    return ListDropdown(col, tab, source_col, last - 1)


def quote(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def cell_data(value: Any) -> dict:
    """One cell's CellData; text is always stringValue, never parsed as a formula."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return {}
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, int | float):
        return {"userEnteredValue": {"numberValue": value}}
    if isinstance(value, datetime):
        return {
            "userEnteredValue": {"numberValue": serial(value)},
            "userEnteredFormat": {"numberFormat": DATETIME_FORMAT},
        }
    if isinstance(value, date):
        return {
            "userEnteredValue": {
                "numberValue": serial(datetime(value.year, value.month, value.day))
            },
            "userEnteredFormat": {"numberFormat": DATE_FORMAT},
        }
    return {"userEnteredValue": {"stringValue": str(value)}}


def _fields(values: list[Any]) -> str:
    """Touch a cell's number format only when writing a date: people format the rest."""
    if any(isinstance(v, date) for v in values):
        return VALUE_FIELDS
    return "userEnteredValue"


def _rows(values: list[Row]) -> list[dict]:
    return [{"values": [cell_data(v) for v in row]} for row in values]


def runs(rows: list[int]) -> list[tuple[int, int]]:
    """(position in `rows`, length) of each run of consecutive sheet rows."""
    out: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i] != rows[i - 1] + 1:
            out.append((start, i - start))
            start = i
    return out


def health_rules(conditional: list[dict]) -> HealthColours | None:
    """The Health colours sheetpipe installed, read back from a tab's rules."""
    cols: set[int] = set()
    ends: set[int] = set()
    seen: set[str] = set()
    for rule in conditional:
        found = _health_rule(rule)
        if found:
            col, health, end = found
            cols.add(col)
            ends.add(end)
            seen.add(health)
    if seen == set(HEALTH_FILLS) and len(cols) == 1 and len(ends) == 1:
        return HealthColours(cols.pop(), ends.pop())
    return None


def _health_rule(rule: dict) -> tuple[int, str, int] | None:
    m = _HEALTH_RULE.match(_custom_formula(rule))
    if not m or m.group(2) not in HEALTH_FILLS:
        return None
    ranges = rule.get("ranges") or [{}]
    return col_index(m.group(1)), m.group(2), ranges[0].get("endColumnIndex", 0)


def _due_rules(conditional: list[dict]) -> DueColours | None:
    """The Due colours sheetpipe installed, read back from a tab's rules over A2:…"""
    formulas, ends = [], set()
    for rule in conditional:
        formula = _custom_formula(rule)
        ranges = rule.get("ranges") or [{}]
        if is_due_rule(formula) and ranges[0].get("startColumnIndex", 0) == 0:
            formulas.append(formula)
            ends.add(ranges[0].get("endColumnIndex", 0))
    return due_colours(formulas, ends.pop()) if len(ends) == 1 else None


def _custom_formula(rule: dict) -> str:
    condition = rule.get("booleanRule", {}).get("condition", {})
    if condition.get("type") != "CUSTOM_FORMULA":
        return ""
    return (condition.get("values") or [{}])[0].get("userEnteredValue", "")


def _is_ours(spec: HealthColours | DueColours, rule: dict) -> bool:
    if isinstance(spec, HealthColours):
        return _health_rule(rule) is not None
    return is_due_rule(_custom_formula(rule))


def _colour(hex_rgb: str) -> dict:
    return {
        k: int(hex_rgb[i : i + 2], 16) / 255 for k, i in (("red", 0), ("green", 2), ("blue", 4))
    }


@singledispatch
def format_requests(spec: FormatSpec, info: SheetInfo) -> list[dict]:
    """The requests that install `spec` on a tab: one function per format, found by the
    format's type (a new format registers its own)."""
    raise TypeError(f"no Google requests for {spec!r}")


@format_requests.register
def _(spec: FrozenHeader, info: SheetInfo) -> list[dict]:
    return [
        {
            "updateSheetProperties": {
                "properties": {"sheetId": info.sheet_id, "gridProperties": {"frozenRowCount": 1}},
                "fields": "gridProperties.frozenRowCount",
            }
        }
    ]


@format_requests.register
def _(spec: ListDropdown, info: SheetInfo) -> list[dict]:
    condition = {"type": "ONE_OF_RANGE", "values": [{"userEnteredValue": "=" + source_range(spec)}]}
    rule = {"condition": condition, "showCustomUi": True}
    return [{"setDataValidation": {"range": _column_from_row_2(info, spec.col), "rule": rule}}]


@format_requests.register
def _(spec: RepViews, info: SheetInfo) -> list[dict]:
    return _rep_view_requests(info, spec)


@format_requests.register
def _(spec: Checkbox, info: SheetInfo) -> list[dict]:
    condition = {
        "type": "BOOLEAN",
        "values": [{"userEnteredValue": spec.ticked}, {"userEnteredValue": spec.unticked}],
    }
    return [{"setDataValidation": {"range": _column_from_row_2(info, spec.col),
                                   "rule": {"condition": condition}}}]  # fmt: skip


@format_requests.register(HealthColours)
@format_requests.register(DueColours)
def _(spec: HealthColours | DueColours, info: SheetInfo) -> list[dict]:
    return _row_colours(info, spec)


def _column_from_row_2(info: SheetInfo, col: int) -> dict:
    return {
        "sheetId": info.sheet_id,
        "startRowIndex": 1,
        "startColumnIndex": col - 1,
        "endColumnIndex": col,
    }


def _row_colours(info: SheetInfo, spec: HealthColours | DueColours) -> list[dict]:
    """Remove the rules of this kind installed before (a column moved), then add one rule
    per colour over the whole rows, first in the tab's list."""
    out: list[dict] = [
        {"deleteConditionalFormatRule": {"sheetId": info.sheet_id, "index": i}}
        for i in reversed(range(len(info.conditional)))
        if _is_ours(spec, info.conditional[i])
    ]
    for i, (formula, fill) in enumerate(colour_rules(spec).items()):
        grid = {"sheetId": info.sheet_id, "startRowIndex": 1, "startColumnIndex": 0,
                "endColumnIndex": spec.last_col}  # fmt: skip
        condition = {"type": "CUSTOM_FORMULA", "values": [{"userEnteredValue": "=" + formula}]}
        rule = {
            "ranges": [grid],
            "booleanRule": {"condition": condition, "format": {"backgroundColor": _colour(fill)}},
        }
        out.append({"addConditionalFormatRule": {"index": i, "rule": rule}})
    return out


def build_requests(
    changes: ChangeSet,
    sheets: dict[str, SheetInfo],  # by case-folded title
    status_tab: str,
    extents: dict[str, tuple[int, int]],  # rows, columns each tab holds now, by key
    rng: random.Random | None = None,
) -> list[dict]:
    """The batchUpdate requests carrying a change set, in an order that works atomically:
    tabs and columns first, then values, appended rows, formats and Status.

    `sheets` is updated to what the spreadsheet holds once they are applied (new tabs,
    grid sizes, installed formats), so the caller's cached metadata stays true.
    """
    build = _Requests(sheets, rng or random.Random())
    for title, rows in changes.new_tabs:
        build.new_tab(title, rows, with_filter=tab_key(title) != tab_key(status_tab))
    for title, col, header in changes.new_columns:
        build.new_column(title, col, header)
    for write in changes.writes:
        build.write(write)
    for title, _first, rows in changes.appends:
        build.append(title, rows)
    for title, spec in changes.formats:
        build.format(title, spec)
    for title, rows in whole_tabs(changes, status_tab).items():
        build.rewrite(title, rows, extents.get(tab_key(title), (0, 0)))
    for title, col, chars in changes.widths:
        build.width(title, col, chars)
    for title, col in changes.wrapped:
        build.wrap(title, col)
    return build.requests


class _Requests:
    """The requests of one batchUpdate, and the tabs as they will be once it is applied."""

    def __init__(self, sheets: dict[str, SheetInfo], rng: random.Random):
        self.sheets = sheets
        self.rng = rng
        self.requests: list[dict] = []
        self.taken = {s.sheet_id for s in sheets.values()}

    def info(self, title: str) -> SheetInfo:
        return self.sheets[tab_key(title)]

    def add_sheet(self, title: str, rows: int, cols: int) -> SheetInfo:
        sheet_id = self.rng.randrange(1, 2**31 - 1)
        while sheet_id in self.taken:
            sheet_id = self.rng.randrange(1, 2**31 - 1)
        self.taken.add(sheet_id)
        new = SheetInfo(sheet_id, title, max(1000, rows), max(26, cols), frozen_rows=1)
        grid = {"rowCount": new.rows, "columnCount": new.cols, "frozenRowCount": 1}
        properties = {"sheetId": sheet_id, "title": title, "gridProperties": grid}
        self.requests.append({"addSheet": {"properties": properties}})
        self.sheets[tab_key(title)] = new
        return new

    def grow(self, target: SheetInfo, rows: int, cols: int) -> None:
        if cols > target.cols:
            self.requests.append(_append_dimension(target.sheet_id, "COLUMNS", cols - target.cols))
            target.cols = cols
        if rows > target.rows:
            self.requests.append(_append_dimension(target.sheet_id, "ROWS", rows - target.rows))
            target.rows = rows

    def new_tab(self, title: str, rows: list[Row], with_filter: bool) -> None:
        """A tab laid out as on xlsx: its header bold and frozen, with a filter."""
        if tab_key(title) in self.sheets:
            return
        width = max((len(r) for r in rows), default=1)
        new = self.add_sheet(title, len(rows), width)
        if not rows:
            return
        self.requests.append(_update_cells(new.sheet_id, 0, 0, rows))
        self.bold_header(new, width)
        if with_filter:
            self.requests.append(
                {"setBasicFilter": {"filter": {"range": {"sheetId": new.sheet_id}}}}
            )

    def bold_header(self, target: SheetInfo, width: int) -> None:
        header = {"sheetId": target.sheet_id, "startRowIndex": 0, "endRowIndex": 1,
                  "startColumnIndex": 0, "endColumnIndex": width}  # fmt: skip
        bold = {"userEnteredFormat": {"textFormat": {"bold": True}}}
        fields = "userEnteredFormat.textFormat.bold"
        self.requests.append({"repeatCell": {"range": header, "cell": bold, "fields": fields}})

    def width(self, title: str, col: int, chars: float) -> None:
        """A column's width: characters of the default font (Arial 10) in pixels."""
        span = {"sheetId": self.info(title).sheet_id, "dimension": "COLUMNS",
                "startIndex": col - 1, "endIndex": col}  # fmt: skip
        size = {"pixelSize": round(chars * PIXELS_PER_CHAR + PADDING)}
        self.requests.append(
            {
                "updateDimensionProperties": {
                    "range": span,
                    "properties": size,
                    "fields": "pixelSize",
                }
            }
        )

    def wrap(self, title: str, col: int) -> None:
        """A column's text wraps (Sheets makes each row as tall as it needs), below the
        header, over the rows the tab has once this batch is applied."""
        span = {"sheetId": self.info(title).sheet_id, "startRowIndex": 1,
                "startColumnIndex": col - 1, "endColumnIndex": col}  # fmt: skip
        cell = {"userEnteredFormat": {"wrapStrategy": "WRAP"}}
        fields = "userEnteredFormat.wrapStrategy"
        self.requests.append({"repeatCell": {"range": span, "cell": cell, "fields": fields}})

    def new_column(self, title: str, col: int, header: str) -> None:
        target = self.info(title)
        self.grow(target, 1, col)
        self.requests.append(_update_cells(target.sheet_id, 0, col - 1, [[header]]))
        if col > 1:  # looks as the header cell before it does (bold, filled), as on xlsx
            self.requests.append(_header_format_from_left(target.sheet_id, col))

    def write(self, write: ColumnWrite) -> None:
        target = self.info(write.tab)
        self.grow(target, max(write.rows, default=0), write.col)
        for start, length in runs(write.rows):
            values = [[v] for v in write.values[start : start + length]]
            self.requests.append(
                _update_cells(target.sheet_id, write.rows[start] - 1, write.col - 1, values)
            )

    def append(self, title: str, rows: list[Row]) -> None:
        if not rows:
            return
        flat = [v for row in rows for v in row]
        append = {
            "sheetId": self.info(title).sheet_id,
            "rows": _rows(rows),
            "fields": _fields(flat),
        }
        self.requests.append({"appendCells": append})

    def format(self, title: str, spec: FormatSpec) -> None:
        target = self.info(title)
        added = format_requests(spec, target)
        self.requests += added
        _record(target, spec, added)

    def rewrite(self, title: str, rows: list[Row], extent: tuple[int, int]) -> None:
        """A tab rewritten whole (Status, Today): the old extent is covered, so cells
        beyond the new content are cleared."""
        width = max((len(r) for r in rows), default=1)
        target = self.sheets.get(tab_key(title))
        if target is None:
            target = self.add_sheet(title, len(rows), width)
            self.bold_header(target, width)
        height = max(len(rows), extent[0])
        self.grow(target, height, width)
        grid = {
            "sheetId": target.sheet_id,
            "startRowIndex": 0,
            "endRowIndex": height,
            "startColumnIndex": 0,
            "endColumnIndex": max(width, extent[1]),
        }
        data = [{"values": [self.linked(v) for v in row]} for row in rows]
        update = {"range": grid, "rows": data, "fields": WHOLE_FIELDS}
        self.requests.append({"updateCells": update})

    def linked(self, value: Any) -> dict:
        """A cell's data; a CellLink's text links to its cell (#gid=…&range=D7), a
        Shaded cell has its fill."""
        if isinstance(value, Shaded):
            data = cell_data(value.value)
            data["userEnteredFormat"] = {"backgroundColor": _colour(value.rgb)}
            return data
        if not isinstance(value, CellLink):
            return cell_data(value)
        target = self.sheets.get(tab_key(value.tab))
        data = cell_data(value.text)
        if target is not None:
            uri = f"#gid={target.sheet_id}&range={value.cell}"
            data["userEnteredFormat"] = {"textFormat": {"link": {"uri": uri}}}
        return data


def _record(info: SheetInfo, spec: FormatSpec, added: list[dict]) -> None:
    """Update the cached tab to what it holds once `added` is applied."""
    if isinstance(spec, FrozenHeader):
        info.frozen_rows = max(info.frozen_rows, 1)
    elif isinstance(spec, ListDropdown | Checkbox):
        info.validations[spec.col] = spec
    elif isinstance(spec, RepViews):
        deleted = {a["deleteFilterView"]["filterId"] for a in added if "deleteFilterView" in a}
        info.filter_views = [v for v in info.filter_views if v.get("filterViewId") not in deleted]
        info.filter_views += [a["addFilterView"]["filter"] for a in added if "addFilterView" in a]
    else:
        kept = [r for r in info.conditional if not _is_ours(spec, r)]
        ours = [
            a["addConditionalFormatRule"]["rule"] for a in added if "addConditionalFormatRule" in a
        ]
        info.conditional = ours + kept


def _update_cells(sheet_id: int, row0: int, col0: int, values: list[Row]) -> dict:
    flat = [v for row in values for v in row]
    return {
        "updateCells": {
            "start": {"sheetId": sheet_id, "rowIndex": row0, "columnIndex": col0},
            "rows": _rows(values),
            "fields": _fields(flat),
        }
    }


def _header_format_from_left(sheet_id: int, col: int) -> dict:
    """The format of header cell `col - 1` pasted onto header cell `col` (1-based). Columns
    are added left to right in one batch, so each takes the look the header ends in."""

    def header_cell(at: int) -> dict:
        return {"sheetId": sheet_id, "startRowIndex": 0, "endRowIndex": 1,
                "startColumnIndex": at - 1, "endColumnIndex": at}  # fmt: skip

    paste = {"source": header_cell(col - 1), "destination": header_cell(col)}
    return {"copyPaste": {**paste, "pasteType": "PASTE_FORMAT"}}


def _append_dimension(sheet_id: int, dimension: str, length: int) -> dict:
    return {"appendDimension": {"sheetId": sheet_id, "dimension": dimension, "length": length}}
