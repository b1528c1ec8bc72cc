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


def test_applying_keeps_what_the_snapshot_says_of_itself_and_makes_whole_tabs():
    from sheetpipe.core.sheet.apply import apply_changes
    from sheetpipe.model import CellLink, ChangeSet, Snapshot, Tab

    snap = Snapshot({"today": Tab("today", [["old"]])}, "my.xlsx", date_cells="serial")
    link = CellLink("Weights!C2", "Weights", "C2")
    changes = ChangeSet(
        status=[["Item", "Value"], [link, "x"]], rewrites={"Today": [["Owner"], ["Ana"]]}
    )
    after = apply_changes(snap, changes, "My status")
    assert (after.source, after.date_cells) == ("my.xlsx", "serial")
    assert after.find("My status").rows == [["Item", "Value"], ["Weights!C2", "x"]]
    assert after.find("today").rows == [["Owner"], ["Ana"]], "matched as tabs are"
    assert list(after.tabs) == ["today", "My status"]
    assert snap.find("today").rows == [["old"]], "the snapshot itself is not changed"
