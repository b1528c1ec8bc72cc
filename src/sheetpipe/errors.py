"""One error hierarchy; the CLI turns any of these into one actionable line."""

from __future__ import annotations

import errno
from pathlib import Path


class SheetpipeError(Exception):
    """A failure the user can act on. `str()` says what happened and what to do."""

    exit_code = 1


class ConfigError(SheetpipeError):
    """sheetpipe.toml is missing or wrong (every problem listed at once)."""

    exit_code = 2


class UnknownDeal(SheetpipeError):
    """`explain` was given an ID that no deal has."""


class DemoExists(SheetpipeError):
    """`demo` would replace a workbook that is already there (without --force)."""


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


class JournalError(SheetpipeError):
    """The web form's journal (`sheetpipe serve`'s SQLite file) cannot be used. A side
    input: a cycle reports it on Status and goes on; only `serve` stops for it."""


class BackendError(SheetpipeError):
    """The storage failed (disk, network, API) in a way retrying may fix."""


class StorageError(BackendError):
    """The file system refused a read or a write (disk full, permission, read-only)."""


# What to do about the file system errors a user can meet, by errno.
_REMEDIES = {
    errno.ENOSPC: "the disk is full; free some space on it",
    errno.EDQUOT: "the disk quota is used up; free some space",
    errno.EACCES: "permission denied; give the user running sheetpipe {access} access",
    errno.EPERM: "permission denied; give the user running sheetpipe {access} access",
    errno.EROFS: "the file system is read-only; put the workbook where it can be written",
    errno.EIO: "the disk reported an input/output error; check the disk or the network share",
}


def storage_error(exc: OSError, path: Path, doing: str) -> StorageError:
    """One line for a failed file operation: what failed, why, and what to do.

    `doing` is "reading" or "writing"; writing means the temporary file beside the
    workbook, the backup and the swap, so the folder needs write access too.
    """
    access = "read" if doing == "reading" else f"write access to {path.parent} and read"
    remedy = _REMEDIES.get(exc.errno or 0, f"{exc.strerror or exc}")
    nothing = " Nothing was changed." if doing == "writing" else ""
    return StorageError(
        f"{doing} {path} failed: {remedy.format(access=access)}.{nothing} "
        "sheetpipe tries again next cycle."
    )
