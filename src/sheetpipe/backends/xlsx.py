"""The embedded default: an .xlsx workbook on disk that Excel and LibreOffice open.

The file is the user's package. A cycle reads it once (python-calamine for the cells);
when the change set is not empty it writes a new package in which only the parts and
cells sheetpipe owns differ (sheetpipe/xlsx), then swaps it in atomically, but only if
the file on disk is still the one it read and nobody has it open.

Limits, on purpose:
- A save a person makes in the instant between the last check and the swap (a few
  microseconds) can still be replaced; the previous file stays in the `.bak` beside it.
- Only one sheetpipe works on a workbook at a time (a lock file beside it); the daemon
  holds it for its whole life.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

import filelock

from sheetpipe.backends.base import Backend
from sheetpipe.core.sheet.cells import a1, col_letter, looks_like_formula, norm
from sheetpipe.core.tabs.widths import WRAPPED, shown_elsewhere, tab_widths
from sheetpipe.errors import (
    AlreadyRunning,
    BackendError,
    SheetChanged,
    SheetNotFound,
    WorkbookBusy,
    storage_error,
)
from sheetpipe.model import ChangeSet, Snapshot, tab_key
from sheetpipe.xlsx.edit import WorkbookEdit
from sheetpipe.xlsx.package import Package, PackageError, write_package
from sheetpipe.xlsx.read import read_tabs

Stamp = tuple[int, int, int]  # size, mtime_ns, inode: a save by anyone changes one of them


class XlsxBackend(Backend):
    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._read: tuple[Package, Stamp] | None = None  # what apply() writes on
        self._lock = filelock.FileLock(self.lock_path, timeout=0)

    def describe(self) -> str:
        return str(self.path)

    def exists(self) -> bool:
        return self.path.exists()

    @property
    def backup_path(self) -> Path:
        return self.path.with_name(self.path.name + ".bak")

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(f".{self.path.name}.sheetpipe-lock")

    def office_lock(self) -> Path | None:
        """The lock file Excel (~$name) or LibreOffice (.~lock.name#) keeps while open."""
        for name in (f"~${self.path.name}", f".~lock.{self.path.name}#"):
            candidate = self.path.with_name(name)
            if candidate.exists():
                return candidate
        return None

    def row_link(self, tab: str, row: int) -> str:
        """The workbook as a file link, opened at the row where Excel honours the anchor."""
        anchor = quote(a1(tab, row, 1), safe="!'")
        return f"{self.path.resolve().as_uri()}#{anchor}"

    def busy(self) -> str | None:
        office = self.office_lock()
        if office is None:
            return None
        return (
            f"{self.path.name} is open in Excel or LibreOffice ({office.name} exists): reading "
            "works, but a real sync waits until it is closed."
        )

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """The lock for one cycle; re-entered at no cost inside `hold` (the daemon's)."""
        try:
            self._lock.acquire()
        except filelock.Timeout:
            raise AlreadyRunning(
                f"another sheetpipe is already working on {self.path} (lock {self.lock_path}); "
                "this one stops. Stop the other one, or wait for its cycle to end."
            ) from None
        except OSError as exc:  # a folder sheetpipe may not write to holds no lock file
            raise storage_error(exc, self.lock_path, "writing") from exc
        try:
            if self._lock.lock_counter == 1:
                self._remove_leftovers()
            yield
        finally:
            self._lock.release()
            if not self._lock.is_locked:
                with contextlib.suppress(OSError):
                    self.lock_path.unlink()

    hold = session  # the daemon holds the same lock for its whole life

    def _remove_leftovers(self) -> None:
        """Temporary files a killed run left behind (only a lock holder writes them)."""
        for leftover in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                leftover.unlink()

    def _check_not_open(self) -> None:
        office = self.office_lock()
        if office:
            raise WorkbookBusy(
                f"{self.path.name} is open in Excel or LibreOffice ({office.name} exists); "
                "this cycle is skipped so that nothing overwrites the open session. Close the "
                "workbook (or delete the lock file if nobody has it open) and it runs next time."
            )

    def read(self, only: Collection[str] | None = None) -> Snapshot:
        if not self.path.exists():
            raise SheetNotFound(
                f"{self.path} does not exist; create it with `sheetpipe init --xlsx {self.path}`."
            )
        self.reads += 1
        try:
            with open(self.path, "rb") as handle:
                stamp = _stamp(os.fstat(handle.fileno()))
                data = handle.read()
        except OSError as exc:
            raise storage_error(exc, self.path, "reading") from exc
        try:
            package = Package(io.BytesIO(data))
            tabs = read_tabs(data, package, only)
        except PackageError as exc:
            raise BackendError(
                f"{self.path} could not be read as an .xlsx workbook: {exc}. Nothing was "
                f"changed; the previous good copy, if any, is {self.backup_path}."
            ) from exc
        self._read = (package, stamp)
        return Snapshot(tabs, str(self.path), date_cells="datetime")

    def apply(self, changes: ChangeSet, status_tab: str) -> None:
        if self._read is None:
            raise RuntimeError("apply() needs a read() first in the same session")
        package, stamp = self._read
        self._check_unchanged(stamp)
        edit = WorkbookEdit(package)
        try:
            edit.apply(changes, status_tab)
            replaced, added, removed = edit.parts()
        except PackageError as exc:
            raise BackendError(
                f"{self.path} cannot be changed safely: {exc}. Nothing was written."
            ) from exc
        self.writes += 1
        try:
            replace_atomically(
                self.path,
                lambda out: write_package(package, out, replaced, added, removed),
                self.backup_path,
                lambda: self._check_unchanged(stamp),
            )
        except OSError as exc:
            raise storage_error(exc, self.path, "writing") from exc
        self._read = None  # the next change starts from a fresh read

    def _check_unchanged(self, stamp: Stamp) -> None:
        """Right before a write: nobody has it open, nobody saved it since it was read."""
        self._check_not_open()
        try:
            now = _stamp(self.path.stat())
        except FileNotFoundError:
            now = None
        if now != stamp:
            raise SheetChanged(
                f"{self.path} was saved by someone else during this cycle; nothing was "
                "written. The cycle plans again from the new file."
            )

    def create(self, tabs: list[tuple[str, list[list]]], status_tab: str = "") -> None:
        """A new workbook holding these tabs (for `sheetpipe init` and the demo)."""
        import openpyxl  # only here: a sync never loads a workbook through it

        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        bold = openpyxl.styles.Font(bold=True)
        wrap = openpyxl.styles.Alignment(wrap_text=True)
        elsewhere = shown_elsewhere(rows for _, rows in tabs)
        for name, rows in tabs:
            ws = wb.create_sheet(name)
            for r, values in enumerate(rows, start=1):
                for c, value in enumerate(values, start=1):
                    cell = ws.cell(r, c, value)
                    if looks_like_formula(value):
                        cell.data_type = "s"  # openpyxl would make "=…" a formula
                    if r == 1:
                        cell.font = bold
            for col, chars in tab_widths(rows, elsewhere).items():
                ws.column_dimensions[col_letter(col)].width = chars
                header = rows[0][col - 1] if col <= len(rows[0]) else None
                if norm(header) in WRAPPED:
                    ws.column_dimensions[col_letter(col)].alignment = wrap
            if rows:
                ws.freeze_panes = "A2"
                if tab_key(name) != tab_key(status_tab):
                    ws.auto_filter.ref = f"A1:{col_letter(len(rows[0]))}{len(rows)}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(self.path, wb.save, None, lambda: None)


def _stamp(info: os.stat_result) -> Stamp:
    return info.st_size, info.st_mtime_ns, info.st_ino


def replace_atomically(
    path: Path,
    write: Callable[[BinaryIO], object],
    backup: Path | None,
    last_check: Callable[[], None],
) -> None:
    """Write a temporary file beside the workbook, fsync it, keep a backup, then swap.

    A crash at any point leaves the old workbook or the new one, never half of one. The
    new file keeps the old one's mode and owner. `last_check` runs just before the swap
    and raises to cancel it.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w+b") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        _copy_ownership(path, Path(tmp))
        last_check()
        if backup is not None and path.exists():
            _keep_backup(path, backup)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _copy_ownership(source: Path, target: Path) -> None:
    try:
        info = source.stat()
    except FileNotFoundError:
        os.chmod(target, 0o666 & ~_umask())
        return
    os.chmod(target, info.st_mode & 0o7777)
    with contextlib.suppress(PermissionError, AttributeError):
        os.chown(target, info.st_uid, info.st_gid)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _keep_backup(path: Path, backup: Path) -> None:
    staged = backup.with_name(backup.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        staged.unlink()
    try:
        os.link(path, staged)  # cheap, and the old file's bytes stay exactly as they were
    except OSError:
        import shutil

        shutil.copy2(path, staged)
    os.replace(staged, backup)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
