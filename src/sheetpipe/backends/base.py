"""The one interface every storage implements, and the shared contract tests check."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator

from sheetpipe.core.sheet.cells import plural
from sheetpipe.model import ChangeSet, Snapshot


class Backend(ABC):
    """A spreadsheet. `read` then `apply` happen inside one `session`."""

    #: reads and writes the last cycle spent, for Status and benchmarks
    reads: int = 0
    writes: int = 0

    @abstractmethod
    def describe(self) -> str:
        """Where the sheet is, for messages: a file path or a spreadsheet title."""

    @abstractmethod
    def exists(self) -> bool: ...

    @abstractmethod
    def read(self, only: Collection[str] | None = None) -> Snapshot:
        """Every tab's values and the formatting sheetpipe installed, in one pass; with
        `only`, just those tabs (by name, any case), for a step that needs no more."""

    @abstractmethod
    def apply(self, changes: ChangeSet, status_tab: str) -> None:
        """Carry out a change set, all or nothing where the storage allows it."""

    def create(self, tabs: list[tuple[str, list[list]]], status_tab: str = "") -> None:
        """Make a new sheet holding these tabs (for `sheetpipe init`), laid out as `apply`
        lays out a new tab: column widths, a bold frozen header and, except on Status, a
        filter."""
        raise NotImplementedError(f"{type(self).__name__} cannot create a new sheet")

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Hold whatever lock keeps two writers apart for one cycle."""
        yield

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Hold the sheet for a daemon's whole life, where the storage has a lock."""
        yield

    def row_link(self, tab: str, row: int) -> str:
        """A link that opens the sheet at this row, for an e-mail; "" when there is none."""
        return ""

    def busy(self) -> str | None:
        """Why a real sync would have to wait right now (read-only commands still work)."""
        return None

    def calls(self) -> str:
        return f"{plural(self.reads, 'read')}, {plural(self.writes, 'write')}"

    def start_cycle(self) -> None:
        """Count this cycle's calls from zero (re-plans within it add up)."""
        self.reads = self.writes = 0

    def calls_if_written(self, changes: ChangeSet) -> str:
        """The calls this cycle will have spent once `changes` is applied (for Status)."""
        writes = self.writes + (0 if changes.is_empty() else 1)
        return f"{plural(self.reads, 'read')}, {plural(writes, 'write')}"
