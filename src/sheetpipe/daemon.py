"""The schedule loop: one cycle every N seconds, backoff on failure, clean stop on signals.

Limits, on purpose:
- Cycles run in this process, one at a time; a cycle longer than the interval delays the
  next one rather than overlapping it.
- Time between cycles is wall-clock on this machine (the `schedule` library); a suspended
  laptop catches up with one cycle, not with every missed one.
- A failing cycle is retried after 5 s, 10 s, 20 s … capped at the interval (and at
  15 minutes); the first success returns to the normal rhythm. Nothing makes it exit but
  SIGTERM or SIGINT, which let the running cycle finish first.
- A workbook open in Excel is not a failure: that cycle is skipped, the next one runs on time.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import schedule

from sheetpipe import __version__
from sheetpipe.backends import open_backend
from sheetpipe.config import Config
from sheetpipe.core.cycle import Carried
from sheetpipe.errors import AlreadyRunning, SheetChanged, WorkbookBusy
from sheetpipe.sync import backoff, open_side_inputs, run_cycle

log = logging.getLogger("sheetpipe")
FIRST_RETRY, MAX_RETRY = 5.0, 900.0
Cycle = Callable[[str], str]  # takes the "next run" text for Status, returns the log line


def retry_delay(failures: int, every: float, first: float = FIRST_RETRY) -> float:
    """Seconds before retry number `failures` (1-based): never longer than the interval
    (a retry should not come later than the next cycle would) nor than MAX_RETRY."""
    return backoff(failures, first, cap=min(max(every, first), MAX_RETRY))


class Daemon:
    def __init__(
        self,
        cycle: Cycle,
        every: float,
        *,
        first_retry: float = FIRST_RETRY,
        clock: Callable[[], datetime] | None = None,
    ):
        self.cycle = cycle
        self.every = every
        self.first_retry = first_retry
        self.clock = clock or (lambda: datetime.now(UTC))
        self.scheduler = schedule.Scheduler()
        self.stopping = threading.Event()
        self.failures = 0
        self.cycles = 0
        self.retry_pending = False

    def stop(self, *_: object) -> None:
        log.info("stopping after the current cycle")
        self.stopping.set()

    def run(self, *, install_signals: bool = True) -> int:
        if install_signals:
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
        self.scheduler.every(self.every).seconds.do(self._tick)
        self._tick()
        while not self.stopping.is_set():
            self.scheduler.run_pending()
            idle = self.scheduler.idle_seconds
            self.stopping.wait(max(0.05, min(idle if idle is not None else 1.0, 1.0)))
        self.scheduler.clear()
        log.info("stopped after %d cycles", self.cycles)
        return 0

    def _tick(self) -> None:
        if self.stopping.is_set() or self.retry_pending:
            return  # a pending retry owns the next attempt; do not run two
        next_run = (self.clock() + timedelta(seconds=self.every)).strftime("%Y-%m-%d %H:%M UTC")
        self.cycles += 1
        try:
            line = self.cycle(f"{next_run} (every {self.every:g}s)")
        except (WorkbookBusy, AlreadyRunning, SheetChanged) as exc:
            log.warning("cycle skipped: %s", exc)
            return
        except Exception as exc:  # the daemon outlives any one bad cycle
            self.failures += 1
            delay = retry_delay(self.failures, self.every, self.first_retry)
            log.error(
                "cycle failed (%s: %s); retry %d in %.0fs",
                type(exc).__name__, exc, self.failures, delay,
            )  # fmt: skip
            self.retry_pending = True
            self.scheduler.every(delay).seconds.do(self._retry)
            return
        if self.failures:
            log.info("recovered after %d failed attempts", self.failures)
        self.failures = 0
        log.info("cycle ok: %s", line)

    def _retry(self) -> object:
        self.retry_pending = False
        self._tick()
        return schedule.CancelJob


def run_daemon(config: Config, every: float | None = None, *, once: bool = False) -> int:
    """`sheetpipe run`: sync the configured sheet every `every` seconds (else the
    config's [daemon] every) until a stop signal; with `once`, one cycle. Returns the
    exit code."""
    backend = open_backend(config)
    side = open_side_inputs(config)
    if once:  # for cron: a failure is the caller's to report, not retried here
        report = run_cycle(backend, config.names, datetime.now(UTC), side=side)
        log.info("cycle ok: %s", report.line())
        return 0
    seconds = every or config.every_seconds
    carried: Carried | None = None  # the last idle cycle's results, reused while they hold

    def cycle(next_run: str) -> str:
        nonlocal carried
        now = datetime.now(UTC)
        report = run_cycle(backend, config.names, now, next_run=next_run, side=side,
                           previous=carried)  # fmt: skip
        carried = report.plan.carried
        return report.line()

    with backend.hold():  # one daemon per sheet: a second one stops here, with exit 75
        log.info("sheetpipe %s: syncing %s every %gs", __version__, backend.describe(), seconds)
        return Daemon(cycle, seconds).run()
