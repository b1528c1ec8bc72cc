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
