"""The in-memory reference backend passes the shared contract too."""

import pytest

from sheetpipe.backends.memory import MemoryBackend
from sheetpipe.model import Snapshot, Tab

from .backend_contract import BackendContract


class TestMemoryBackend(BackendContract):
    @pytest.fixture
    def backend(self):
        return lambda sheets: MemoryBackend(
            Snapshot({n: Tab(n, rows) for n, rows in sheets.items()})
        )
