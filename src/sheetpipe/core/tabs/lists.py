"""The Lists tab: the choices of every dropdown sheetpipe installs, one column each.

A dropdown takes its choices from a range of this tab rather than from a list written
into the validation itself: an xlsx literal list holds at most 255 characters and
cannot hold a comma or a quote safely, while a range holds any stage name and any
number of stages, the same way on both backends. sheetpipe owns the tab; it rewrites
the cells that differ from the Stages tab each cycle, so the dropdowns follow Stages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sheetpipe.core.contract import Names
from sheetpipe.core.inputs.stages import Stages
from sheetpipe.core.sheet import cells
from sheetpipe.core.sheet.cells import norm
from sheetpipe.model import (
    ChangeSet,
    ColumnWrite,
    Found,
    ListDropdown,
    Problem,
    Row,
    Snapshot,
    Tab,
)

DONE_CHOICES = ("Yes", "No")
FIRST_ROW = 2  # row 1 is the header


def wanted_lists(names: Names, stages: Stages) -> list[tuple[str, tuple[str, ...]]]:
    """(header, choices) of each column, in column order: each pipeline's stages, then
    the Done choices of Tasks."""
    lists = [(f"{p} stage", tuple(s.name for s in stages.of(p))) for p in names.pipelines]
    return [*lists, ("Task done", DONE_CHOICES)]


@dataclass
class Lists(Found):
    """The Lists step: its changes, and the dropdown of each list by its header (the
    dropdown's own column is 0 here: the step that installs it sets it)."""

    dropdowns: dict[str, ListDropdown] = field(default_factory=dict)


def plan_lists(snapshot: Snapshot, names: Names, stages: Stages) -> Lists:
    """Write the Lists tab, and give each list's dropdown.

    A tab of that name that a person made for lists of their own is never written to:
    it is reported, and the dropdowns stay as they are.
    """
    lists = wanted_lists(names, stages)
    grid = _grid(lists)
    tab = snapshot.find(names.lists)
    changes = ChangeSet()
    if tab is None:
        changes.new_tabs.append((names.lists, grid))
    elif foreign := _foreign(tab, {header for header, _ in lists}):
        return Lists(problems=[_not_ours(tab, foreign)])
    else:
        changes.writes += _differences(tab, grid)
    title = tab.name if tab else names.lists
    dropdowns = {
        header: ListDropdown(0, title, col, len(choices))
        for col, (header, choices) in enumerate(lists, start=1)
        if choices
    }
    return Lists(changes, dropdowns=dropdowns)


def _foreign(tab: Tab, ours: set[str]) -> list[str]:
    """Headers on the tab that are not the lists sheetpipe writes now. Strict on purpose:
    a person's column is never overwritten (after a pipeline is renamed in the config,
    the old list's column makes the tab foreign too, until the tab is deleted)."""
    wanted = {norm(h) for h in ours}
    return [h for h in tab.header if h and norm(h) not in wanted]


def _not_ours(tab: Tab, foreign: list[str]) -> Problem:
    shown = ", ".join(f'"{h}"' for h in foreign[:3])
    return Problem(
        f"{tab.name} tab",
        f"the tab holds columns sheetpipe does not own ({shown}), so it is left alone and "
        "the Stage and Done dropdowns are not updated. Rename your tab, or give sheetpipe "
        'another one in sheetpipe.toml: [tabs] lists = "Stage lists".',
    )


def _grid(lists: list[tuple[str, tuple[str, ...]]]) -> list[Row]:
    height = max(len(choices) for _, choices in lists)
    columns = [[header, *choices, *[None] * (height - len(choices))] for header, choices in lists]
    return [list(row) for row in zip(*columns, strict=True)]


def _differences(tab: Tab, grid: list[Row]) -> list[ColumnWrite]:
    """Cells of the tab that differ from the grid; cells beyond it are cleared."""
    height = max(len(grid), len(tab.rows))
    width = max(len(row) for row in [*grid, *tab.rows])
    writes = []
    for col in range(width):
        rows, values = [], []
        for row in range(height):
            want = _at(grid, row, col)
            if cells.text(_at(tab.rows, row, col)) != cells.text(want):
                rows.append(row + 1)
                values.append(want)
        if rows:  # named after its list (a column beyond them all: cleared, unnamed)
            name = cells.text(_at(grid, 0, col))
            writes.append(ColumnWrite(tab.name, col + 1, name, rows, values))
    return writes


def _at(rows: list[Row], row: int, col: int) -> object:
    return rows[row][col] if row < len(rows) and col < len(rows[row]) else None
