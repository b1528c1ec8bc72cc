"""Worksheet parts rewritten as text: only the planned cells change.

A worksheet part is `head <sheetData> rows </sheetData> tail`. A change replaces or adds
single `<c>` elements inside the rows it names and adds rows it needs; every other row
goes through as the same bytes, and so do the head and the tail unless formats change
(see formats.py). Text sheetpipe writes is always an inline string (`t="inlineStr"`),
never a formula, and sharedStrings stays untouched.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from numbers import Integral, Real

import numpy as np

from sheetpipe.core.sheet.cells import col_index, col_letter, looks_like_formula, serial
from sheetpipe.xlsx.package import PackageError

Cells = dict[int, dict[int, object]]  # sheet row → column → value (1-based)
NAME = rb"(?:[A-Za-z_][\w.-]*:)?"
SHEET_DATA_OPEN = re.compile(rb"<(" + NAME + rb")sheetData\b[^>]*?(/?)>")
ROW = re.compile(rb"<(" + NAME + rb")row\b([^>]*?)(?:/>|>(.*?)</\1row\s*>)", re.S)
CELL = re.compile(rb"<(" + NAME + rb")c\b([^>]*?)(?:/>|>(.*?)</\1c\s*>)", re.S)
ATTR_R = re.compile(rb"""(?:^|\s)r\s*=\s*["']([^"']*)["']""")
ATTR_S = re.compile(rb"""(?:^|\s)s\s*=\s*["']([^"']*)["']""")
ATTR_SPANS = re.compile(rb"""\s+spans\s*=\s*["'][^"']*["']""")
DIMENSION = re.compile(rb"""(<""" + NAME + rb"""dimension\b[^>]*?\bref\s*=\s*["'])([^"']*)(["'])""")
CELL_REF = re.compile(rb"([A-Z]{1,3})(\d+)")
REF_LETTERS = re.compile(rb"[A-Za-z]*")
HIDDEN_MARKUP = re.compile(rb"<!\[CDATA\[(?:(?!\]\]>).)*</?" + NAME + rb"(?:row|c)\b", re.S)
# Characters XML 1.0 cannot hold, and \r (which XML turns into \n): OOXML writes them as
# _xHHHH_, and a literal "_x0041_" as "_x005F_x0041_".
ESCAPE_X = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]")
NEEDS_ESCAPE = re.compile(r"[&<>_\x00-\x08\x0b-\x1f\ufffe\uffff]")


Piece = bytes | memoryview


@dataclass
class Split:
    """A worksheet part cut around its rows, without copying them.

    The rows are `xml[start:end]` until a rewrite replaces them by `body`, a list of
    pieces (views of the old rows and new bytes) that are written out one by one: a
    100 k-deal sheet is ~130 MB of XML, and each copy of it costs a tenth of a second.
    """

    head: bytes  # up to and including <sheetData>
    tail: bytes  # from </sheetData> on
    prefix: bytes  # the main namespace's prefix with its colon, usually b""
    xml: bytes = b""
    start: int = 0
    end: int = 0
    body: list[Piece] | None = None

    @classmethod
    def of(cls, xml: bytes) -> Split:
        found = SHEET_DATA_OPEN.search(xml)
        if found is None:
            raise PackageError("a worksheet part has no sheetData")
        prefix = found.group(1)
        if found.group(2):  # <sheetData/>: an empty sheet
            head = xml[: found.start()] + b"<" + prefix + b"sheetData>"
            return cls(head, b"</" + prefix + b"sheetData>" + xml[found.end() :], prefix)
        close = xml.rfind(b"</" + prefix + b"sheetData")
        if close < found.end():
            raise PackageError("a worksheet part's sheetData is not closed")
        if xml.find(b"<![CDATA[", found.end(), close) >= 0 and HIDDEN_MARKUP.search(
            xml, found.end(), close
        ):
            raise PackageError("a worksheet part hides row markup inside CDATA")
        return cls(xml[: found.end()], xml[close:], prefix, xml, found.end(), close)

    def region(self) -> tuple[bytes, int, int]:
        """The rows as (bytes, start, end), after any rewrite so far."""
        if self.body is not None:
            self.xml = b"".join(self.body)
            self.start, self.end, self.body = 0, len(self.xml), None
        return self.xml, self.start, self.end

    def pieces(self) -> list[Piece]:
        body = self.body if self.body is not None else [memoryview(self.xml)[self.start : self.end]]
        return [self.head, *body, self.tail]

    def join(self) -> bytes:
        return b"".join(self.pieces())


@dataclass
class CellStyles:
    """How written values are styled; the indexes come from styles.py."""

    date: Callable[[], int]
    datetime: Callable[[], int]
    text_not_formula: Callable[[], int]
    is_date_style: Callable[[int], bool]
    date1904: bool = False


class Rewrite:
    """Rewrites rows of one worksheet; `formulas_dropped` tells the caller to drop calcChain."""

    def __init__(self, split: Split, styles: CellStyles):
        self.split = split
        self.styles = styles
        self.formulas_dropped = False
        self.max_row = self.max_col = 0
        # A cell made where there was none takes its column's style, as in Excel when a
        # person types into a formatted column (a wrapped Task column, their own format).
        self.column_styles = column_styles(split.head)
        # Columns whose text wraps → their width: a row made here is as tall as the most
        # lines a cell of it takes (LibreOffice keeps a row's height as the file says).
        self.wrapped: dict[int, float] = {}

    def set_cells(self, cells: Cells) -> None:
        cells = {row: cols for row, cols in cells.items() if cols}
        if not cells:
            return
        self.max_row = max(self.max_row, max(cells))
        self.max_col = max(self.max_col, max(max(cols) for cols in cells.values() if cols))
        xml, start, end = self.split.region()
        last = _last_row_number(xml, start, end)
        if last is not None:
            # The usual case: cells of rows that are there (found by number), then rows
            # after the last one; every other row is copied without being looked at.
            inside = {r: cols for r, cols in cells.items() if r <= last}
            body = self._edit_found_rows(xml, start, end, inside)
            if body is not None:
                body.extend(self._new_row(r, cells[r]) for r in sorted(cells) if r > last)
                self.split.body = body
                return
        self.split.body = list(self._merge(xml, start, end, cells))

    def _edit_found_rows(self, xml: bytes, start: int, end: int, cells: Cells) -> list | None:
        """Each row found by its number at C speed, or None when some row is not there,
        is out of order, or rows are not all numbered first (the general merge decides)."""
        view = memoryview(xml)
        opening = b"<" + self.split.prefix + b"row"
        if cells and xml.count(opening, start, end) != xml.count(opening + b' r="', start, end):
            return None
        out: list[Piece] = []
        pos = start
        for number in sorted(cells):
            at = xml.find(b'%s r="%d"' % (opening, number), pos, end)
            match = ROW.match(xml, at, end) if at >= 0 else None
            if match is None:
                return None
            out += [view[pos:at], self._edit_row(match, number, cells[number])]
            pos = match.end()
        out.append(view[pos:end])
        return out

    def replace_all(
        self, rows: list[list[object]], styled: dict[tuple[int, int], int] | None = None
    ) -> None:
        """The whole content (a tab sheetpipe owns entirely: Status, Today). The header
        row's cells keep their styles (bold), so the new header looks as the old one;
        the cells in `styled` ((row, column) → style, below the header) get theirs."""
        xml, start, end = self.split.region()
        self.formulas_dropped |= xml.find(b"<" + self.split.prefix + b"f", start, end) >= 0
        by_row: dict[int, dict[int, int]] = defaultdict(dict)
        for (row, col), style in (styled or {}).items():
            if row > 1:
                by_row[row][col] = style
        self.split.body = [self._header_styles(xml, start, end)]
        for row, cols in sorted(by_row.items()):  # empty styled cells, as for the header
            self.split.body.append(self._styled_row(row, cols))
        self.set_cells(rows_as_cells(rows))

    def _styled_row(self, row: int, styles: dict[int, int]) -> bytes:
        p = self.split.prefix
        body = b"".join(
            b'<%sc r="%s%d" s="%d"/>' % (p, _letters(c), row, s) for c, s in sorted(styles.items())
        )
        return b'<%srow r="%d">%s</%srow>' % (p, row, body, p)

    def _header_styles(self, xml: bytes, start: int, end: int) -> bytes:
        """Row 1 as empty cells in its cells' styles ("" when row 1 is not there)."""
        first = ROW.search(xml, start, end)
        found = ATTR_R.search(first.group(2)) if first else None
        if first is None or (found is not None and found.group(1) != b"1"):
            return b""
        p, col, styled = self.split.prefix, 0, []
        for cell in CELL.finditer(first.group(3) or b""):
            ref = ATTR_R.search(cell.group(2))
            col = _col_number(ref.group(1)) if ref else col + 1
            style = ATTR_S.search(cell.group(2))
            if style:
                styled.append(b'<%sc r="%s1" s="%s"/>' % (p, _letters(col), style.group(1)))
        return b'<%srow r="1">%s</%srow>' % (p, b"".join(styled), p) if styled else b""

    def _merge(self, xml: bytes, start: int, end: int, cells: Cells) -> Iterator[Piece]:
        view = memoryview(xml)
        pending = sorted(cells)
        at, number, pos = 0, 0, start
        for match in ROW.finditer(xml, start, end):
            found = ATTR_R.search(match.group(2))
            number = int(found.group(1)) if found else number + 1
            while at < len(pending) and pending[at] < number:
                yield view[pos : match.start()]
                pos = match.start()
                yield self._new_row(pending[at], cells[pending[at]])
                at += 1
            if at < len(pending) and pending[at] == number:
                yield view[pos : match.start()]
                yield self._edit_row(match, number, cells[number])
                pos = match.end()
                at += 1
            elif not found:
                # A row without r counts from the one before; rows put in before it would
                # shift it, so it gets its number written out.
                yield view[pos : match.start()]
                yield _with_r(match.group(0), match.group(1) + b"row", number)
                pos = match.end()
        yield view[pos:end]
        for r in pending[at:]:
            yield self._new_row(r, cells[r])

    def _new_row(self, number: int, values: dict[int, object]) -> bytes:
        p = self.split.prefix
        body = b"".join(self._cell(number, c, v, None) for c, v in sorted(values.items()))
        lines = max((wrapped_lines(v, self.wrapped[c]) for c, v in values.items()
                     if c in self.wrapped), default=1)  # fmt: skip
        if lines > 1:
            height = b' ht="%g" customHeight="1"' % (LINE_POINTS * lines)
            return b'<%srow r="%d"%s>%s</%srow>' % (p, number, height, body, p)
        return b'<%srow r="%d">%s</%srow>' % (p, number, body, p)

    def _edit_row(self, match: re.Match[bytes], number: int, values: dict[int, object]) -> bytes:
        p, attrs, body = match.group(1), match.group(2), match.group(3) or b""
        attrs = ATTR_SPANS.sub(b"", attrs)  # spans is a hint that new cells would falsify
        out, col, pending = [], 0, sorted(values.items())
        at = 0
        # A cell made in the header row looks as the header does (bold, filled), not as
        # the column below it: the row's own format if it has one, else its cell before.
        row_format = _row_style(attrs) if number == 1 else None
        header = row_format
        for cell in CELL.finditer(body):
            found = ATTR_R.search(cell.group(2))
            col = _col_number(found.group(1)) if found else col + 1
            while at < len(pending) and pending[at][0] < col:
                out.append(self._cell(number, *pending[at], None, header))
                at += 1
            if at < len(pending) and pending[at][0] == col:
                out.append(self._cell(number, col, pending[at][1], cell))
                at += 1
            else:
                out.append(
                    cell.group(0)
                    if found
                    else _with_r(cell.group(0), p + b"c", f"{col_letter(col)}{number}")
                )
            if number == 1 and row_format is None:
                header = _style_of(cell)
        out.extend(self._cell(number, c, v, None, header) for c, v in pending[at:])
        if attrs.rstrip().endswith(b"/"):
            attrs = attrs.rstrip()[:-1]
        return b"<%srow%s>%s</%srow>" % (p, attrs, b"".join(out), p)

    def _cell(
        self, row: int, col: int, value: object, old: re.Match[bytes] | None,
        header: int | None = None,
    ) -> bytes:  # fmt: skip
        """The cell's XML: an old cell keeps its style; a new one takes `header` (the
        header row's style, in row 1) or else its column's."""
        p = self.split.prefix
        style = 0
        if old is None and header is not None:
            style = header
        elif old is None and self.column_styles and not _empty(value):
            style = self.column_styles.get(col, 0)
        if old is not None:
            if b"<" + p + b"f" in (old.group(3) or b""):
                self.formulas_dropped = True
            style = _style_of(old)
        ref = _letters(col) + str(row).encode()
        return cell_xml(p, ref, value, style, self.styles)


