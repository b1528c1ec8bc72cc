"""Web form benchmark: `sheetpipe serve` taking submissions on loopback, each committed to
its SQLite journal (WAL, synchronous=FULL) before the answer.

The server runs as a user runs it (`sheetpipe serve`, its own process); one client sends
N webhook submissions (`POST /api/leads`, JSON) one after another, then N `GET /form`
(the same server answering without touching the journal: the floor).

    python bench/bench_serve.py [--requests 500]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sheetpipe.web.journal import Journal  # noqa: E402


def measure(count: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (folder / "sheetpipe.toml").write_text(
        '[sheet]\npath = "pipeline.xlsx"\n[[intake]]\ntab = "Web leads"\n'
        f'[serve]\nport = {port}\nper_minute = 10000\njournal = "journal.sqlite"\n',
        encoding="utf-8",
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "sheetpipe", "serve", "--config", str(folder / "sheetpipe.toml")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        session = requests.Session()
        _wait(session, base)
        posts = _timed(count, lambda i: session.post(
            f"{base}/api/leads", json={"Name": f"Lead {i}", "Email": f"lead{i}@c{i}.example"},
            timeout=10))  # fmt: skip
        gets = _timed(count, lambda i: session.get(f"{base}/form", timeout=10))
    finally:
        server.terminate()
        server.wait(10)
    journaled = len(Journal(folder / "journal.sqlite").waiting())
    assert journaled == count, f"{journaled} of {count} submissions in the journal"
    return {
        "requests": count,
        "submissions_per_s": round(count / sum(posts), 1),
        "submission_p50_ms": round(statistics.median(posts) * 1000, 2),
        "submission_p99_ms": round(_p99(posts) * 1000, 2),
        "floor_get_form_p50_ms": round(statistics.median(gets) * 1000, 2),
        "floor_get_form_p99_ms": round(_p99(gets) * 1000, 2),
        "p50_vs_floor": round(statistics.median(posts) / statistics.median(gets), 2),
        "journaled": journaled,
    }


def _wait(session: requests.Session, base: str) -> None:
    for _ in range(200):
        try:
            session.get(f"{base}/form", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise SystemExit("sheetpipe serve did not start")


def _timed(count: int, call) -> list[float]:  # noqa: ANN001
    times = []
    for i in range(count):
        start = time.perf_counter()
        answer = call(i)
        times.append(time.perf_counter() - start)
        assert answer.status_code in (200, 201), answer.text
    return times


def _p99(times: list[float]) -> float:
    return sorted(times)[max(0, int(len(times) * 0.99) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    print(json.dumps(measure(parser.parse_args().requests)))


if __name__ == "__main__":
    main()
