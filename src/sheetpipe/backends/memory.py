"""A sheet held in memory: the reference backend for tests and dry runs."""

from __future__ import annotations

from collections.abc import Collection

from sheetpipe.backends.base import Backend
from sheetpipe.core.sheet.apply import apply_changes
from sheetpipe.core.sheet.cells import col_letter
from sheetpipe.model import (
    CellLink,
    ChangeSet,
    Shaded,
    Snapshot,
    Tab,
    marked_cells,
    tab_key,
    whole_tabs,
)


class MemoryBackend(Backend):
    def __init__(self, snapshot: Snapshot | None = None):
        self.snapshot = snapshot or Snapshot({}, "memory")
        # The links of the tabs sheetpipe rewrites whole: tab → {A14: (tab, D7)}.
        self.links: dict[str, dict[str, tuple[str, str]]] = {}
        self.fills: dict[str, dict[str, str]] = {}  # and their fills: tab → {C14: rgb}

    def describe(self) -> str:
        return "memory"

    def exists(self) -> bool:
        return bool(self.snapshot.tabs)

    def create(self, tabs: list[tuple[str, list[list]]], status_tab: str = "") -> None:
        self.snapshot = Snapshot({name: Tab(name, [list(r) for r in rows]) for name, rows in tabs})

    def read(self, only: Collection[str] | None = None) -> Snapshot:
        self.reads += 1
        copy = apply_changes(self.snapshot, ChangeSet())  # a copy, as a real read is
        if only is not None:
            wanted = {tab_key(name) for name in only}
            copy.tabs = {n: t for n, t in copy.tabs.items() if tab_key(n) in wanted}
        return copy

    def apply(self, changes: ChangeSet, status_tab: str) -> None:
        self.writes += 1
        self.snapshot = apply_changes(self.snapshot, changes, status_tab)
        for name, rows in whole_tabs(changes, status_tab).items():
            links = marked_cells(rows, CellLink)
            fills = marked_cells(rows, Shaded)
            self.links[tab_key(name)] = {_ref(*at): (v.tab, v.cell) for at, v in links.items()}
            self.fills[tab_key(name)] = {_ref(*at): v.rgb for at, v in fills.items()}


def _ref(row: int, col: int) -> str:
    return f"{col_letter(col)}{row}"