COL = re.compile(rb"<(?:\w+:)?col\b([^>]*)>")


def _style_of(cell: re.Match[bytes]) -> int:
    found = ATTR_S.search(cell.group(2))
    return int(found.group(1)) if found and found.group(1).isdigit() else 0


ROW_FORMAT = re.compile(rb"""(?:^|\s)customFormat\s*=\s*["'](?:1|true)["']""")


def _row_style(attrs: bytes) -> int | None:
    """The style a row gives the cells made in it (`customFormat`), as Excel does; None
    when the row has none."""
    if not ROW_FORMAT.search(attrs):
        return None
    found = ATTR_S.search(attrs)
    return int(found.group(1)) if found and found.group(1).isdigit() else None


COL_ATTR = re.compile(rb'\b(min|max|style|width)="([\d.]+)"')
LINE_POINTS = 15  # a line of the default font (11 pt) with its spacing
CHAR_SHARE = 0.9  # of a width's characters (digits) that text of mixed letters fills


def column_styles(head: bytes) -> dict[int, int]:
    """Column → the style index its `<col>` gives cells made in it (none: not listed)."""
    return {col: int(attrs[b"style"]) for col, attrs in _columns(head).items()
            if attrs.get(b"style")}  # fmt: skip


def column_widths(head: bytes) -> dict[int, float]:
    return {col: attrs[b"width"] for col, attrs in _columns(head).items() if b"width" in attrs}


