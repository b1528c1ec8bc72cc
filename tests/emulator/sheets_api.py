"""The Sheets API v4: spreadsheets, batchUpdate and the values collection."""

from __future__ import annotations

import copy
import random
from typing import Any

from . import a1, cellvalues, fields
from .model import Cell, Sheet, Spreadsheet

STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}

DEFAULT_PROPS = {
    "locale": "en_US",
    "autoRecalc": "ON_CHANGE",
    "timeZone": "Etc/GMT",
    "defaultFormat": {
        "backgroundColor": {"red": 1, "green": 1, "blue": 1},
        "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
        "verticalAlignment": "BOTTOM",
        "wrapStrategy": "OVERFLOW_CELL",
        "textFormat": {
            "foregroundColor": {},
            "fontFamily": "arial,sans,sans-serif",
            "fontSize": 10,
            "bold": False,
            "italic": False,
            "strikethrough": False,
            "underline": False,
            "foregroundColorStyle": {"rgbColor": {}},
        },
        "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
    },
    "spreadsheetTheme": {
        "primaryFontFamily": "Arial",
        "themeColors": [
            {"colorType": t, "color": {"rgbColor": c}}
            for t, c in [
                ("TEXT", {}),
                ("BACKGROUND", {"red": 1, "green": 1, "blue": 1}),
                ("ACCENT1", {"red": 0.25882354, "green": 0.52156866, "blue": 0.95686275}),
                ("ACCENT2", {"red": 0.91764706, "green": 0.2627451, "blue": 0.20784314}),
                ("ACCENT3", {"red": 0.9843137, "green": 0.7372549, "blue": 0.015686275}),
                ("ACCENT4", {"red": 0.20392157, "green": 0.65882355, "blue": 0.3254902}),
                ("ACCENT5", {"red": 1, "green": 0.42745098, "blue": 0.003921569}),
                ("ACCENT6", {"red": 0.27450982, "green": 0.7411765, "blue": 0.7764706}),
                ("LINK", {"red": 0.06666667, "green": 0.33333334, "blue": 0.8}),
            ]
        ],
    },
}


class ApiError(Exception):
    def __init__(self, code: int, message: str, status: str | None = None):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status or STATUS.get(code, "UNKNOWN")

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "status": self.status}}


def bad(message: str) -> ApiError:
    return ApiError(400, message)


def new_sheet_props(sheet_id: int, title: str, index: int, given: dict | None = None) -> dict:
    props = {
        "sheetId": sheet_id,
        "title": title,
        "index": index,
        "sheetType": "GRID",
        "gridProperties": {"rowCount": 1000, "columnCount": 26},
    }
    for key, value in (given or {}).items():
        if key == "gridProperties":
            props["gridProperties"].update(value)
        elif value is not None:
            props[key] = value
    return props


def new_spreadsheet(
    sid: str, title: str, owner: str, now: str, body: dict | None = None
) -> Spreadsheet:
    props = {"title": title, **copy.deepcopy(DEFAULT_PROPS)}
    props.update((body or {}).get("properties", {}))
    sheets = []
    for i, s in enumerate((body or {}).get("sheets") or [{}]):
        given = s.get("properties", {})
        sheets.append(
            Sheet(new_sheet_props(given.get("sheetId", 0 if i == 0 else _sheet_id()),
                                  given.get("title", f"Sheet{i + 1}"), i, given))
        )  # fmt: skip
    return Spreadsheet(sid, props, sheets, owner, created=now, modified=now)


_rng = random.Random(7)


def _sheet_id() -> int:
    return _rng.randrange(1, 2**31 - 1)


# ---- spreadsheets.get --------------------------------------------------------------


def get_spreadsheet(ss: Spreadsheet, query: dict[str, list[str]]) -> dict:
    include = query.get("includeGridData", ["false"])[0].lower() == "true"
    mask = query.get("fields", [""])[0]
    ranges = query.get("ranges", [])
    wants_data = (
        include
        or "data" in mask.replace("/", ".").split(".")
        or ".data" in mask.replace("/", ".")
        or "(data" in mask
    )
    picked: dict[int, list[a1.GridRange]] = {}
    for text in ranges:
        rng = _grid_range(ss, text)
        sheet = _sheet_of(ss, rng)
        picked.setdefault(sheet.id, []).append(rng)
    out: dict[str, Any] = {"spreadsheetId": ss.id, "properties": ss.props, "sheets": []}
    for sheet in ss.sheets:
        if ranges and sheet.id not in picked:
            continue
        item: dict[str, Any] = {"properties": sheet.props}
        if sheet.conditional:
            item["conditionalFormats"] = sheet.conditional
        if sheet.filter_views:
            item["filterViews"] = sheet.filter_views
        if wants_data:
            item["data"] = [_grid_data(sheet, r) for r in picked.get(sheet.id, [None])]
        out["sheets"].append(item)
    if ss.named_ranges:
        out["namedRanges"] = ss.named_ranges
    out["spreadsheetUrl"] = f"https://docs.google.com/spreadsheets/d/{ss.id}/edit"
    out = copy.deepcopy(out)
    return fields.select(out, fields.parse(mask)) if mask else out


