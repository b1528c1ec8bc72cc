"""Storage backends: each reads a Snapshot and applies a ChangeSet with native calls."""

from __future__ import annotations

from sheetpipe.backends.base import Backend
from sheetpipe.backends.memory import MemoryBackend
from sheetpipe.errors import ConfigError

__all__ = ["Backend", "MemoryBackend", "open_backend"]


def open_backend(config) -> Backend:  # noqa: ANN001 (config.Config; avoids an import cycle)
    if config.backend == "xlsx":
        from sheetpipe.backends.xlsx import XlsxBackend

        return XlsxBackend(config.workbook)
    raise ConfigError(
        f'{config.path}: [sheet] backend = "{config.backend}" is not available in this version '
        'of sheetpipe yet; use backend = "xlsx".'
    )