def _columns(head: bytes) -> dict[int, dict[bytes, float]]:
    found: dict[int, dict[bytes, float]] = {}
    for match in COL.finditer(head):
        attrs = {k: float(v) for k, v in COL_ATTR.findall(match.group(1))}
        low = int(attrs.get(b"min", 0))
        for col in range(low, min(int(attrs.get(b"max", low)), low + 16384) + 1):
            found[col] = attrs
    return found


def wrapped_lines(value: object, width: float) -> int:
    """Lines a text takes wrapped in a column `width` characters wide (an estimate that
    errs on the tall side: a proportional font fits more letters than digits)."""
    if not isinstance(value, str) or not value:
        return 1
    per_line = max(int((width - 1) / CHAR_SHARE), 1)
    return -(-len(value) // per_line)


def rows_as_cells(rows: list[list[object]], first: int = 1) -> Cells:
    """Rows of values from sheet row `first` on, as the cells to set (empty ones left out)."""
    return {
        r: {c: v for c, v in enumerate(row, 1) if not _empty(v)}
        for r, row in enumerate(rows, first)
    }


def cell_xml(p: bytes, ref: bytes, value: object, style: int, styles: CellStyles) -> bytes:
    """One `<c>`: a number, a boolean, a date as a serial, or an inline string."""
    # Plain text and numbers first: a first sync writes hundreds of thousands of them.
    if type(value) is str and value:
        return _text_cell(p, ref, value, style, styles)
    if type(value) is int or (type(value) is float and value == value):
        if style and styles.is_date_style(style):
            style = 0  # a number in a date format would read back as a date, every cycle
        return b'<%sc r="%s"%s><%sv>%s</%sv></%sc>' % (
            p, ref, _style(style), p, _number(value), p, p
        )  # fmt: skip
    kind, text = b"", None
    if _empty(value):
        return b'<%sc r="%s" s="%d"/>' % (p, ref, style) if style else b""
    if isinstance(value, bool | np.bool_):
        kind, text = b' t="b"', b"1" if value else b"0"
    elif isinstance(value, datetime | date):
        if not (style and styles.is_date_style(style)):
            timed = isinstance(value, datetime) and value.time() != time(0)
            style = styles.datetime() if timed else styles.date()
        text = _number(serial(value, styles.date1904))
    elif isinstance(value, Integral | Real):
        if style and styles.is_date_style(style):
            style = 0
        text = _number(value)
    elif isinstance(value, timedelta):
        text = _number(value / timedelta(days=1))
    else:
        return _text_cell(p, ref, str(value), style, styles)
    return b'<%sc r="%s"%s%s><%sv>%s</%sv></%sc>' % (p, ref, _style(style), kind, p, text, p, p)


def _text_cell(p: bytes, ref: bytes, text: str, style: int, styles: CellStyles) -> bytes:
    if looks_like_formula(text):
        style = styles.text_not_formula()  # shown as typed, and stays text when edited
    inline = b'<%st xml:space="preserve">%s</%st>' % (p, escape_text(text), p)
    return b'<%sc r="%s"%s t="inlineStr"><%sis>%s</%sis></%sc>' % (
        p, ref, _style(style), p, inline, p, p
    )  # fmt: skip


def escape_text(text: str) -> bytes:
    if not NEEDS_ESCAPE.search(text):
        return text.encode("utf-8")
    text = ESCAPE_X.sub(r"_x005F_\1", text)
    text = CONTROL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.encode("utf-8")


def update_dimension(split: Split, max_row: int, max_col: int) -> None:
    """Widen `<dimension ref>` to cover the cells written (it is a hint readers trust)."""
    if not max_row:
        return
    found = DIMENSION.search(split.head)
    if found is None:
        return
    corners = CELL_REF.findall(found.group(2))
    if not corners:
        return
    first = corners[0]
    last = corners[-1]
    rows = max(int(last[1]), max_row)
    cols = max(_col_number(last[0]), max_col)
    ref = first[0] + first[1] + b":" + col_letter(cols).encode() + str(rows).encode()
    split.head = split.head[: found.start(2)] + ref + split.head[found.end(2) :]


def _last_row_number(xml: bytes, start: int, end: int) -> int | None:
    """The number of the last row element, or 0 for no rows; None when it has no r."""
    at = max(xml.rfind(b"<row", start, end), xml.rfind(b":row", start, end))
    if at < 0:
        return 0 if xml.find(b"<", start, end) < 0 else None
    found = ATTR_R.search(xml, at, xml.find(b">", at, end))
    return int(found.group(1)) if found else None


def _with_r(element: bytes, tag: bytes, r: int | str) -> bytes:
    at = element.index(tag) + len(tag)
    return element[:at] + b' r="' + str(r).encode() + b'"' + element[at:]


@functools.cache
def _letters(col: int) -> bytes:
    return col_letter(col).encode()


def _col_number(ref: bytes) -> int:
    """The column of a cell reference (b"F23" → 6); 0 when it starts with no letter."""
    letters = REF_LETTERS.match(ref).group()  # type: ignore[union-attr]  # matches always
    return col_index(letters.decode()) if letters else 0


def _number(value: object) -> bytes:
    if isinstance(value, Integral):
        return str(int(value)).encode()
    number = float(value)  # type: ignore[arg-type]
    return (str(int(number)) if number.is_integer() else repr(number)).encode()


def _empty(value: object) -> bool:
    if value is None or (isinstance(value, str) and value == ""):
        return True
    return isinstance(value, float | datetime) and value != value  # NaN, NaT


def _style(style: int) -> bytes:
    return b' s="%d"' % style if style else b""