def _grid_data(sheet: Sheet, rng: a1.GridRange | None) -> dict:
    r0, c0, r1, c1 = _bounds(sheet, rng)
    rows = []
    for r in range(r0, r1):
        values = []
        for c in range(c0, c1):
            values.append(_cell_json(sheet.cell(r, c)))
        while values and not values[-1]:
            values.pop()
        rows.append({"values": values} if values else {})
    while rows and not rows[-1]:
        rows.pop()
    data: dict[str, Any] = {}
    if r0:
        data["startRow"] = r0
    if c0:
        data["startColumn"] = c0
    if rows:
        data["rowData"] = rows
    data["rowMetadata"] = [{"pixelSize": 21} for _ in range(r0, r1)]
    data["columnMetadata"] = [{"pixelSize": 100} for _ in range(c0, c1)]
    return data


def _cell_json(cell: Cell) -> dict:
    out: dict[str, Any] = {}
    if cell.uev is not None:
        out["userEnteredValue"] = cell.uev
        if "formulaValue" not in cell.uev:
            out["effectiveValue"] = cell.uev
            out["formattedValue"] = cellvalues.render(
                cell.uev, cell.number_format, "FORMATTED_VALUE", "FORMATTED_STRING"
            )
    if cell.uef:
        out["userEnteredFormat"] = cell.uef
    if cell.note is not None:
        out["note"] = cell.note
    if cell.dv is not None:
        out["dataValidation"] = cell.dv
    return out


# ---- ranges --------------------------------------------------------------------------


def _grid_range(ss: Spreadsheet, text: str) -> a1.GridRange:
    try:
        rng = a1.parse(text, ss.titles())
    except a1.RangeError:
        named = next((n for n in ss.named_ranges if n["name"] == text), None)
        if named:
            g = named["range"]
            sheet = ss.by_id(g.get("sheetId", 0))
            return a1.GridRange(sheet.title, g.get("startRowIndex"), g.get("startColumnIndex"),
                                g.get("endRowIndex"), g.get("endColumnIndex"))  # fmt: skip
        raise bad(f"Unable to parse range: {text}") from None
    if rng.sheet is not None and ss.by_title(rng.sheet) is None:
        raise bad(f"Unable to parse range: {text}")
    return rng


def _sheet_of(ss: Spreadsheet, rng: a1.GridRange) -> Sheet:
    return ss.by_title(rng.sheet) if rng.sheet is not None else ss.sheets[0]


def _bounds(sheet: Sheet, rng: a1.GridRange | None) -> tuple[int, int, int, int]:
    if rng is None:
        return 0, 0, sheet.row_count, sheet.col_count
    r0 = rng.row0 or 0
    c0 = rng.col0 or 0
    r1 = sheet.row_count if rng.row1 is None else min(rng.row1, sheet.row_count)
    c1 = sheet.col_count if rng.col1 is None else min(rng.col1, sheet.col_count)
    return r0, c0, max(r1, r0), max(c1, c0)


def _range_text(sheet: Sheet, r0: int, c0: int, r1: int, c1: int) -> str:
    if r1 <= r0 or c1 <= c0:
        return a1.quote(sheet.title)
    return a1.render(sheet.title, r0, c0, r1, c1)


# ---- values ---------------------------------------------------------------------------


