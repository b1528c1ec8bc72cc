import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SHEETPIPE_SHARED", ROOT.parent / "shared")) / "data"


@pytest.fixture
def shared_data() -> Path:
    """The project's shared real data (../shared/data), read in place, never copied."""
    if not SHARED.exists():
        pytest.skip(f"shared data not found at {SHARED} (set SHEETPIPE_SHARED)")
    return SHARED


@pytest.fixture(scope="session")
def emulator():
    """The local Sheets API, one per test process (tests that inject faults make their own)."""
    from tests.emulator import Emulator

    emu = Emulator()
    emu.serve()
    yield emu
    emu.stop()
