"""One xlsx sync cycle against the floor of openpyxl loading and saving the same workbook.

For each size: write the workload to a workbook, sync it once (the first sync), then
measure in the same run, best of --repeat:
  floor  openpyxl.load_workbook + save of that workbook (what any xlsx tool pays)
  busy   a cycle after 1 % of the deals changed stage (reads, plans, writes, saves)
  idle   a cycle with nothing to change (reads and plans; writes nothing)
Prints JSON with the ratios busy/floor and idle/floor.

    python bench/bench_xlsx.py [--sizes 1000,10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openpyxl  # noqa: E402

from bench.workload import NOW, edit_some, workload  # noqa: E402
from sheetpipe.backends.xlsx import XlsxBackend  # noqa: E402
from sheetpipe.core.contract import Names  # noqa: E402
from sheetpipe.sync import run_cycle  # noqa: E402


def write(snapshot, path: Path) -> None:
    backend = XlsxBackend(path)
    backend.create([(tab.name, tab.rows) for tab in snapshot.tabs.values()])


def measure(n: int, repeat: int, folder: Path) -> dict:
    names = Names()
    path = folder / f"pipeline-{n}.xlsx"
    write(workload(n), path)
    start = time.perf_counter()
    first = run_cycle(XlsxBackend(path), names, NOW)
    first_s = time.perf_counter() - start
    synced = folder / f"synced-{n}.xlsx"
    shutil.copy(path, synced)

    floors, busy, idle = [], [], []
    for i in range(repeat):
        start = time.perf_counter()
        wb = openpyxl.load_workbook(synced)
        wb.save(folder / "floor.xlsx")
        floors.append(time.perf_counter() - start)

        # A person moved 1 % of the deals on: edit a copy, then time the cycle alone.
        shutil.copy(synced, path)
        backend = XlsxBackend(path)
        with backend.session():
            snap = backend.read()
        edited = edit_some(snap, 0.01, seed=i)
        wb = openpyxl.load_workbook(path)
        ws = wb["Deals"]
        for r, row in enumerate(snap.find("Deals").rows[1:], start=2):
            if ws.cell(r, 2).value != row[1]:
                ws.cell(r, 2).value, ws.cell(r, 8).value = row[1], row[7]
        wb.save(path)
        start = time.perf_counter()
        report = run_cycle(XlsxBackend(path), names, NOW)
        busy.append(time.perf_counter() - start)
        assert report.applied

        start = time.perf_counter()
        quiet = run_cycle(XlsxBackend(path), names, NOW)
        idle.append(time.perf_counter() - start)
        assert not quiet.applied
    floor = min(floors)
    return {
        "deals": n,
        "workbook_mb": round(path.stat().st_size / 1e6, 2),
        "first_sync_s": round(first_s, 3),
        "first_sync_cells": first.plan.changes.cells_changed,
        "floor_load_save_s": round(floor, 3),
        "busy_cycle_s": round(min(busy), 3),
        "busy_cells": report.plan.changes.cells_changed,
        "deals_edited": edited,
        "idle_cycle_s": round(min(idle), 3),
        "busy_vs_floor": round(min(busy) / floor, 2),
        "idle_vs_floor": round(min(idle) / floor, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for n in (int(s) for s in args.sizes.split(",")):
            results.append(measure(n, args.repeat, Path(folder)))
            print(json.dumps(results[-1]), file=sys.stderr)
    print(json.dumps({"benchmark": "xlsx", "results": results}, indent=2))


if __name__ == "__main__":
    main()
