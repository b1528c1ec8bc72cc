"""`sheetpipe sync` on a workbook, as a process, against two floors measured in the same run.

For each size: write the workload (deals, their History, the template tabs) to a
workbook, run the first sync, then best of --repeat, each a fresh process:
  calamine  a process that reads every tab of the synced workbook with python-calamine
            (the least any xlsx reader pays, Python start-up and imports included)
  openpyxl  a process that loads and saves it with openpyxl (the old way; sizes up to
            --openpyxl-max only, it takes minutes beyond)
  busy      `sheetpipe sync` after a person moved 1 % of the deals to another stage
  idle      `sheetpipe sync` with nothing to change (reads and plans; writes nothing)
Peak RSS is the process's own (wait4). With --grown, the 1 % busy cycle is measured again
after Tasks has grown by 5 tasks per deal, to show what a longer Tasks tab costs.
Prints JSON with the ratios against the calamine floor.

    python bench/bench_xlsx.py [--sizes 1000,10000,20000,100000] [--repeat 3] [--grown]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import openpyxl  # noqa: E402

from bench.workload import NOW, edit_some, workload  # noqa: E402
from sheetpipe.backends.xlsx import XlsxBackend  # noqa: E402
from sheetpipe.model import ChangeSet, ColumnWrite  # noqa: E402

CALAMINE = """
import sys, python_calamine
book = python_calamine.CalamineWorkbook.from_path(sys.argv[1])
cells = sum(len(r) for n in book.sheet_names for r in book.get_sheet_by_name(n).to_python())
"""
OPENPYXL = """
import sys, openpyxl
openpyxl.load_workbook(sys.argv[1]).save(sys.argv[2])
"""


# A small process starts each measured one and reports its wall time and peak RSS: a
# child forked from this (large) benchmark process would count our pages as its own.
MEASURE = """
import os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
print(time.perf_counter() - start, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status))
"""


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one process."""
    done = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True)
    seconds, rss, code = done.stdout.split()
    if code != "0":
        raise SystemExit(f"{command} failed: {done.stderr[-2000:]}")
    return float(seconds), float(rss)


def write_workbook(n: int, path: Path) -> None:
    """The workload as a person's tool saves it (openpyxl, shared strings)."""
    book = openpyxl.Workbook(write_only=True)
    for tab in workload(n).tabs.values():
        sheet = book.create_sheet(tab.name)
        for row in tab.rows:
            sheet.append(row)
    book.save(path)


def move_some_deals(path: Path, share: float, seed: int) -> int:
    """A person moves `share` of the deals on (written through sheetpipe's engine)."""
    backend = XlsxBackend(path)
    with backend.session():
        snapshot = backend.read()
        before = [list(r) for r in snapshot.find("Deals").rows]
        edited = edit_some(snapshot, share, seed=seed)
        after = snapshot.find("Deals").rows
        rows = [r for r in range(1, len(after)) if after[r][1] != before[r][1]]
        writes = [
            ColumnWrite(
                "Deals", col + 1, name, [r + 1 for r in rows], [after[r][col] for r in rows]
            )
            for col, name in ((1, "Stage"), (7, "Last contact"))
        ]
        backend.apply(ChangeSet(writes=writes), "Status")
    return edited


def grow_tasks(path: Path, per_deal: int) -> int:
    backend = XlsxBackend(path)
    with backend.session():
        snapshot = backend.read()
        tasks, deals = snapshot.find("Tasks"), len(snapshot.find("Deals").rows) - 1
        rows = [
            [f"old/{i}", NOW - timedelta(days=90), NOW.date(), "Ana", f"D-{i:06d}",
             "An old deal", "An old task", "playbook", "Yes"]
            for i in range(deals * per_deal)
        ]  # fmt: skip
        backend.apply(ChangeSet(appends=[("Tasks", len(tasks.rows) + 1, rows)]), "Status")
    return len(rows)


def measure(n: int, repeat: int, folder: Path, openpyxl_max: int, grown: bool) -> dict:
    source, work = folder / f"pipeline-{n}.xlsx", folder / "pipeline.xlsx"
    write_workbook(n, source)
    config = folder / "sheetpipe.toml"
    config.write_text(f'[sheet]\nbackend = "xlsx"\npath = "{work.name}"\n', encoding="utf-8")
    sync = [sys.executable, "-m", "sheetpipe", "sync", "--config", str(config),
            "--now", NOW.strftime("%Y-%m-%dT%H:%M")]  # fmt: skip
    shutil.copy(source, work)
    first_s, first_mb = timed(sync)
    synced = folder / f"synced-{n}.xlsx"
    shutil.copy(work, synced)

    result: dict = {
        "deals": n,
        "workbook_mb": round(synced.stat().st_size / 1e6, 2),
        "first_sync_s": round(first_s, 2),
        "first_sync_rss_mb": round(first_mb),
    }
    runs: dict[str, list[tuple[float, float]]] = {
        k: [] for k in ("calamine", "openpyxl", "busy", "idle")
    }
    for i in range(repeat):
        runs["calamine"].append(timed([sys.executable, "-c", CALAMINE, str(synced)]))
        if n <= openpyxl_max:
            saved = folder / "openpyxl.xlsx"
            runs["openpyxl"].append(
                timed([sys.executable, "-c", OPENPYXL, str(synced), str(saved)])
            )
        shutil.copy(synced, work)
        result["deals_moved"] = move_some_deals(work, 0.01, seed=i)
        runs["busy"].append(timed(sync))
        runs["idle"].append(timed(sync))
    for key, values in runs.items():
        if values:
            result[f"{key}_s"] = round(min(s for s, _ in values), 3)
            result[f"{key}_rss_mb"] = round(max(mb for _, mb in values))
    floor = result["calamine_s"]
    result["busy_vs_calamine"] = round(result["busy_s"] / floor, 2)
    result["idle_vs_calamine"] = round(result["idle_s"] / floor, 2)
    if "openpyxl_s" in result:
        result["busy_vs_openpyxl"] = round(result["busy_s"] / result["openpyxl_s"], 3)
    if grown:
        shutil.copy(synced, work)
        result["tasks_added_for_grown"] = grow_tasks(work, 5)
        move_some_deals(work, 0.01, seed=99)
        result["grown_busy_s"] = round(min(timed(sync)[0] for _ in range(1)), 3)
        result["grown_calamine_s"] = round(timed([sys.executable, "-c", CALAMINE, str(work)])[0], 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,20000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--openpyxl-max", type=int, default=20000)
    parser.add_argument("--grown", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for n in (int(s) for s in args.sizes.split(",")):
            results.append(measure(n, args.repeat, Path(folder), args.openpyxl_max, args.grown))
            print(json.dumps(results[-1]), file=sys.stderr)
    print(json.dumps({"benchmark": "xlsx", "results": results}, indent=2))


if __name__ == "__main__":
    main()
