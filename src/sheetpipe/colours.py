"""The conditional-format formulas sheetpipe installs, written the same for Excel,
LibreOffice and Google Sheets (each backend adds its own wrapping), and found again.

A rule is sheetpipe's when its formula has exactly the shape written here: a person's
own rules, whatever they say, are never taken for one and never removed.
"""

from __future__ import annotations

import re
from functools import singledispatch

from sheetpipe.core.sheet.cells import YES_WORDS, col_index, col_letter
from sheetpipe.model import DUE_FILLS, HEALTH_FILLS, DueColours, HealthColours

_DUE_COLUMN = re.compile(r"^AND\(ISNUMBER\(\$([A-Z]+)2\),")
_DONE_COLUMN = re.compile(r"NOT\(OR\(\$([A-Z]+)2=TRUE,")


@singledispatch
def colour_rules(spec: HealthColours | DueColours) -> dict[str, str]:
    """Each whole-row rule of `spec` as formula → fill, in the order they are installed."""
    raise TypeError(f"{spec!r} colours no rows")


@colour_rules.register
def _(spec: HealthColours) -> dict[str, str]:
    health = col_letter(spec.health_col)
    return {f'${health}2="{value}"': fill for value, fill in HEALTH_FILLS.items()}


@colour_rules.register
def _(spec: DueColours) -> dict[str, str]:
    return {due_formulas(spec)[kind]: fill for kind, fill in DUE_FILLS.items()}


def due_formulas(spec: DueColours) -> dict[str, str]:
    """Each of DUE_FILLS' kinds → its formula on row 2 (relative rows, fixed columns).

    `Due` counts when it is a date (a number): text typed there colours nothing. Done
    is read as sheetpipe reads it: TRUE (a Google checkbox) or a yes-like word, which
    both engines compare case-insensitively."""
    due, done = col_letter(spec.due_col), col_letter(spec.done_col)
    words = ",".join(f'${done}2="{word}"' for word in sorted(YES_WORDS))
    still_open = f"NOT(OR(${done}2=TRUE,{words}))"
    return {
        "overdue": f"AND(ISNUMBER(${due}2),${due}2<TODAY(),{still_open})",
        "today": f"AND(ISNUMBER(${due}2),INT(${due}2)=TODAY(),{still_open})",
    }


def is_due_rule(formula: str) -> bool:
    """Whether a rule's formula (without a leading =) has the shape of one of ours."""
    return bool(_DUE_COLUMN.match(_plain(formula)))


def due_colours(formulas: list[str], last_col: int) -> DueColours | None:
    """The DueColours that `formulas` (one tab's rules over A2:last) are exactly, if any."""
    ours = [_plain(f) for f in formulas if is_due_rule(f)]
    if not ours:
        return None
    due, done = _DUE_COLUMN.match(ours[0]), _DONE_COLUMN.search(ours[0])
    if due is None or done is None:
        return None
    spec = DueColours(col_index(due.group(1)), col_index(done.group(1)), last_col)
    return spec if sorted(ours) == sorted(due_formulas(spec).values()) else None


def _plain(formula: str) -> str:
    """The formula as written here: LibreOffice saves TRUE as TRUE() and may add spaces."""
    return re.sub(r"\s+", "", formula.removeprefix("=")).replace("TRUE()", "TRUE")


__all__ = ["colour_rules", "due_colours", "due_formulas", "is_due_rule"]
