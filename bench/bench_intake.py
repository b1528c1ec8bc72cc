"""Intake benchmark: 1,000 form responses arriving in one cycle on a synced pipeline.

The workload is bench/workload.py's pipeline of N deals (the public CRM data set, 35
agents in Team), synced once. Then a form tab receives R responses: most from new
people (a third of them at a company already in the pipeline, whose owner keeps it), a
tenth from people already there (the e-mail of a deal: merged), some with a similar
name at the same company (a question for a person), some with a mistyped e-mail.

- floor: the idle cycle of the same synced sheet, nothing waiting (what every cycle
  costs anyway); `intake_vs_floor` is the cycle that takes all R responses against it;
- after: the next cycle, which must plan nothing.

Requests per cycle on Google are constant whatever R is (one read, one guard read, one
write; `tests/test_google_reliability.py` asserts it), so only time is measured here.

    python bench/bench_intake.py [--deals 20000] [--responses 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.workload import NOW, _read, workload  # noqa: E402
from sheetpipe.core.contract import IntakeTab, Names  # noqa: E402
from sheetpipe.core.cycle import plan_cycle  # noqa: E402
from sheetpipe.core.sheet.apply import apply_changes  # noqa: E402
from sheetpipe.model import Tab  # noqa: E402
from sheetpipe.sync import _collector_paused  # noqa: E402

FORM = "Form Responses 1"
NAMES = Names(intakes=(IntakeTab(FORM, "Deals"),))


def responses(deals: list[list], count: int, seed: int = 3) -> list[list]:
    rng = random.Random(seed)
    accounts = [a["account"] for a in _read("accounts.csv")]
    out = [["Timestamp", "Name", "Email", "Company", "Phone", "Message"]]
    for i in range(count):
        at = NOW - timedelta(minutes=count - i)
        kind = rng.random()
        if kind < 0.10:  # someone already in the pipeline writes again
            deal = rng.choice(deals)
            out.append([at, f"Buyer {i}", deal[3], deal[4], "", "Back again"])
        elif kind < 0.15:  # a mistyped address
            out.append([at, f"Lead {i}", f"lead{i}@", f"New Co {i}", "", ""])
        elif kind < 0.45:  # a new person at a company the pipeline knows
            company = rng.choice(accounts)
            domain = company.split()[0].lower()
            out.append([at, f"Lead {i}", f"lead{i}@{domain}.example", company, "", ""])
        else:
            phone = f"+1 415 555 {i:04d}"
            out.append([at, f"Lead {i}", f"lead{i}@newco{i}.example", f"New Co {i}", phone, ""])
    return out


def measure(n: int, count: int, repeat: int) -> dict:
    snap = workload(n)
    agents = sorted({row[2] for row in snap.find("Deals").rows[1:]})
    snap.tabs["Team"] = Tab("Team", [["Name", "Active"], *([a, "Yes"] for a in agents)])
    with _collector_paused():
        synced = apply_changes(snap, plan_cycle(snap, NAMES, NOW).changes)
        floor = _best(lambda: plan_cycle(synced, NAMES, NOW), repeat)
        form = responses(synced.find("Deals").rows[1:], count)
        synced.tabs[FORM] = Tab(FORM, form)
        plan = plan_cycle(synced, NAMES, NOW)
        intake = _best(lambda: plan_cycle(synced, NAMES, NOW), repeat)
        after = apply_changes(synced, plan.changes)
        settled = plan_cycle(after, NAMES, NOW)
    assert not settled.changes.has_sheet_changes(), "the cycle after intake planned changes"
    statuses = [r[-2] for r in after.find(FORM).rows[1:]]
    outcomes = Counter(str(s).split(" ")[0] for s in statuses)
    return {
        "deals": n,
        "responses": count,
        "floor_idle_cycle_s": round(floor, 3),
        "intake_cycle_s": round(intake, 3),
        "intake_vs_floor": round(intake / floor, 2),
        "ms_per_response": round((intake - floor) / count * 1000, 3),
        "outcomes": dict(outcomes),
        "deals_created": plan.changes.rows_appended - plan.tasks_added - plan.history_added,
    }


def _best(fn, repeat: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=20_000)
    parser.add_argument("--responses", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(measure(args.deals, args.responses, args.repeat)))


if __name__ == "__main__":
    main()
