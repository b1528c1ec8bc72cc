"""Pure computation benchmark: plan_cycle over N deals and 30 weight rules.

Each size runs in a fresh process so its peak memory (ru_maxrss) is its own. The floor,
measured in the same process, is building pandas frames of the same Deals and History
rows (pd.DataFrame(rows)), the least any pandas engine must do to look at them at all.
Memory: daemon_peak_rss_mb is what a daemon's process peaks at: a fresh process that
holds one synced sheet (as the Python objects a backend hands over) and plans cycles on
it; daemon_idle_cycle_s is the best idle cycle in that process. peak_rss_mb is the
benchmark's whole process (two copies of the sheet and the first sync's change set);
idle_cycle_alloc_peak_mb is what one idle cycle allocates on top of the sheet it reads
(tracemalloc). A daemon's idle cycle reuses what the last idle cycle carried
(core/cycle.py: Carried) when its read holds the same sheet: carried_idle_cycle_s is that
cycle on a fresh read (cells of its own, compared with the carried sheet's), which
daemon_idle_cycle_s measures in the daemon's own process. Every cycle runs as
`sheetpipe sync` runs it: with Python's cycle collector paused (sync._collector_paused).
Prints JSON.

    python bench/bench_core.py [--sizes 1000,10000,100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def measure(n: int, repeat: int) -> dict:
    import pandas as pd

    from bench.workload import NOW, edit_some, workload
    from sheetpipe.core.contract import Names
    from sheetpipe.core.cycle import plan_cycle as plan
    from sheetpipe.core.sheet.apply import apply_changes
    from sheetpipe.sync import _collector_paused

    def plan_cycle(*args, **kwargs):
        with _collector_paused():
            return plan(*args, **kwargs)

    names = Names()
    snap = workload(n)
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    cpu: dict[str, float] = {}

    def best(fn, label: str = "") -> float:
        """Best wall time of `repeat` runs; its CPU time (which a busy VM's steal does not
        inflate) goes into `cpu[label]`."""
        times = []
        for _ in range(repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            times.append((time.perf_counter() - start, time.process_time() - start_cpu))
        wall = min(t[0] for t in times)
        if label:
            cpu[label] = round(min(t[1] for t in times), 4)
        return wall

    floor = best(
        lambda: [pd.DataFrame(snap.find(t).rows[1:], dtype=object) for t in ("Deals", "History")]
    )
    first_plan = plan_cycle(snap, names, NOW)
    first = best(lambda: plan_cycle(snap, names, NOW))
    synced = apply_changes(snap, first_plan.changes)
    idle_plan = plan_cycle(synced, names, NOW)
    assert not idle_plan.changes.has_sheet_changes()
    idle = best(lambda: plan_cycle(synced, names, NOW), "idle_cycle_cpu_s")
    fresh = _fresh_read(synced)
    later = NOW + timedelta(minutes=5)
    carried = best(lambda: plan_cycle(fresh, names, later, previous=idle_plan.carried),
                   "carried_idle_cycle_cpu_s")  # fmt: skip
    tracemalloc.start()
    plan_cycle(synced, names, NOW)
    idle_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    daemon = _daemon(synced, repeat)
    edited = edit_some(synced, 0.01)
    busy_plan = plan_cycle(synced, names, NOW)
    busy = best(lambda: plan_cycle(synced, names, NOW), "busy_cycle_cpu_s")
    return {
        "deals": n,
        "rules": len(first_plan.rules),
        "floor_frames_s": round(floor, 4),
        "first_sync_s": round(first, 4),
        "idle_cycle_s": round(idle, 4),
        "busy_cycle_1pct_s": round(busy, 4),
        **cpu,
        "carried_idle_cycle_s": round(carried, 4),
        "idle_vs_floor": round(idle / floor, 2),
        "carried_idle_vs_floor": round(carried / floor, 2),
        "busy_vs_floor": round(busy / floor, 2),
        "cells_first_sync": first_plan.changes.cells_changed,
        "cells_busy": busy_plan.changes.cells_changed,
        "deals_edited": edited,
        "idle_cycle_alloc_peak_mb": round(idle_peak, 1),
        "daemon_idle_cycle_s": daemon["idle_cycle_s"],
        "daemon_peak_rss_mb": daemon["peak_rss_mb"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_after_data_mb": round(rss_data, 1),
    }


def _fresh_read(snapshot):
    """The sheet as a new read hands it over: lists and cells of its own."""
    import pickle

    return pickle.loads(pickle.dumps(snapshot, protocol=pickle.HIGHEST_PROTOCOL))


def _daemon(synced, repeat: int) -> dict:
    """A fresh process that holds the synced sheet, as a daemon's process does after a
    read, and plans idle cycles on it: their best time and the process's peak RSS."""
    import pickle
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sheet.pickle"
        with path.open("wb") as file:
            pickle.dump(synced, file, protocol=pickle.HIGHEST_PROTOCOL)
        out = subprocess.run(
            [sys.executable, __file__, "--peak", str(path), "--repeat", str(repeat)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
    return json.loads(out.stdout)


def peak(path: str, repeat: int) -> None:
    import pickle

    from bench.workload import NOW
    from sheetpipe.core.contract import Names
    from sheetpipe.core.cycle import plan_cycle
    from sheetpipe.sync import _collector_paused

    def read():
        with open(path, "rb") as file:
            return pickle.load(file)

    with _collector_paused():
        carried = plan_cycle(read(), Names(), NOW).carried  # the first cycle plans it all
    times = []
    for cycle in range(1, max(repeat, 1) + 1):
        fresh = read()  # each cycle reads the sheet anew
        start = time.perf_counter()
        with _collector_paused():
            plan = plan_cycle(fresh, Names(), NOW + timedelta(minutes=cycle), previous=carried)
        times.append(time.perf_counter() - start)
        del fresh
        assert not plan.changes.has_sheet_changes() and plan.carried is not None
        carried = plan.carried
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent.
    status = Path("/proc/self/status").read_text()
    kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
    print(json.dumps({"peak_rss_mb": round(kb / 1024, 1), "idle_cycle_s": round(min(times), 4)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--peak", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak:
        peak(args.peak, args.repeat)
        return
    if args.one:
        print(json.dumps(measure(args.one, args.repeat)))
        return
    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--repeat", str(args.repeat)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        results.append(json.loads(out.stdout))
        print(json.dumps(results[-1]), file=sys.stderr)
    print(json.dumps({"benchmark": "core", "cpus": _cpus(), "results": results}, indent=2))


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