def values_get(ss: Spreadsheet, text: str, query: dict[str, list[str]]) -> dict:
    rng = _grid_range(ss, text)
    sheet = _sheet_of(ss, rng)
    r0, c0, r1, c1 = _bounds(sheet, rng)
    if (
        rng.row0 is not None
        and rng.row0 >= sheet.row_count
        or (rng.col0 is not None and rng.col0 >= sheet.col_count)
    ):
        raise bad(
            f"Range ({a1.quote(sheet.title)}!{text.split('!')[-1]}) exceeds grid limits. "
            f"Max rows: {sheet.row_count}, max columns: {sheet.col_count}"
        )
    value_render = query.get("valueRenderOption", ["FORMATTED_VALUE"])[0]
    dt_render = query.get("dateTimeRenderOption", ["SERIAL_NUMBER"])[0]
    major = query.get("majorDimension", ["ROWS"])[0]
    grid = []
    # Only cells that exist are rendered: the rest are empty, and trimmed below anyway.
    render = cellvalues.render
    for r in range(r0, min(r1, len(sheet.rows))):
        stored = sheet.rows[r]
        row = []
        for c in range(c0, min(c1, len(stored))):
            cell = stored[c]
            value = (
                None
                if cell is None
                else render(cell.uev, cell.number_format, value_render, dt_render)
            )
            row.append("" if value is None else value)
        grid.append(row)
    if major == "COLUMNS":
        width = max((len(row) for row in grid), default=0)
        grid = [[row[c] if c < len(row) else "" for row in grid] for c in range(width)]
    for row in grid:
        while row and row[-1] == "":
            row.pop()
    while grid and not grid[-1]:
        grid.pop()
    out: dict[str, Any] = {"range": _range_text(sheet, r0, c0, r1, c1), "majorDimension": major}
    if grid:
        out["values"] = grid
    return out


