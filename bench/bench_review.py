"""Weekly review benchmark: what the Review step costs a cycle at N deals.

The sheet is bench/workload.py's pipeline of N deals, synced once, with History grown to
three rows a deal (each deal's close date pushed once, recorded as sheetpipe records it):
300,000 History rows at 100,000 deals. Measured in one process, CPU seconds, best of
--repeat:

- idle_cycle_s: a cold idle cycle (the Review already written: computed, not written);
- idle_without_review_s: the same cycle with the Review step left out (the floor);
- review_step_s: the Review step alone (core/review/tab.py: review_of and its rows);
- rewrite_cycle_s: the cycle that rewrites Review (a new week begins).

Issue 24's budget: the cycle that rewrites Review ≤ 2 × an idle cycle. Prints JSON.

    python bench/bench_review.py [--deals 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import timedelta
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def measure(n: int, repeat: int) -> dict:
    from bench.workload import NOW, workload
    from sheetpipe.core import cycle
    from sheetpipe.core.contract import Names
    from sheetpipe.core.sheet.apply import apply_changes
    from sheetpipe.model import Found
    from sheetpipe.sync import _collector_paused

    names = Names()
    sheet = _pushed(workload(n))
    for _ in range(2):  # IDs, the first Review: until a cycle is idle
        with _collector_paused():
            sheet = apply_changes(sheet, cycle.plan_cycle(sheet, names, NOW).changes)
    history_rows = len(sheet.find("History").rows) - 1

    def best(at, without_review: bool = False) -> tuple[float, object]:
        found = []
        for _ in range(repeat):
            with _collector_paused(), mock.patch.object(
                cycle, "review_tab", (lambda *a, **k: Found()) if without_review
                else cycle.review_tab):  # fmt: skip
                start = time.process_time()
                plan = cycle.plan_cycle(sheet, names, at)
                found.append((time.process_time() - start, plan))
        return min(t for t, _ in found), found[-1][1]

    later = NOW + timedelta(hours=1)
    idle, idle_plan = best(later)
    assert not idle_plan.changes.has_sheet_changes(), "the sheet is not idle"
    floor, _ = best(later, without_review=True)
    rewrite, rewrite_plan = best(NOW + timedelta(days=7))
    assert "Review" in rewrite_plan.changes.rewrites
    return {
        "deals": n, "history_rows": history_rows,
        "idle_without_review_s": round(floor, 3), "idle_cycle_s": round(idle, 3),
        "review_step_s": round(idle - floor, 3), "rewrite_cycle_s": round(rewrite, 3),
        "rewrite_vs_idle": round(rewrite / idle, 3),
        "idle_vs_idle_without_review": round(idle / floor, 3),
    }  # fmt: skip


def _pushed(sheet):
    """Each deal's close date pushed a week, once, early in its life, as sheetpipe records
    it in History (the sheet stays idle: the last row of each deal matches its cells)."""
    rows = sheet.find("History").rows
    header = rows[0]
    by, close, value = header.index("By"), header.index("Expected close"), header.index("Value")
    pushes = []
    for row in rows[1::2]:  # each deal's first row: its close date was a week sooner
        later = list(row)
        later[0] = row[0] + timedelta(days=1)  # before its second row (days later)
        later[4] = later[5] = row[5]  # the same stage
        later[value], later[by] = row[value], "sheetpipe (close date changed)"
        row[close] = row[close] - timedelta(days=7)
        pushes.append(later)
    rows.extend(pushes)
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(measure(args.deals, args.repeat), indent=2))


if __name__ == "__main__":
    main()
