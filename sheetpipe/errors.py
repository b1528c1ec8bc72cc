"""One error hierarchy; the CLI turns any of these into one actionable line."""

from __future__ import annotations


class SheetpipeError(Exception):
    """A failure the user can act on. `str()` says what happened and what to do."""

    exit_code = 1


class ConfigError(SheetpipeError):
    """sheetpipe.toml is missing or wrong (every problem listed at once)."""

    exit_code = 2


class SheetNotFound(SheetpipeError):
    """The workbook or spreadsheet does not exist."""


class NotShared(SheetNotFound):
    """The Google spreadsheet exists but the service account may not open it."""


class WorkbookBusy(SheetpipeError):
    """The workbook is open in Excel or LibreOffice: the cycle is skipped, not forced."""

    exit_code = 75  # EX_TEMPFAIL: try again later


class AlreadyRunning(SheetpipeError):
    """Another sheetpipe holds the lock on this sheet."""

    exit_code = 75


class Replan(SheetpipeError):
    """What was planned may no longer fit the sheet: read it again and plan again."""

    exit_code = 75


class SheetChanged(Replan):
    """The sheet changed between read and write; nothing was written, re-plan."""


class WriteUncertain(Replan):
    """A write failed in a way that leaves unknown whether it landed; a fresh read decides."""


class BackendError(SheetpipeError):
    """The storage failed (disk, network, API) in a way retrying may fix."""
