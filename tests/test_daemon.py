"""The daemon: schedule, backoff, and a clean stop on SIGTERM/SIGINT in a real process."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time

import openpyxl
import pytest

from sheetpipe.daemon import MAX_RETRY, Daemon, retry_delay
from sheetpipe.errors import WorkbookBusy
from sheetpipe.sync import backoff

from .helpers import tabs, write_config, write_workbook


def test_backoff_grows_and_is_capped():
    delays = [retry_delay(n, every=300) for n in range(1, 12)]
    assert all(4 <= d <= 5 for d in delays[:1])
    assert all(
        later >= earlier * 1.5 for earlier, later in zip(delays[:5], delays[1:6], strict=True)
    )
    assert 240 <= max(delays) <= 300, "capped at the interval"
    assert 0.8 * MAX_RETRY <= retry_delay(30, every=10_000) <= MAX_RETRY
    assert 4 <= retry_delay(3, every=1) <= 5, "never below the first retry"


def test_replans_back_off_the_same_way():
    delays = [backoff(n, 0.5, cap=10.0) for n in range(1, 8)]
    assert 0.4 <= delays[0] <= 0.5 and 0.8 <= delays[1] <= 1.0
    assert all(8 <= d <= 10 for d in delays[5:])


def run_for(daemon: Daemon, seconds: float) -> None:
    threading.Timer(seconds, daemon.stop).start()
    assert daemon.run(install_signals=False) == 0


def test_a_failing_cycle_is_retried_with_growing_delays_and_never_kills_the_daemon(caplog):
    calls: list[float] = []

    def cycle(next_run: str) -> str:
        calls.append(time.monotonic())
        if len(calls) <= 3:
            raise RuntimeError("disk on fire")
        return "ok"

    caplog.set_level(logging.INFO, logger="sheetpipe")
    daemon = Daemon(cycle, every=60, first_retry=0.2)
    run_for(daemon, 2.5)
    gaps = [b - a for a, b in zip(calls, calls[1:], strict=False)]
    assert len(calls) == 4  # three failures, then the success; no regular tick yet (60 s)
    assert gaps[0] < gaps[1] < gaps[2]
    messages = [r.getMessage() for r in caplog.records]
    assert sum("cycle failed (RuntimeError: disk on fire)" in m for m in messages) == 3
    assert "recovered after 3 failed attempts" in messages
    assert daemon.failures == 0


def test_a_busy_workbook_skips_the_cycle_without_backoff(caplog):
    calls = []

    def cycle(next_run: str) -> str:
        calls.append(next_run)
        raise WorkbookBusy("open in Excel")

    caplog.set_level(logging.INFO, logger="sheetpipe")
    daemon = Daemon(cycle, every=0.3, first_retry=10)
    run_for(daemon, 1.2)
    assert len(calls) >= 3  # kept its rhythm
    assert daemon.failures == 0
    assert any("cycle skipped: open in Excel" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_lets_the_cycle_finish_then_exits_zero(tmp_path, sig):
    workbook = write_workbook(
        tmp_path / "pipeline.xlsx", tabs([{"Deal": "Acme", "Stage": "Discovery"}])
    )
    config = write_config(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sheetpipe", "run", "--every", "1s", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    deadline = time.monotonic() + 90  # a loaded CI machine: generous ceilings
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        lines.append(line)
        if "cycle ok" in line:
            break
    proc.send_signal(sig)
    _, rest = proc.communicate(timeout=90)
    log = "".join(lines) + rest
    assert proc.returncode == 0, log
    assert "cycle ok: deals=1 cells=" in log
    assert "stopping after the current cycle" in log
    assert "stopped after" in log
    deal = dict(
        zip(
            *[
                list(r)
                for r in openpyxl.load_workbook(workbook)["Deals"].iter_rows(values_only=True)
            ],
            strict=False,
        )
    )
    assert deal["ID"] == "D-0001"  # the cycle's work was saved whole
