import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SHEETPIPE_SHARED", ROOT.parent / "shared")) / "data"
SOURCE = ROOT / "src" / "sheetpipe"


def pytest_configure(config: pytest.Config) -> None:
    """The tests test what users run: the package `pip install .` installed, not the
    checkout (where a missing package file or a 3.11-only failure would go unseen)."""
    import sheetpipe

    imported = Path(sheetpipe.__file__).resolve().parent
    if (mutant := os.environ.get("MUTANT_UNDER_TEST")) is not None:
        # mutmut runs the tests on its mutated copy of src/, on purpose; the sheetpipe
        # commands tests start in subprocesses must run that copy too, or what they
        # kill goes unseen (they would import the installed, unmutated package). Not
        # while mutmut collects which tests call what ("stats"): a subprocess cannot
        # report to it, and would fail looking for its configuration.
        if mutant == "stats":
            return
        path = [str(imported.parent), *filter(None, [os.environ.get("PYTHONPATH")])]
        os.environ["PYTHONPATH"] = os.pathsep.join(path)
        return
    if imported.is_relative_to(SOURCE) and not os.environ.get("SHEETPIPE_TEST_CHECKOUT"):
        raise pytest.UsageError(
            f"sheetpipe is imported from the checkout ({imported}), not from an installed "
            "wheel; run `.venv/bin/pip install '.[test]'` (as the README says), or set "
            "SHEETPIPE_TEST_CHECKOUT=1 to test an editable install on purpose."
        )
    if not imported.is_relative_to(SOURCE) and (stale := _differing_files(imported)):
        raise pytest.UsageError(
            f"the installed sheetpipe ({imported}) is not this checkout's: {', '.join(stale[:3])} "
            "differ; run `.venv/bin/pip install --no-deps .` again."
        )


def _differing_files(installed: Path) -> list[str]:
    """Package files whose installed copy differs from src/ (or is missing from it)."""
    if not SOURCE.exists():
        return []
    differing = []
    for path in sorted(SOURCE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            name = path.relative_to(SOURCE)
            copy = installed / name
            if not copy.is_file() or copy.read_bytes() != path.read_bytes():
                differing.append(name.as_posix())
    return differing


@pytest.fixture
def shared_data() -> Path:
    """The project's shared real data (../shared/data), read in place, never copied."""
    if not SHARED.exists():
        pytest.skip(f"shared data not found at {SHARED} (set SHEETPIPE_SHARED)")
    return SHARED


FIRST = "tests/test_render.py::test_no_date_or_number_shows_as_hashes[big]"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The LibreOffice print of 10,000 deals (a minute and a half, see test_render.big)
    starts first, on one worker, while the other runs the rest; handed out late, it
    would keep one core busy alone at the end. Every worker sorts alike, as xdist needs."""
    items.sort(key=lambda item: item.nodeid != FIRST)  # stable: the rest keep their order


@pytest.fixture(scope="session")
def emulator():
    """The local Sheets API, one per test process (tests that inject faults make their own)."""
    from tests.emulator import Emulator

    emu = Emulator()
    emu.serve()
    yield emu
    emu.stop()


@pytest.fixture
def serve(tmp_path):
    """`sheetpipe serve`'s app on a real uvicorn server on loopback, in a thread, with
    uvicorn's own X-Forwarded-For handling off as the command runs it (the app decides
    whom it believes): `serve(rules, journal)` → (base URL, journal)."""
    import threading
    import time

    import uvicorn

    from sheetpipe.web.journal import Journal
    from sheetpipe.web.serve import FormRules, make_app

    from .helpers import free_port

    running = []

    def start(rules: FormRules | None = None, journal: Journal | None = None):
        journal = journal or Journal(tmp_path / "journal.sqlite")
        config = uvicorn.Config(make_app(journal, rules or FormRules(min_seconds=0)),
                                host="127.0.0.1", port=free_port(), log_level="warning",
                                proxy_headers=False)  # fmt: skip
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        running.append((server, thread))
        return f"http://127.0.0.1:{config.port}", journal

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(10)
