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
    if config.backend == "google":
        from sheetpipe.backends.google import GoogleBackend
        from sheetpipe.backends.google_auth import find_key

        key = find_key(config.credentials, config.path.parent)
        tabs = config.names.all_tabs()
        return GoogleBackend(config.spreadsheet, key, config.api_endpoint or None, tabs=tabs)
    raise ConfigError(f'{config.path}: [sheet] backend = "{config.backend}" is not known.')