def values_update(
    ss: Spreadsheet,
    text: str,
    body: dict,
    query: dict[str, list[str]],
    grow: bool = True,
    touched: dict[str, set] | None = None,
) -> dict:
    option = query.get("valueInputOption", [None])[0]
    if option not in ("RAW", "USER_ENTERED"):
        raise bad("Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
    rng = _grid_range(ss, text)
    sheet = _sheet_of(ss, rng)
    values = body.get("values") or []
    if body.get("majorDimension", "ROWS") == "COLUMNS":
        width = max((len(c) for c in values), default=0)
        values = [[col[i] if i < len(col) else None for col in values] for i in range(width)]
    r0, c0 = rng.row0 or 0, rng.col0 or 0
    if ":" not in text.rsplit("!", 1)[-1]:  # one cell: where the values start, no bound
        rng = a1.GridRange(rng.sheet, rng.row0, rng.col0, None, None)
    if (
        rng.row1 is not None
        and len(values) > rng.row1 - r0
        or rng.col1 is not None
        and any(len(v) > rng.col1 - c0 for v in values)
    ):
        raise bad(
            f"Requested writing within range [{text}], but tried writing to "
            f"{'row' if len(values) > (rng.row1 or 0) - r0 else 'column'} "
            f"[{r0 + len(values) if len(values) > (rng.row1 or 0) - r0 else ''}]"
        )
    parse = cellvalues.user_entered if option == "USER_ENTERED" else cellvalues.raw
    height = len(values)
    width = max((len(v) for v in values), default=0)
    if grow:
        _grow(sheet, r0 + height, c0 + width)
    cells = 0
    rows_written: set[int] = set()
    cols_written: set[int] = set()
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            if value is None:  # null: leave the cell as it is
                continue
            rows_written.add(i)
            cols_written.add(j)
            if touched is not None:
                touched["rows"].add((sheet.id, r0 + i))
                touched["cols"].add((sheet.id, c0 + j))
            uev, fmt = parse(value)
            old = sheet.cell(r0 + i, c0 + j)
            uef = dict(old.uef or {})
            if fmt:  # otherwise the cell keeps its format, as in Sheets
                uef["numberFormat"] = fmt
            sheet.put(r0 + i, c0 + j, old.with_(uev=uev, uef=uef or None))
            cells += 1
    out = {"spreadsheetId": ss.id}
    if height and width:
        if rng.row1 is not None and rng.col1 is not None:  # the range as asked
            out["updatedRange"] = a1.render(sheet.title, r0, c0, rng.row1, rng.col1)
        else:
            out["updatedRange"] = a1.render(sheet.title, r0, c0, r0 + height, c0 + width)
        # Google counts the rows and columns that got a value, not the range's size.
        out["updatedRows"] = len(rows_written)
        out["updatedColumns"] = len(cols_written)
        out["updatedCells"] = cells
    else:
        out["updatedRange"] = _range_text(sheet, r0, c0, r0 + max(height, 1), c0 + max(width, 1))
    if query.get("includeValuesInResponse", ["false"])[0].lower() == "true":
        sub = {k: v for k, v in query.items() if k.startswith("responseValueRender") or
               k.startswith("responseDateTime")}  # fmt: skip
        q = {
            "valueRenderOption": sub.get("responseValueRenderOption", ["FORMATTED_VALUE"]),
            "dateTimeRenderOption": sub.get("responseDateTimeRenderOption", ["SERIAL_NUMBER"]),
        }
        data = values_get(ss, out["updatedRange"], q)
        out["updatedData"] = data
    return out


def _grow(sheet: Sheet, rows: int, cols: int) -> None:
    if rows > sheet.row_count:
        sheet.grid["rowCount"] = rows
    if cols > sheet.col_count:
        sheet.grid["columnCount"] = cols


def values_append(ss: Spreadsheet, text: str, body: dict, query: dict[str, list[str]]) -> dict:
    rng = _grid_range(ss, text)
    sheet = _sheet_of(ss, rng)
    r0, c0, r1, c1 = _bounds(sheet, rng)
    table = _find_table(sheet, r0, c0, r1, c1)
    values = body.get("values") or []
    out: dict[str, Any] = {"spreadsheetId": ss.id}
    if table is None:
        start_row, start_col = r0, c0
    else:
        tr0, tc0, tr1, tc1 = table
        out["tableRange"] = a1.render(sheet.title, tr0, tc0, tr1, tc1)
        start_row, start_col = tr1, tc0
    if query.get("insertDataOption", ["OVERWRITE"])[0] == "INSERT_ROWS" and values:
        sheet.insert_rows(start_row, len(values))
    target = a1.render(sheet.title, start_row, start_col, start_row + 1, start_col + 1)
    target = target.split(":")[0]
    result = values_update(ss, target, body, query)
    result.pop("spreadsheetId", None)
    out["updates"] = {"spreadsheetId": ss.id, **result}
    return out


def _find_table(sheet: Sheet, r0: int, c0: int, r1: int, c1: int) -> tuple | None:
    """Google's table detection: the block of rows with values that starts at or below
    the range's first row, within the range's columns."""
    first = None
    for r in range(r0, min(r1, len(sheet.rows))):
        if any(sheet.cell(r, c).uev is not None for c in range(c0, min(c1, len(sheet.rows[r])))):
            first = r
            break
    if first is None:
        return None
    last = first
    used: set[int] = set()
    r = first
    while r < len(sheet.rows):
        here = {
            c for c in range(c0, min(c1, len(sheet.rows[r]))) if sheet.cell(r, c).uev is not None
        }
        if not here:
            break
        used |= here
        last = r
        r += 1
    # An empty column splits the block into tables; Google appends to the last one.
    hi = max(used)
    lo = hi
    while lo - 1 in used:
        lo -= 1
    return first, lo, last + 1, hi + 1


def values_clear(ss: Spreadsheet, text: str) -> dict:
    rng = _grid_range(ss, text)
    sheet = _sheet_of(ss, rng)
    r0, c0, r1, c1 = _bounds(sheet, rng)
    for r in range(r0, min(r1, len(sheet.rows))):
        for c in range(c0, min(c1, len(sheet.rows[r]))):
            cell = sheet.cell(r, c)
            if cell.uev is not None:
                sheet.put(r, c, cell.with_(uev=None))
    return {"spreadsheetId": ss.id, "clearedRange": _range_text(sheet, r0, c0, r1, c1)}


def values_batch_get(ss: Spreadsheet, query: dict[str, list[str]]) -> dict:
    return {
        "spreadsheetId": ss.id,
        "valueRanges": [values_get(ss, r, query) for r in query.get("ranges", [])],
    }


def values_batch_update(ss: Spreadsheet, body: dict) -> dict:
    query = {"valueInputOption": [body.get("valueInputOption")]}
    if body.get("includeValuesInResponse"):
        query["includeValuesInResponse"] = ["true"]
    written: dict[str, set] = {"rows": set(), "cols": set()}
    responses = [
        values_update(ss, d["range"], d, query, touched=written) for d in body.get("data", [])
    ]
    touched = {r["updatedRange"].split("!")[0] for r in responses if "updatedCells" in r}
    out: dict[str, Any] = {"spreadsheetId": ss.id}
    if responses:
        # Distinct rows and columns across the ranges, as Google counts them.
        out["totalUpdatedRows"] = len(written["rows"])
        out["totalUpdatedColumns"] = len(written["cols"])
        out["totalUpdatedCells"] = sum(r.get("updatedCells", 0) for r in responses)
        out["totalUpdatedSheets"] = len(touched)
        out["responses"] = responses
    return out


def values_batch_clear(ss: Spreadsheet, body: dict) -> dict:
    cleared = [values_clear(ss, r)["clearedRange"] for r in body.get("ranges", [])]
    return {"spreadsheetId": ss.id, "clearedRanges": cleared}


# ---- batchUpdate ----------------------------------------------------------------------


def batch_update(ss: Spreadsheet, body: dict) -> dict:
    replies = []
    for i, request in enumerate(body.get("requests", [])):
        if len(request) != 1:
            raise bad(f"Invalid requests[{i}]: exactly one kind of request is allowed.")
        kind, args = next(iter(request.items()))
        handler = HANDLERS.get(kind)
        if handler is None:
            raise bad(f"Invalid JSON payload received. Unknown name \"{kind}\" at 'requests[{i}]'")
        try:
            replies.append(handler(ss, args) or {})
        except ApiError as err:
            raise ApiError(err.code, f"Invalid requests[{i}].{kind}: {err.message}") from None
    out: dict[str, Any] = {"spreadsheetId": ss.id, "replies": replies}
    if body.get("includeSpreadsheetInResponse"):
        out["updatedSpreadsheet"] = get_spreadsheet(ss, {})
    return out


def _sheet(ss: Spreadsheet, sheet_id: int | None) -> Sheet:
    sheet = ss.by_id(sheet_id or 0)
    if sheet is None:
        raise bad(f"No grid with id: {sheet_id}")
    return sheet


def _add_sheet(ss: Spreadsheet, args: dict) -> dict:
    given = dict(args.get("properties", {}))
    title = given.get("title")
    if title is None:
        n = len(ss.sheets) + 1
        while ss.by_title(f"Sheet{n}"):
            n += 1
        title = f"Sheet{n}"
    if any(s.title.casefold() == title.casefold() for s in ss.sheets):
        raise bad(f'A sheet with the name "{title}" already exists. Please enter another name.')
    sheet_id = given.pop("sheetId", None)
    if sheet_id is None:
        sheet_id = _sheet_id()
    elif ss.by_id(sheet_id):
        raise bad(f"Sheet with id {sheet_id} already exists.")
    index = given.pop("index", len(ss.sheets))
    given.pop("title", None)
    props = new_sheet_props(sheet_id, title, index, given)
    for sheet in ss.sheets:
        if sheet.props["index"] >= index:
            sheet.props["index"] += 1
    ss.sheets.append(Sheet(props))
    ss.reindex()
    return {"addSheet": {"properties": copy.deepcopy(props)}}


def _delete_sheet(ss: Spreadsheet, args: dict) -> None:
    sheet = _sheet(ss, args.get("sheetId"))
    if len(ss.sheets) == 1:
        raise bad("You can't remove all the sheets in a document.")
    ss.sheets.remove(sheet)
    ss.reindex()


def _update_sheet_properties(ss: Spreadsheet, args: dict) -> None:
    given = args.get("properties", {})
    sheet = _sheet(ss, given.get("sheetId"))
    mask = args.get("fields")
    if not mask:
        raise bad("At least one field must be updated. Specify 'fields' in the request.")
    old_index = sheet.props["index"]
    title = given.get("title")
    if title and any(s is not sheet and s.title.casefold() == title.casefold() for s in ss.sheets):
        raise bad(f'A sheet with the name "{title}" already exists. Please enter another name.')
    fields.update(sheet.props, given, mask)
    sheet.props.setdefault("gridProperties", {"rowCount": 1000, "columnCount": 26})
    if sheet.props.get("index", old_index) != old_index:
        new = min(sheet.props["index"], len(ss.sheets) - 1)
        others = [s for s in ss.sheets if s is not sheet]
        others.sort(key=lambda s: s.props["index"])
        others.insert(new, sheet)
        for i, s in enumerate(others):
            s.props["index"] = i
        ss.sheets = others


def _update_spreadsheet_properties(ss: Spreadsheet, args: dict) -> None:
    mask = args.get("fields")
    if not mask:
        raise bad("At least one field must be updated. Specify 'fields' in the request.")
    fields.update(ss.props, args.get("properties", {}), mask)


def _cells_of(sheet: Sheet, grid: dict) -> tuple[int, int, int, int]:
    r0 = grid.get("startRowIndex", 0)
    c0 = grid.get("startColumnIndex", 0)
    r1 = grid.get("endRowIndex", sheet.row_count)
    c1 = grid.get("endColumnIndex", sheet.col_count)
    _check_grid(sheet, r1, c1)
    return r0, c0, r1, c1


def _check_grid(sheet: Sheet, r1: int, c1: int) -> None:
    if r1 > sheet.row_count or c1 > sheet.col_count:
        raise bad(
            f"Range ({a1.quote(sheet.title)}!"
            f"{a1.col_letters(max(c1, 1) - 1)}{max(r1, 1)}) exceeds grid limits. "
            f"Max rows: {sheet.row_count}, max columns: {sheet.col_count}"
        )


def _write_cell(sheet: Sheet, r: int, c: int, data: dict | None, mask: str) -> None:
    old = sheet.cell(r, c)
    data = data or {}
    new = {"uev": old.uev, "uef": old.uef, "note": old.note, "dv": old.dv}
    for path in fields.paths(mask):
        head = path[0]
        if head == "*":
            new = {
                "uev": data.get("userEnteredValue"),
                "uef": data.get("userEnteredFormat"),
                "note": data.get("note"),
                "dv": data.get("dataValidation"),
            }
        elif head == "userEnteredValue":
            new["uev"] = data.get("userEnteredValue")
        elif head == "userEnteredFormat":
            if len(path) == 1:
                new["uef"] = _with_styles(fields.clean(data.get("userEnteredFormat"))) or None
            else:
                uef = copy.deepcopy(new["uef"] or {})
                fields.update(uef, data.get("userEnteredFormat") or {}, ".".join(path[1:]))
                new["uef"] = _with_styles(uef) or None
        elif head == "note":
            new["note"] = data.get("note") or None  # an empty note is no note
        elif head == "dataValidation":
            new["dv"] = data.get("dataValidation")
        else:
            raise bad(f"Invalid field mask: unknown field '{'.'.join(path)}' in CellData")
    uev = new["uev"]
    if uev is not None and len(uev) != 1:
        raise bad("userEnteredValue must hold exactly one of its values")
    sheet.put(r, c, old.with_(**new))


def _with_styles(fmt: dict | None) -> dict | None:
    """Google answers every colour twice: `xColor` and `xColorStyle: {rgbColor: …}`."""
    if not fmt:
        return fmt
    out = dict(fmt)
    for key, value in fmt.items():
        if not isinstance(value, dict) or key.endswith("Style"):
            continue
        if key.endswith("Color"):
            out.setdefault(key + "Style", {"rgbColor": value})
        else:
            out[key] = _with_styles(value)
    return out


def _update_cells(ss: Spreadsheet, args: dict) -> None:
    mask = args.get("fields")
    if not mask:
        raise bad("At least one field must be updated. Specify 'fields' in the request.")
    rows = args.get("rows", [])
    if "start" in args:
        start = args["start"]
        sheet = _sheet(ss, start.get("sheetId"))
        r0, c0 = start.get("rowIndex", 0), start.get("columnIndex", 0)
        width = max((len(r.get("values", [])) for r in rows), default=0)
        _check_grid(sheet, r0 + len(rows), c0 + width)
        for i, row in enumerate(rows):
            for j, data in enumerate(row.get("values", [])):
                _write_cell(sheet, r0 + i, c0 + j, data, mask)
        return
    grid = args.get("range") or {}
    sheet = _sheet(ss, grid.get("sheetId"))
    r0, c0, r1, c1 = _cells_of(sheet, grid)
    for r in range(r0, r1):
        row = rows[r - r0].get("values", []) if r - r0 < len(rows) else []
        for c in range(c0, c1):
            _write_cell(sheet, r, c, row[c - c0] if c - c0 < len(row) else None, mask)


def _append_cells(ss: Spreadsheet, args: dict) -> None:
    sheet = _sheet(ss, args.get("sheetId"))
    mask = args.get("fields")
    if not mask:
        raise bad("At least one field must be updated. Specify 'fields' in the request.")
    rows = args.get("rows", [])
    start = sheet.used_extent()[0]
    width = max((len(r.get("values", [])) for r in rows), default=0)
    if start + len(rows) > sheet.row_count:
        sheet.grid["rowCount"] = start + len(rows)
    _check_grid(sheet, start + len(rows), width)
    for i, row in enumerate(rows):
        for j, data in enumerate(row.get("values", [])):
            _write_cell(sheet, start + i, j, data, mask)


def _repeat_cell(ss: Spreadsheet, args: dict) -> None:
    grid = args.get("range") or {}
    sheet = _sheet(ss, grid.get("sheetId"))
    r0, c0, r1, c1 = _cells_of(sheet, grid)
    for r in range(r0, r1):
        for c in range(c0, c1):
            _write_cell(sheet, r, c, args.get("cell"), args.get("fields", ""))


def _dimension(ss: Spreadsheet, args: dict) -> tuple[Sheet, str, int, int, int]:
    """(sheet, ROWS or COLUMNS, start, end, the sheet's size in that dimension)"""
    grid = args.get("range") or {}
    sheet = _sheet(ss, grid.get("sheetId"))
    dim = grid.get("dimension")
    if dim not in ("ROWS", "COLUMNS"):
        raise bad("range.dimension must be ROWS or COLUMNS")
    start, end = grid.get("startIndex", 0), grid.get("endIndex")
    limit = sheet.row_count if dim == "ROWS" else sheet.col_count
    if end is None:
        end = limit
    if start >= end:
        raise bad("range.startIndex must be less than range.endIndex")
    return sheet, dim, start, end, limit


def _insert_dimension(ss: Spreadsheet, args: dict) -> None:
    sheet, dim, start, end, limit = _dimension(ss, args)
    if start > limit:
        raise bad(f"range.startIndex ({start}) must be <= the sheet's size ({limit})")
    if dim == "ROWS":
        sheet.insert_rows(start, end - start)
    else:
        sheet.insert_cols(start, end - start)


def _delete_dimension(ss: Spreadsheet, args: dict) -> None:
    sheet, dim, start, end, limit = _dimension(ss, args)
    if end > limit:
        raise bad(f"Invalid range: endIndex ({end}) exceeds the sheet's size ({limit})")
    if dim == "ROWS":
        if end - start >= limit:
            raise bad("You can't delete all the rows on the sheet.")
        sheet.delete_rows(start, end)
    else:
        if end - start >= limit:
            raise bad("You can't delete all the columns on the sheet.")
        sheet.delete_cols(start, end)


def _append_dimension(ss: Spreadsheet, args: dict) -> None:
    sheet = _sheet(ss, args.get("sheetId"))
    length = args.get("length", 0)
    if length <= 0:
        raise bad("length must be greater than 0")
    key = "rowCount" if args.get("dimension") == "ROWS" else "columnCount"
    sheet.grid[key] = sheet.grid.get(key, 0) + length


def _update_dimension_properties(ss: Spreadsheet, args: dict) -> None:
    sheet, dim, start, end, limit = _dimension(ss, args)
    if end > limit:
        raise bad(f"Invalid range: endIndex ({end}) exceeds the sheet's size ({limit})")
    fields = args.get("fields")
    if not fields:
        raise bad("At least one field must be updated. Specify 'fields' in the request.")
    size = (args.get("properties") or {}).get("pixelSize")
    if dim == "COLUMNS" and "pixelSize" in fields.split(","):
        if not isinstance(size, int) or size < 0:
            raise bad("pixelSize must be a non-negative number")
        sheet.col_pixels.update(dict.fromkeys(range(start, end), size))


def _set_basic_filter(ss: Spreadsheet, args: dict) -> None:
    filt = copy.deepcopy(args.get("filter") or {})
    grid = filt.get("range") or {}
    sheet = _sheet(ss, grid.get("sheetId"))
    sheet.basic_filter = filt


def _add_filter_view(ss: Spreadsheet, args: dict) -> dict:
    """As Google: a view on an existing sheet; its ID given (unique) or made."""
    view = copy.deepcopy(args.get("filter") or {})
    sheet = _sheet(ss, (view.get("range") or {}).get("sheetId"))
    taken = {v["filterViewId"] for s in ss.sheets for v in s.filter_views}
    if view.get("filterViewId") in taken:
        raise bad(f"Duplicate filter view ID: {view['filterViewId']}")
    view.setdefault("filterViewId", _sheet_id())
    view["range"] = {"sheetId": sheet.id, **view["range"]}
    sheet.filter_views.append(view)
    return {"addFilterView": {"filter": copy.deepcopy(view)}}


def _delete_filter_view(ss: Spreadsheet, args: dict) -> None:
    wanted = args.get("filterId")
    for sheet in ss.sheets:
        for view in sheet.filter_views:
            if view["filterViewId"] == wanted:
                sheet.filter_views.remove(view)
                return
    raise bad(f"No filter view with id: {wanted}")


def _add_conditional(ss: Spreadsheet, args: dict) -> None:
    rule = copy.deepcopy(args.get("rule") or {})
    ranges = rule.get("ranges") or []
    if not ranges:
        raise bad("Conditional format rules need at least one range.")
    sheet = _sheet(ss, ranges[0].get("sheetId"))
    if "booleanRule" not in rule and "gradientRule" not in rule:
        raise bad("A conditional format rule needs a booleanRule or a gradientRule.")
    index = args.get("index", 0)
    sheet.conditional.insert(min(index, len(sheet.conditional)), rule)


def _update_conditional(ss: Spreadsheet, args: dict) -> dict:
    sheet = _sheet(ss, args.get("sheetId"))
    index = args.get("index", 0)
    if index >= len(sheet.conditional):
        raise bad(f"No conditional format on sheet {sheet.id} at index {index}")
    old = sheet.conditional[index]
    if "rule" in args:
        sheet.conditional[index] = copy.deepcopy(args["rule"])
        new_index = index
    else:
        new_index = args.get("newIndex", index)
        sheet.conditional.insert(new_index, sheet.conditional.pop(index))
    return {
        "updateConditionalFormatRule": {
            "oldRule": old,
            "oldIndex": index,
            "newRule": sheet.conditional[new_index],
            "newIndex": new_index,
        }
    }


def _delete_conditional(ss: Spreadsheet, args: dict) -> dict:
    sheet = _sheet(ss, args.get("sheetId"))
    index = args.get("index", 0)
    if index >= len(sheet.conditional):
        raise bad(f"No conditional format on sheet {sheet.id} at index {index}")
    return {"deleteConditionalFormatRule": {"rule": sheet.conditional.pop(index)}}


def _set_validation(ss: Spreadsheet, args: dict) -> None:
    grid = args.get("range") or {}
    sheet = _sheet(ss, grid.get("sheetId"))
    r0, c0, r1, c1 = _cells_of(sheet, grid)
    rule = args.get("rule")
    for r in range(r0, r1):
        for c in range(c0, c1):
            sheet.put(r, c, sheet.cell(r, c).with_(dv=copy.deepcopy(rule)))


# What each pasteType of copyPaste carries over (Google's PASTE_FORMAT: the format and
# the data validation only).
PASTED = {
    "PASTE_NORMAL": ("uev", "uef", "note", "dv"),
    "PASTE_VALUES": ("uev",),
    "PASTE_FORMAT": ("uef", "dv"),
}


def _copy_paste(ss: Spreadsheet, args: dict) -> None:
    """The source range pasted onto the destination: tiled over it when it is larger,
    whole (running past it) when it is smaller, as Google does."""
    kind = args.get("pasteType", "PASTE_NORMAL")
    if kind not in PASTED:
        raise bad(f"the emulator does not support pasteType {kind}")
    source, target = args.get("source") or {}, args.get("destination") or {}
    from_sheet, to_sheet = _sheet(ss, source.get("sheetId")), _sheet(ss, target.get("sheetId"))
    r0, c0, r1, c1 = _cells_of(from_sheet, source)
    d0, e0, d1, e1 = _cells_of(to_sheet, target)
    height, width = r1 - r0, c1 - c0
    if height <= 0 or width <= 0:
        raise bad("copyPaste: the source range must hold at least one cell")
    copied = [[from_sheet.cell(r, c) for c in range(c0, c1)] for r in range(r0, r1)]
    rows = max(1, (d1 - d0) // height) * height
    cols = max(1, (e1 - e0) // width) * width
    _check_grid(to_sheet, d0 + rows, e0 + cols)
    for i in range(rows):
        for j in range(cols):
            old, new = to_sheet.cell(d0 + i, e0 + j), copied[i % height][j % width]
            changes = {key: copy.deepcopy(getattr(new, key)) for key in PASTED[kind]}
            to_sheet.put(d0 + i, e0 + j, old.with_(**changes))


HANDLERS = {
    "addSheet": _add_sheet,
    "deleteSheet": _delete_sheet,
    "updateSheetProperties": _update_sheet_properties,
    "updateSpreadsheetProperties": _update_spreadsheet_properties,
    "updateCells": _update_cells,
    "appendCells": _append_cells,
    "repeatCell": _repeat_cell,
    "copyPaste": _copy_paste,
    "insertDimension": _insert_dimension,
    "deleteDimension": _delete_dimension,
    "appendDimension": _append_dimension,
    "addConditionalFormatRule": _add_conditional,
    "updateConditionalFormatRule": _update_conditional,
    "deleteConditionalFormatRule": _delete_conditional,
    "setDataValidation": _set_validation,
    "updateDimensionProperties": _update_dimension_properties,
    "setBasicFilter": _set_basic_filter,
    "addFilterView": _add_filter_view,
    "deleteFilterView": _delete_filter_view,
}
