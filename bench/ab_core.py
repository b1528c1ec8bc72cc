"""A/B of the pure computation: this tree's plan_cycle against another tree's, alternating.

On a VM whose speed drifts by half from one minute to the next, two benchmark runs
minutes apart cannot show a 10 % change. This runs both versions on one pickled synced
sheet in alternating fresh processes and compares each round's pair, so drift hits both.
Each process reports its best idle-cycle CPU time of `--repeat` (collector paused, as
`sheetpipe sync` runs a cycle). Prints JSON.

    git worktree add /tmp/old <commit>
    python bench/ab_core.py /tmp/old [--deals 100000] [--rounds 4] [--repeat 3]

Both trees plan the whole cycle: Status and the column widths included (an older tree,
where sync.py planned those after plan_cycle, gets them added the same way).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def make_sheet(deals: int, path: Path) -> None:
    """The workload after its first sync, as a backend would hand it over next cycle."""
    import pickle

    sys.path.insert(0, str(HERE))
    from bench.workload import NOW, workload
    from sheetpipe.core.contract import Names
    from sheetpipe.core.cycle import plan_cycle
    from sheetpipe.core.sheet.apply import apply_changes

    snap = workload(deals)
    synced = apply_changes(snap, plan_cycle(snap, Names(), NOW).changes)
    with path.open("wb") as file:
        pickle.dump(synced, file, protocol=pickle.HIGHEST_PROTOCOL)


def run(tree: str, sheet: str, repeat: int) -> None:
    """In a fresh process: plan idle cycles with `tree`'s sheetpipe first on the path."""
    import gc
    import pickle
    import time

    sys.path.insert(0, tree)
    if (Path(tree) / "src").is_dir():  # the src layout (since issue 21); older trees: the root
        sys.path.insert(0, str(Path(tree) / "src"))
    from bench.workload import NOW
    from sheetpipe.core.contract import Names

    plan_cycle = _whole_plan()
    with open(sheet, "rb") as file:
        synced = pickle.load(file)
    times = []
    for _ in range(repeat):
        gc.disable()
        start = time.process_time()
        plan = plan_cycle(synced, Names(), NOW)
        times.append(time.process_time() - start)
        gc.enable()
        assert not plan.changes.has_sheet_changes()
    print(json.dumps(min(times)))


def _whole_plan():  # noqa: ANN202
    """The tree's plan of a whole cycle. Since issue 22 plan_cycle makes Status and the
    widths too; before, sync.py added them after it, and so does this for an older tree."""
    try:
        from sheetpipe.core.cycle import plan_cycle

        return plan_cycle
    except ImportError:
        from sheetpipe.core.plan import plan_cycle as plan_only
        from sheetpipe.core.status import plan_status
        from sheetpipe.core.widths import plan_widths

        def plan_cycle(snapshot, names, now):  # noqa: ANN001, ANN202
            plan = plan_only(snapshot, names, now)
            plan_status(plan, snapshot.find(names.status), next_run="", calls="")
            plan_widths(plan.changes, names.status, {})
            return plan

        return plan_cycle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", nargs="?", help="the other source tree (e.g. a git worktree)")
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--run", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run(args.run[0], args.run[1], args.repeat)
        return
    if not args.old:
        parser.error("name the other source tree, e.g. a `git worktree add /tmp/old <commit>`")
    trees = {"old": str(Path(args.old).resolve()), "new": str(HERE)}
    times: dict[str, list[float]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as folder:
        sheet = Path(folder) / "synced.pickle"
        make_sheet(args.deals, sheet)
        for _ in range(args.rounds):
            for label, tree in trees.items():
                out = subprocess.run(
                    [sys.executable, __file__, "--run", tree, str(sheet), "--repeat",
                     str(args.repeat)],
                    check=True, capture_output=True, text=True,
                )  # fmt: skip
                times[label].append(round(json.loads(out.stdout), 4))
    ratios = [new / old for old, new in zip(times["old"], times["new"], strict=True)]
    print(
        json.dumps(
            {
                "benchmark": "ab_core",
                "deals": args.deals,
                "old_cpu_s": times["old"],
                "new_cpu_s": times["new"],
                "new_vs_old_per_round": [round(r, 3) for r in ratios],
                "new_vs_old_median": round(statistics.median(ratios), 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
