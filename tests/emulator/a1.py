"""A1 notation as the Sheets API reads and writes it: `'My tab'!A1:C`, `Sheet1`, `B:B`, `2:2`."""

from __future__ import annotations

import re
from dataclasses import dataclass

_CELL = re.compile(r"^([A-Za-z]*)(\d*)$")


class RangeError(ValueError):
    """A range Google would reject: 'Unable to parse range: …'."""


@dataclass(frozen=True)
class GridRange:
    """0-based, end-exclusive; None means open (to the grid's edge)."""

    sheet: str | None
    row0: int | None
    col0: int | None
    row1: int | None
    col1: int | None


def col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def col_letters(index: int) -> str:
    index += 1
    out = ""
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(65 + rest) + out
    return out


def split_sheet(text: str) -> tuple[str | None, str]:
    """('My tab', 'A1:C') from "'My tab'!A1:C"; (None, 'A1') from 'A1'."""
    if text.startswith("'"):
        end = 1
        title = ""
        while end < len(text):
            if text[end] == "'":
                if text[end + 1 : end + 2] == "'":
                    title += "'"
                    end += 2
                    continue
                break
            title += text[end]
            end += 1
        rest = text[end + 1 :]
        if rest == "!":
            raise RangeError(text)
        if rest.startswith("!"):
            return title, rest[1:]
        if rest == "":
            return title, ""
        raise RangeError(text)
    if "!" in text:
        title, rest = text.rsplit("!", 1)
        if not rest:
            raise RangeError(text)
        return title, rest
    return None, text


def parse(text: str, sheet_titles: list[str]) -> GridRange:
    """A range; a bare name that is a sheet's title means the whole sheet."""
    title, cells = split_sheet(text)
    if title is None and _sheet_named(text, sheet_titles) is not None:
        return GridRange(_sheet_named(text, sheet_titles), None, None, None, None)
    if title is not None and cells == "":
        return GridRange(title, None, None, None, None)
    parts = cells.split(":")
    if len(parts) > 2 or not cells:
        raise RangeError(text)
    first = _cell(parts[0], text)
    last = _cell(parts[1], text) if len(parts) == 2 else first
    (c0, r0), (c1, r1) = first, last
    if len(parts) == 1 and (c0 is None or r0 is None):
        raise RangeError(text)
    # Google orders reversed corners (B2:A1 is A1:B2).
    if c0 is not None and c1 is not None and c1 < c0:
        c0, c1 = c1, c0
    if r0 is not None and r1 is not None and r1 < r0:
        r0, r1 = r1, r0
    return GridRange(
        title,
        r0 if r0 is not None else (0 if c0 is not None else None),
        c0 if c0 is not None else (0 if r0 is not None else None),
        None if r1 is None else r1 + 1,
        None if c1 is None else c1 + 1,
    )


def _cell(part: str, whole: str) -> tuple[int | None, int | None]:
    m = _CELL.match(part)
    if not m or (not m.group(1) and not m.group(2)):
        raise RangeError(whole)
    col = col_index(m.group(1)) if m.group(1) else None
    row = int(m.group(2)) - 1 if m.group(2) else None
    if row is not None and row < 0:
        raise RangeError(whole)
    return col, row


def _sheet_named(text: str, titles: list[str]) -> str | None:
    for title in titles:
        if title == text:
            return title
    return None


def quote(title: str) -> str:
    """How Google names a sheet in a returned range: quoted only when it must be."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", title) and not re.fullmatch(
        r"[A-Za-z]{1,3}\d+", title
    ):
        return title
    return "'" + title.replace("'", "''") + "'"


def render(title: str, row0: int, col0: int, row1: int, col1: int) -> str:
    """'Sheet1!A1:D4' (end-exclusive bounds in, inclusive A1 out)."""
    start = f"{col_letters(col0)}{row0 + 1}"
    end = f"{col_letters(col1 - 1)}{row1}"
    return f"{quote(title)}!{start}" + ("" if start == end else f":{end}")
