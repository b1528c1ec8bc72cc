"""A plan's changes as a person reads them: `sheetpipe sync --dry-run`'s listing."""

from __future__ import annotations

from functools import singledispatch

from sheetpipe.core.cycle import header_after
from sheetpipe.core.sheet import cells
from sheetpipe.model import (
    ChangeSet,
    Checkbox,
    DueColours,
    FormatSpec,
    FrozenHeader,
    HealthColours,
    ListDropdown,
    RepViews,
    Snapshot,
)


def render_changes(snapshot: Snapshot, changes: ChangeSet, limit: int = 200) -> str:
    """The change set as a person reads it, a line per change (the first `limit`)."""
    lines: list[str] = []
    for name, rows in changes.new_tabs:
        lines.append(f"+ tab {name} ({cells.plural(len(rows) - 1, 'row')} under its header)")
    for tab, col, header in changes.new_columns:
        lines.append(f"+ column {cells.a1(tab, 1, col)} {header}")
    for write in changes.writes:
        tab = snapshot.find(write.tab)
        for row, value in zip(write.rows, write.values, strict=True):
            old = _cell(tab.rows if tab else [], row, write.col)
            lines.append(
                f"~ {cells.a1(write.tab, row, write.col)} {write.name}: "
                f"{cells.text(old)!r} → {cells.text(value)!r}"
            )
    for tab, first, rows in changes.appends:
        for offset, values in enumerate(rows):
            shown = " | ".join(_one_line(cells.text(v)) for v in values)
            lines.append(f"+ {tab} row {first + offset}: {shown}")
    for tab, spec in changes.formats:
        header = header_after(snapshot, tab, changes)
        lines.append(f"+ format {tab}: {describe_format(spec, header)}")
    for tab, rows in changes.rewrites.items():
        lines.append(
            f"~ {tab} tab rewritten ({cells.plural(len(rows) - 1, 'row')} under its header)"
        )
    if changes.status is not None:
        lines.append(f"~ Status tab rewritten ({len(changes.status)} rows)")
    if len(lines) > limit:
        lines = lines[:limit] + [f"… and {len(lines) - limit} more changes"]
    return "\n".join(lines) if lines else "nothing to change"


def _one_line(text: str, limit: int = 200) -> str:
    """A cell on the change's one line: line breaks shown, a long text (an e-mail's
    body) cut."""
    text = text.replace("\r\n", "\n").replace("\n", " ⏎ ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cell(rows: list[list], row: int, col: int) -> object:
    if row - 1 < len(rows) and col - 1 < len(rows[row - 1]):
        return rows[row - 1][col - 1]
    return None


def _column(header: list[str], col: int) -> str:
    """A column named by its header and letter, as the sheet shows them."""
    name = header[col - 1] if col - 1 < len(header) else ""
    return f"{name} (column {cells.col_letter(col)})" if name else cells.col_letter(col)


@singledispatch
def describe_format(spec: FormatSpec, header: list[str]) -> str:
    """A format in words, naming the columns by header and letter as the sheet shows them."""
    return str(spec)  # a format added to the model before it was given words here


@describe_format.register
def _(spec: HealthColours, header: list[str]) -> str:
    return (f"row colours keyed on {_column(header, spec.health_col)}, "
            f"columns A:{cells.col_letter(spec.last_col)}")  # fmt: skip


@describe_format.register
def _(spec: ListDropdown, header: list[str]) -> str:
    last = cells.col_letter(spec.source_col) + str(1 + spec.count)
    return (f"dropdown on {_column(header, spec.col)}, its {cells.plural(spec.count, 'choice')} "
            f"from {cells.a1(spec.source_tab, 2, spec.source_col)}:{last}")  # fmt: skip


@describe_format.register
def _(spec: DueColours, header: list[str]) -> str:
    return (f"red rows past {_column(header, spec.due_col)}, amber on the day, "
            f"until {_column(header, spec.done_col)} is ticked")  # fmt: skip


@describe_format.register
def _(spec: RepViews, header: list[str]) -> str:
    reps = ", ".join(sorted(spec.owners)) or "none"
    return f"a filter view per rep on {_column(header, spec.owner_col)}: {reps}"


@describe_format.register
def _(spec: Checkbox, header: list[str]) -> str:
    return f'checkbox on {_column(header, spec.col)} ("{spec.ticked}" when ticked)'


@describe_format.register
def _(spec: FrozenHeader, header: list[str]) -> str:
    return "header row frozen"
