"""Nurture benchmark: a sheet of N deals with M active enrolments (the seed's "New web
lead" sequence), planned by plan_cycle with e-mail on.

floor: the same sheet's idle cycle without its Sequences and Enrolments (nurture off), in the
same run; idle_with_nurture: the idle cycle with the M enrolments, none due; sending: the
cycle that queues S due steps (their e-mails made from the templates). CPU seconds, best
of --repeat. Prints JSON.

    python bench/bench_nurture.py [--deals 20000] [--enrolments 10000] [--due 200]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=20000)
    parser.add_argument("--enrolments", type=int, default=10000)
    parser.add_argument("--due", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(measure(args.deals, args.enrolments, args.due, args.repeat), indent=2))


def measure(deals: int, enrolments: int, due: int, repeat: int) -> dict:
    from bench.workload import NOW, workload
    from sheetpipe.core.contract import Names
    from sheetpipe.core.cycle import plan_cycle
    from sheetpipe.core.sheet.apply import apply_changes
    from sheetpipe.mail.templates import Templates
    from sheetpipe.sync import _collector_paused

    names, composer = Names(mail=True), Templates(None, "bench")
    sheet = _web_leads(workload(deals), enrolments)
    for _ in range(3):  # IDs, History, the enrolments: until a cycle is idle
        with _collector_paused():
            plan = plan_cycle(sheet, names, NOW, composer)
        sheet = apply_changes(sheet, plan.changes)
    later = NOW + timedelta(hours=1)

    def once(snapshot, at=later) -> tuple[float, object]:
        start = time.process_time()
        with _collector_paused():
            plan = plan_cycle(snapshot, names, at, composer)
        return time.process_time() - start, plan

    def cpu(snapshot, at=later) -> tuple[float, object]:
        runs = [once(snapshot, at) for _ in range(repeat)]
        return min(r[0] for r in runs), runs[-1][1]

    # Nurture off: no sequences and no enrolments (open enrolments without their
    # Sequences tab are still read, to hold them).
    gone = {"Sequences", "Sequence steps", "Enrolments"}
    off = replace(sheet, tabs={k: t for k, t in sheet.tabs.items() if k not in gone})
    # Alternated, best of each: this VM's speed drifts by more than the difference.
    pairs = [(once(off)[0], once(sheet)) for _ in range(repeat)]
    floor = min(p[0] for p in pairs)
    idle, idle_plan = min(p[1][0] for p in pairs), pairs[-1][1][1]
    assert not idle_plan.changes.has_sheet_changes(), "the nurture sheet is not idle"
    active = sum(r[6] == "active" for r in sheet.find("Enrolments").rows[1:])
    sending, send_plan = cpu(_due(sheet, due, later), later)
    return {
        "deals": deals,
        "active_enrolments": active,
        "floor_idle_without_nurture_s": round(floor, 4),
        "idle_with_nurture_s": round(idle, 4),
        "idle_vs_floor": round(idle / floor, 3),
        "steps_queued": send_plan.mail_queued,
        "cycle_sending_s": round(sending, 4),
        "sending_vs_floor": round(sending / floor, 3),
    }


def _web_leads(sheet, count: int):
    """The first `count` deals as web leads in Discovery, each with a Contact."""
    deals = sheet.find("Deals")
    header = deals.rows[0]
    header.append("Contact")
    stage, source = header.index("Stage"), header.index("Source")
    for row in deals.rows[1 : count + 1]:
        row.extend([None] * (len(header) - 1 - len(row)))
        row[stage], row[source] = "Discovery", "Web form"
        row.append("Pat")
    return sheet


def _due(sheet, count: int, now):
    """The sheet with `count` active enrolments due now."""
    from sheetpipe.core.sheet.apply import apply_changes
    from sheetpipe.model import ChangeSet

    copy = apply_changes(sheet, ChangeSet())
    rows = copy.find("Enrolments").rows
    at = rows[0].index("Next send")
    for row in [r for r in rows[1:] if r[6] == "active"][:count]:
        row[at] = now - timedelta(minutes=5)
    return copy


if __name__ == "__main__":
    main()
