"""Google backend benchmark: API requests, bytes and time per cycle on the local Sheets API.

The emulator runs in its own process (`python -m tests.emulator`), so server and client
do not share an interpreter. For each size N the synced workload sheet is uploaded once;
then, through the real gspread + google-auth stack:

- idle cycle: requests, bytes and time (best of --repeat);
- busy cycle, 1 % of deals moved to another stage by a person between cycles;
- floor: a bare gspread `values_batch_get` of the same ranges with the same options
  from the same emulator; `idle_vs_floor` is the ratio (target <= 1.5);
- per-row script: the busy cycle's cell changes written the way home-made gspread
  scripts do it (one `update` per changed row, one `append_row` per new Tasks/History
  row); timed in full up to 10 k deals, from a sample of 200 requests beyond;
- quota: with Google's 60 requests/minute/user on, how many 429s the cycles met.

    python bench/bench_google.py [--sizes 1000,10000,100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.workload import NOW  # noqa: E402


def start_emulator(folder: Path) -> tuple[subprocess.Popen, str, Path]:
    key = folder / "key.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.emulator", "--port", "0", "--credentials-out", str(key)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = proc.stdout.readline()
    url = line.split(" on ")[1].split(" ")[0]
    return proc, url, key


def _json_cell(value: object) -> object:
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    return value


def upload(url: str, snapshot) -> str:  # noqa: ANN001
    tabs = {
        t.name: [[_json_cell(v) for v in row] for row in t.rows] for t in snapshot.tabs.values()
    }
    answer = requests.post(
        f"{url}/_emulator/spreadsheets", json={"title": "bench", "tabs": tabs}, timeout=600
    )
    answer.raise_for_status()
    return answer.json()["spreadsheetId"]


def log_since(url: str, mark: int) -> list[dict]:
    entries = requests.get(f"{url}/_emulator/requests", timeout=60).json()["requests"]
    return [e for e in entries[mark:] if e["path"].startswith("/v4/")]


def log_size(url: str) -> int:
    return len(requests.get(f"{url}/_emulator/requests", timeout=60).json()["requests"])


def traffic(entries: list[dict]) -> dict:
    return {
        "requests": len(entries),
        "bytes_sent": sum(e["request_bytes"] for e in entries),
        "bytes_received": sum(e["response_bytes"] for e in entries),
    }


def measure(n: int, repeat: int) -> dict:
    from bench.workload import workload
    from sheetpipe.backends.google import GoogleBackend
    from sheetpipe.backends.google_requests import quote
    from sheetpipe.core.contract import Names
    from sheetpipe.core.cycle import plan_cycle
    from sheetpipe.core.sheet.apply import apply_changes
    from sheetpipe.core.sheet.cells import col_letter
    from sheetpipe.sync import run_cycle

    names = Names()
    snap = workload(n)
    synced = apply_changes(snap, plan_cycle(snap, names, NOW).changes)
    with tempfile.TemporaryDirectory() as folder:
        proc, url, key = start_emulator(Path(folder))
        try:
            sid = upload(url, synced)
            backend = GoogleBackend(sid, key, url)
            run_cycle(backend, names, NOW)  # installs the formats: a one-off busy cycle
            requests.post(
                f"{url}/_emulator/quota",
                json={"enabled": True, "limit": 60, "window": 60},
                timeout=10,
            )

            idle_times, idle_traffic = [], {}
            for _ in range(repeat):
                mark = log_size(url)
                start = time.perf_counter()
                report = run_cycle(backend, names, NOW)
                idle_times.append(time.perf_counter() - start)
                assert not report.applied
                idle_traffic = traffic(log_since(url, mark))

            # The floor: bare gspread, same ranges, same options, same server.
            ranges = [quote(t) for t in backend.read().tabs]
            http = backend.client.http_client
            params = {
                "valueRenderOption": "UNFORMATTED_VALUE",
                "dateTimeRenderOption": "SERIAL_NUMBER",
                "majorDimension": "ROWS",
            }
            floor_times = []
            for _ in range(repeat):
                start = time.perf_counter()
                http.values_batch_get(sid, ranges, params=params)
                floor_times.append(time.perf_counter() - start)

            busy_times, busy_traffic, busy_cells = [], {}, 0
            rng = random.Random(3)
            header = synced.find("Deals").header
            stage_col = header.index("Stage")
            for _ in range(repeat):
                moved = rng.sample(range(2, n + 2), max(1, n // 100))
                data = [
                    {
                        "range": f"Deals!{col_letter(stage_col + 1)}{row}",
                        "values": [[rng.choice(["Contact", "Proposal"])]],
                    }
                    for row in moved
                ]
                http.values_batch_update(sid, {"valueInputOption": "RAW", "data": data})
                mark = log_size(url)
                start = time.perf_counter()
                report = run_cycle(backend, names, NOW)
                busy_times.append(time.perf_counter() - start)
                busy_traffic = traffic(log_since(url, mark))
                busy_cells = report.plan.changes.cells_changed
                busy_plan = report.plan
            quota_hits = sum(1 for e in log_since(url, 0) if e["status"] == 429)
            requests.post(f"{url}/_emulator/quota", json={"enabled": False}, timeout=10)
            per_row = per_row_script(http, sid, busy_plan.changes, n)
        finally:
            proc.terminate()
            proc.wait()
    idle, floor, busy = min(idle_times), min(floor_times), min(busy_times)
    return {
        "deals": n,
        "idle_cycle_s": round(idle, 3),
        "idle": idle_traffic,
        "floor_batch_get_s": round(floor, 3),
        "idle_vs_floor": round(idle / floor, 2),
        "busy_cycle_s": round(busy, 3),
        "busy": busy_traffic,
        "busy_deals_moved": max(1, n // 100),
        "busy_cells_written": busy_cells,
        "busy_rows_appended": busy_plan.changes.rows_appended,
        "quota_429s_met": quota_hits,
        "per_row_script": per_row,
    }


def per_row_script(http, sid: str, changes, n: int) -> dict:  # noqa: ANN001
    """The busy cycle's changes, written one request per changed row / appended row."""
    from sheetpipe.backends.google_requests import quote
    from sheetpipe.core.sheet.cells import col_letter

    cells_by_row: dict[tuple[str, int], dict[int, object]] = {}
    for write in changes.writes:
        for row, value in zip(write.rows, write.values, strict=True):
            cells_by_row.setdefault((write.tab, row), {})[write.col] = value
    calls = []
    for (tab, row), by_col in cells_by_row.items():
        lo, hi = min(by_col), max(by_col)
        values = [[_plain(by_col.get(c)) for c in range(lo, hi + 1)]]
        rng = f"{quote(tab)}!{col_letter(lo)}{row}:{col_letter(hi)}{row}"
        calls.append(("update", rng, values))
    for tab, _first, rows in changes.appends:
        calls += [("append", quote(tab), [[_plain(v) for v in row]]) for row in rows]
    sample = calls if n <= 10_000 else random.Random(5).sample(calls, min(200, len(calls)))
    start = time.perf_counter()
    for kind, rng, values in sample:
        if kind == "update":
            http.values_update(
                sid, rng, params={"valueInputOption": "RAW"}, body={"values": values}
            )
        else:
            http.values_append(
                sid, rng, params={"valueInputOption": "RAW"}, body={"values": values}
            )
    spent = time.perf_counter() - start
    estimate = spent * len(calls) / max(1, len(sample))
    return {
        "requests": len(calls),
        "seconds": round(estimate, 1),
        "measured": "all" if len(sample) == len(calls) else f"sample of {len(sample)}, scaled",
        "minutes_at_60_per_minute_quota": round(len(calls) / 60, 1),
    }


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        results.append(measure(n, args.repeat))
        print(json.dumps(results[-1]), file=sys.stderr)
    print(json.dumps({"benchmark": "google", "results": results}, indent=2))


if __name__ == "__main__":
    main()
