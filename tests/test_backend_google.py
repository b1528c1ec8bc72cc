"""The Google backend on the local Sheets API, through the real gspread and google-auth."""

from __future__ import annotations

import pytest

from tests.emulator import Emulator

from . import google_helpers as gh
from .backend_contract import BackendContract


@pytest.fixture(scope="session")
def emulator():
    emu = Emulator()
    emu.serve()
    yield emu
    emu.stop()


@pytest.fixture
def key(emulator, tmp_path):
    emulator.reset()
    return gh.key_file(emulator, tmp_path)


class TestGoogleBackend(BackendContract):
    @pytest.fixture
    def backend(self, emulator, key):
        def make(sheets):
            return gh.backend(emulator, gh.spreadsheet(emulator, sheets), key)

        return make
