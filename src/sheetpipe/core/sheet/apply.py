"""Apply a ChangeSet to a Snapshot in memory: the reference every backend must match."""

from __future__ import annotations

from dataclasses import replace

from sheetpipe.core.sheet.cells import trim
from sheetpipe.model import (
    CellLink,
    ChangeSet,
    Row,
    Shaded,
    Snapshot,
    Tab,
    same_slot,
    whole_tabs,
)


def apply_changes(snapshot: Snapshot, changes: ChangeSet, status_tab: str = "Status") -> Snapshot:
    tabs = {
        key: Tab(t.name, [list(r) for r in t.rows], t.formats) for key, t in snapshot.tabs.items()
    }
    result = replace(snapshot, tabs=tabs)
    for name, rows in changes.new_tabs:
        if result.find(name) is None:
            tabs[name] = Tab(name, [list(r) for r in rows])
    for tab_name, col, header in changes.new_columns:
        _put(result.find(tab_name).rows, 1, col, header)  # type: ignore[union-attr]
    for write in changes.writes:
        rows = result.find(write.tab).rows  # type: ignore[union-attr]
        for row, value in zip(write.rows, write.values, strict=True):
            _put(rows, row, write.col, value)
    for tab_name, first, new_rows in changes.appends:
        rows = result.find(tab_name).rows  # type: ignore[union-attr]
        for offset, values in enumerate(new_rows):
            for col, value in enumerate(values, start=1):
                _put(rows, first + offset, col, value)
    for tab_name, spec in changes.formats:
        tab = result.find(tab_name)
        assert tab is not None
        tab.formats = frozenset({f for f in tab.formats if not same_slot(f, spec)} | {spec})
    for name, rows in whole_tabs(changes, status_tab).items():
        tab = result.find(name)
        if tab is None:
            tab = tabs.setdefault(name, Tab(name, []))
        # As a sheet shows a link: its text (the link itself is the backend's to keep).
        tab.rows = [[str(v) if isinstance(v, CellLink | Shaded) else v for v in r] for r in rows]
    for tab in tabs.values():
        trim(tab.rows)
    return result


def _put(rows: list[Row], row: int, col: int, value: object) -> None:
    while len(rows) < row:
        rows.append([])
    target = rows[row - 1]
    if len(target) < col:
        target.extend([None] * (col - len(target)))
    target[col - 1] = value
