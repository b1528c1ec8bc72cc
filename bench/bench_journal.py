"""1,000 web-form submissions arriving in one cycle: moved from the journal into the
intake tab and taken in, on an .xlsx workbook on disk.

The workbook is bench/workload.py's pipeline of N deals (35 agents in Team), synced once.
Then R submissions wait in the journal (as `sheetpipe serve` leaves them); one cycle moves
them into the intake tab (one read of that tab and Settings, one write) and intake makes
their deals. The floor is the same workbook's idle cycle.

    python bench/bench_journal.py [--deals 20000] [--submissions 1000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.workload import NOW, workload  # noqa: E402
from sheetpipe.backends.xlsx import XlsxBackend  # noqa: E402
from sheetpipe.core.contract import IntakeTab, Names  # noqa: E402
from sheetpipe.sync import SideInputs, run_cycle  # noqa: E402
from sheetpipe.web.journal import Inbox, Journal  # noqa: E402

TAB = "Web leads"
NAMES = Names(intakes=(IntakeTab(TAB, "Deals"),))


def measure(n: int, count: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="bench-journal-"))
    try:
        snap = workload(n)
        agents = sorted({row[2] for row in snap.find("Deals").rows[1:]})
        team = [["Name", "Active"], *([a, "Yes"] for a in agents)]
        path = folder / "pipeline.xlsx"
        sheets = [(t.name, t.rows) for t in snap.tabs.values() if t.name != "Team"]
        XlsxBackend(path).create([*sheets, ("Team", team)], "Status")
        run_cycle(XlsxBackend(path), NAMES, NOW)
        later = NOW + timedelta(minutes=5)
        floor = _timed(lambda: run_cycle(XlsxBackend(path), NAMES, later))[0]
        journal = Journal(folder / "journal.sqlite")
        for i in range(count):
            journal.add({"Name": f"Lead {i}", "Email": f"lead{i}@newco{i}.example",
                         "Company": f"New Co {i}"}, NOW.replace(tzinfo=UTC))  # fmt: skip
        side = SideInputs(inbox=Inbox(journal, TAB))
        took, report = _timed(lambda: run_cycle(XlsxBackend(path), NAMES, later, side=side))
        after = run_cycle(XlsxBackend(path), NAMES, later + timedelta(minutes=5), side=side)
        assert journal.waiting() == [] and not after.applied, "the next cycle has nothing to do"
        return {
            "deals": n,
            "submissions": count,
            "floor_idle_cycle_s": round(floor, 3),
            "cycle_with_submissions_s": round(took, 3),
            "vs_floor": round(took / floor, 2),
            "ms_per_submission": round((took - floor) / count * 1000, 3),
            "deals_after": report.plan.deals,
            "calls": report.calls,
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _timed(fn):  # noqa: ANN001, ANN202
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=20_000)
    parser.add_argument("--submissions", type=int, default=1_000)
    args = parser.parse_args()
    print(json.dumps(measure(args.deals, args.submissions)))


if __name__ == "__main__":
    main()
