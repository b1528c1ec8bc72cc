"""The emulator and a Google backend on it, for tests and benchmarks."""

from __future__ import annotations

import json
from pathlib import Path

from sheetpipe.backends.google import GoogleBackend
from tests.emulator import Emulator


def key_file(emulator: Emulator, folder: Path) -> Path:
    path = folder / "service-account.json"
    path.write_text(json.dumps(emulator.key_file()))
    return path


def spreadsheet(emulator: Emulator, tabs: dict[str, list[list]], title: str = "Pipeline") -> str:
    """A spreadsheet shared with the test account holding these tabs (and Sheet1)."""
    sid = emulator.create(title)
    for name, rows in tabs.items():
        emulator.put_tab(sid, name, rows)
    return sid


def backend(emulator: Emulator, sid: str, key: Path, **kwargs) -> GoogleBackend:
    kwargs.setdefault("retry_backoff", 0.01)
    return GoogleBackend(sid, key, emulator.base_url, **kwargs)
