"""The embedded default: an .xlsx workbook on disk that Excel and LibreOffice open.

One cycle loads the workbook once, reads every tab from it, and, only when the change
set is not empty, writes into the same loaded workbook and saves it atomically.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import filelock
import openpyxl
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from sheetpipe.backends.base import Backend
from sheetpipe.core.apply import trim
from sheetpipe.core.cells import col_letter, looks_like_formula
from sheetpipe.errors import AlreadyRunning, BackendError, SheetChanged, SheetNotFound, WorkbookBusy
from sheetpipe.model import (
    HEALTH_FILLS,
    ChangeSet,
    FormatSpec,
    FrozenHeader,
    HealthColours,
    ListDropdown,
    Snapshot,
    Tab,
)

LAST_ROW = 1048576  # Excel's last row: rules and lists cover every future deal
_HEALTH_RULE = re.compile(r'^\$([A-Z]+)2="(Dead|Stalled|At risk|Hot)"$')
_COLUMN_RANGE = re.compile(rf"^([A-Z]+)2:([A-Z]+){LAST_ROW}$")


class XlsxBackend(Backend):
    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._wb: openpyxl.Workbook | None = None
        self._stamp: tuple[int, int] | None = None

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

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        lock = filelock.FileLock(self.lock_path, timeout=0)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise AlreadyRunning(
                f"another sheetpipe is already working on {self.path} (lock {self.lock_path}); "
                "this one stops. Stop the other one, or wait for its cycle to end."
            ) from None
        try:
            yield
        finally:
            lock.release()
            with contextlib.suppress(OSError):
                self.lock_path.unlink()

    def _check_not_open(self) -> None:
        office = self.office_lock()
        if office:
            raise WorkbookBusy(
                f"{self.path.name} is open in Excel or LibreOffice ({office.name} exists); "
                "this cycle is skipped so that nothing overwrites the open session. Close the "
                "workbook (or delete the lock file if nobody has it open) and it runs next time."
            )

    def read(self) -> Snapshot:
        if not self.path.exists():
            raise SheetNotFound(
                f"{self.path} does not exist; create it with `sheetpipe init --xlsx {self.path}`."
            )
        self._check_not_open()
        self.reads += 1
        self._stamp = _stamp(self.path)
        try:
            wb = openpyxl.load_workbook(self.path)
        except Exception as exc:  # openpyxl raises many types for a damaged file
            raise BackendError(
                f"{self.path} could not be read as an .xlsx workbook ({exc}); the previous "
                f"good copy, if any, is {self.backup_path}."
            ) from exc
        self._wb = wb
        cached: dict[tuple[str, int, int], object] | None = None
        tabs = {}
        for ws in wb.worksheets:
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
            formulas = _formula_cells(ws, rows)
            if formulas:
                # People may compute a column with formulas; the engine wants the value
                # Excel last computed, which only a second, values-only load has.
                cached = cached if cached is not None else _cached_values(self.path)
                for r, c in formulas:
                    rows[r][c] = cached.get((ws.title, r, c))
            trim(rows)
            tabs[ws.title] = Tab(ws.title, rows, frozenset(_installed_formats(ws)))
        return Snapshot(tabs, str(self.path))

    def apply(self, changes: ChangeSet, status_tab: str) -> None:
        wb = self._wb
        if wb is None:
            raise RuntimeError("apply() needs a read() first in the same session")
        self._check_not_open()
        if _stamp(self.path) != self._stamp:
            raise SheetChanged(
                f"{self.path} was saved by someone else during this cycle; nothing was "
                "written. The next cycle starts from the new file."
            )
        for name, rows in changes.new_tabs:
            _write_rows(wb.create_sheet(name), 1, rows)
        for tab, col, header in changes.new_columns:
            _set(wb[tab].cell(1, col), header)
        for write in changes.writes:
            ws = wb[write.tab]
            for row, value in zip(write.rows, write.values, strict=True):
                _set(ws.cell(row, write.col), value)
        for tab, first, rows in changes.appends:
            _write_rows(wb[tab], first, rows)
        for tab, spec in changes.formats:
            _install(wb[tab], spec)
        if changes.status is not None:
            ws = wb[status_tab] if status_tab in wb.sheetnames else wb.create_sheet(status_tab)
            ws.delete_rows(1, ws.max_row)
            _write_rows(ws, 1, changes.status)
        self.writes += 1
        save_atomically(wb, self.path, self.backup_path)
        self._stamp = _stamp(self.path)

    def create(self, tabs: list[tuple[str, list[list]]]) -> None:
        """A new workbook holding these tabs (for `sheetpipe init`)."""
        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        for name, rows in tabs:
            _write_rows(wb.create_sheet(name), 1, rows)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        save_atomically(wb, self.path, None)


def _stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_mtime_ns, info.st_size


def _write_rows(ws: Worksheet, first: int, rows: list[list]) -> None:
    for r, values in enumerate(rows, start=first):
        for c, value in enumerate(values, start=1):
            _set(ws.cell(r, c), value)


def _set(cell, value: object) -> None:  # noqa: ANN001 (openpyxl Cell)
    cell.value = value
    if isinstance(value, str) and looks_like_formula(value):
        # openpyxl turns any string starting with "=" into a formula; and Excel would
        # evaluate "+1" or "@SUM(A1)" once someone edits the cell. Forced text, shown
        # with Excel's quote prefix, stays text.
        cell.data_type = "s"
        cell.quotePrefix = True
    elif isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    elif isinstance(value, date):
        cell.number_format = "yyyy-mm-dd"


def _formula_cells(ws: Worksheet, rows: list[list]) -> list[tuple[int, int]]:
    found = []
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            is_formula = isinstance(value, str) and value.startswith("=")
            if is_formula and ws.cell(r + 1, c + 1).data_type == "f":
                found.append((r, c))
    return found


def _cached_values(path: Path) -> dict[tuple[str, int, int], object]:
    wb = openpyxl.load_workbook(path, data_only=True, read_only=True)
    try:
        return {
            (ws.title, r, c): value
            for ws in wb.worksheets
            for r, row in enumerate(ws.iter_rows(values_only=True))
            for c, value in enumerate(row)
        }
    finally:
        wb.close()


def _installed_formats(ws: Worksheet) -> list[FormatSpec]:
    found: list[FormatSpec] = []
    if ws.freeze_panes == "A2":
        found.append(FrozenHeader())
    colours: dict[tuple[str, str], set[str]] = {}
    for cf in ws.conditional_formatting:
        for rule in cf.rules:
            match = _HEALTH_RULE.match((rule.formula or [""])[0])
            span = _COLUMN_RANGE.match(str(cf.sqref))
            if match and span and span.group(1) == "A":
                colours.setdefault((match.group(1), span.group(2)), set()).add(match.group(2))
    for (health, last), seen in colours.items():
        if seen == set(HEALTH_FILLS):
            found.append(HealthColours(_col_index(health), _col_index(last)))
    for dv in ws.data_validations.dataValidation:
        span = _COLUMN_RANGE.match(str(dv.sqref))
        formula = dv.formula1 or ""
        one_column = span is not None and span.group(1) == span.group(2)
        literal = formula.startswith('"') and formula.endswith('"')
        if dv.type == "list" and one_column and literal:
            values = tuple(v for v in formula[1:-1].split(",") if v)
            found.append(ListDropdown(_col_index(span.group(1)), values))
    return found


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _install(ws: Worksheet, spec: FormatSpec) -> None:
    if isinstance(spec, FrozenHeader):
        ws.freeze_panes = "A2"
    elif isinstance(spec, HealthColours):
        kept = ConditionalFormattingList()
        for cf in ws.conditional_formatting:
            for rule in cf.rules:
                if not _HEALTH_RULE.match((rule.formula or [""])[0]):
                    kept.add(str(cf.sqref), rule)
        ws.conditional_formatting = kept
        health, last = col_letter(spec.health_col), col_letter(spec.last_col)
        for value, colour in HEALTH_FILLS.items():
            fill = PatternFill(start_color=colour, end_color=colour, fill_type="solid")
            ws.conditional_formatting.add(
                f"A2:{last}{LAST_ROW}", FormulaRule(formula=[f'${health}2="{value}"'], fill=fill)
            )
    elif isinstance(spec, ListDropdown):
        letter = col_letter(spec.col)
        target = f"{letter}2:{letter}{LAST_ROW}"
        ws.data_validations.dataValidation = [
            dv for dv in ws.data_validations.dataValidation if str(dv.sqref) != target
        ]
        dv = DataValidation(
            type="list", formula1='"' + ",".join(spec.values) + '"', allow_blank=True
        )
        dv.add(target)
        ws.add_data_validation(dv)


def save_atomically(wb: openpyxl.Workbook, path: Path, backup: Path | None) -> None:
    """Write a temporary file beside the workbook, fsync it, keep a backup, then swap.

    A crash at any point leaves the old workbook or the new one, never half of one.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            wb.save(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if backup is not None and path.exists():
            _keep_backup(path, backup)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


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
