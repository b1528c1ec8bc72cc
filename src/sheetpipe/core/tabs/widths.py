"""Column widths for the columns sheetpipe makes: wide enough for what it writes there.

A width is set once, when sheetpipe creates a tab or adds a column, from the header and
the values that cycle writes into it. It is never set again: a width a person chose
stays. Widths are in characters of the sheet's default font (xlsx counts them so; the
Google backend turns them into pixels).

A tab made before its rows exist (Tasks, History at `init`) would otherwise fit only its
header: its Deal column takes the widest deal name the pipelines hold (`shown_elsewhere`).

Limits: the first `SAMPLE` values of a column stand for the rest, a deal named later
longer than those measured is cut where the next cell holds something, and text longer
than the widest width is too (a person widens the column).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from itertools import islice

from sheetpipe.core.sheet import cells
from sheetpipe.model import Cell, ChangeSet, Row, tab_key, whole_tabs

NARROWEST, WIDEST = 6.0, 60.0
SAMPLE = 2000  # values looked at per column
FILTER_BUTTON = 3  # a header with a filter shows a button over its right end
# How wide the date formats the backends write show (yyyy-mm-dd, yyyy-mm-dd hh:mm).
DATE_CHARS, DATETIME_CHARS = 10, 16
BOOL_CHARS = 5  # TRUE / FALSE
# Columns whose content is known before it is there (a template tab, an ID column added
# empty): at least this wide. Text people read whole is wide; the rest fits its values.
AT_LEAST = {
    "id": 9, "deal id": 9, "task id": 36, "when": DATETIME_CHARS, "created": DATETIME_CHARS,
    "due": DATE_CHARS, "in stage since": DATE_CHARS, "last contact": DATE_CHARS,
    "expected close": DATE_CHARS, "deal": 36, "company": 24, "email": 26, "task": 40,
    "why": 40, "playbook": 50, "detail": 60, "item": 24, "value": 12, "rule": 24,
    "owner": 18, "kind": 10, "from stage": 14, "to stage": 14, "pipeline": 12, "by": 12,
}  # fmt: skip


# Sentences people read whole, in the rows sheetpipe makes (Tasks, Today, Status): they
# wrap onto more lines, each row as tall as its text needs, rather than being cut at the
# column's width. Not Why: it is in a person's rows, and their height is theirs.
WRAPPED = frozenset({"task", "detail"})
# Columns that show what other tabs hold: a Deal column shows the pipelines' deal names.
SHOWN_ELSEWHERE = ("deal",)


def shown_elsewhere(tabs: Iterable[list[Row]]) -> dict[str, int]:
    """Characters of the widest value under each SHOWN_ELSEWHERE header in `tabs` (each
    tab's rows, header first), by normalised header, every value looked at."""
    widest: dict[str, int] = {}
    for rows in tabs:
        header = [cells.norm(h) for h in (rows[0] if rows else [])]
        for name in SHOWN_ELSEWHERE:
            if name in header:
                at = header.index(name) + 1
                longest = max((_chars(v) for v in _column(rows[1:], at)), default=0)
                widest[name] = max(widest.get(name, 0), longest)
    return widest


def width(header: Cell, values: Iterable[Cell], elsewhere: dict[str, int] | None = None) -> float:
    """Characters a column needs to show its header and values whole, within limits."""
    key = cells.norm(header)
    need = max(len(cells.text(header)) + FILTER_BUTTON, AT_LEAST.get(key, 0))
    need = max(need, (elsewhere or {}).get(key, 0))
    for value in islice(values, SAMPLE):
        need = max(need, _chars(value))
    return min(max(float(need) + 1, NARROWEST), WIDEST)  # one more: a cell's padding


def _chars(value: Cell) -> int:
    if isinstance(value, datetime):
        has_time = (value.hour, value.minute, value.second) != (0, 0, 0)
        return DATETIME_CHARS if has_time else DATE_CHARS
    if isinstance(value, date):
        return DATE_CHARS
    if isinstance(value, bool):
        return BOOL_CHARS
    return len(cells.text(value))


def tab_widths(rows: list[Row], elsewhere: dict[str, int] | None = None) -> dict[int, float]:
    """Widths of every column of a tab sheetpipe lays out whole (1-based columns)."""
    header = rows[0] if rows else []
    count = max((len(r) for r in rows), default=0)
    return {
        col: width(_at(header, col), _column(rows[1:], col), elsewhere)
        for col in range(1, count + 1)
    }


def plan_widths(
    changes: ChangeSet, status_tab: str, elsewhere: dict[str, int] | None = None
) -> ChangeSet:
    """The widths of the tabs and columns `changes` makes (a change set of only those).

    A new tab's columns are measured on its rows, the rows appended to it and, for
    Status, the report, and its Deal column on `elsewhere` (`shown_elsewhere` of the
    sheet); a new column on its header and the values written to it."""
    found = ChangeSet()
    body: dict[str, list[Row]] = defaultdict(list)
    for tab, _first, rows in changes.appends:
        body[tab_key(tab)] += rows
    for name, rows in whole_tabs(changes, status_tab).items():
        body[tab_key(name)] += rows[1:]
    made = {tab_key(name) for name, _ in changes.new_tabs}
    for name, rows in changes.new_tabs:
        for col, chars in tab_widths([*rows, *body[tab_key(name)]], elsewhere).items():
            found.widths.append((name, col, chars))
        header = rows[0] if rows else []
        found.wrapped += [(name, col) for col, h in enumerate(header, 1) if _wraps(h)]
    written: dict[tuple[str, int], list[Cell]] = defaultdict(list)
    for write in changes.writes:
        written[tab_key(write.tab), write.col] += write.values[:SAMPLE]
    for tab, col, header in changes.new_columns:
        if tab_key(tab) not in made:
            found.widths.append((tab, col, width(header, written[tab_key(tab), col])))
            if _wraps(header):
                found.wrapped.append((tab, col))
    return found


def _wraps(header: Cell) -> bool:
    return cells.norm(header) in WRAPPED


def _at(row: Row, col: int) -> Cell:
    return row[col - 1] if col <= len(row) else None


def _column(rows: list[Row], col: int) -> Iterator[Cell]:
    return (_at(row, col) for row in rows)
