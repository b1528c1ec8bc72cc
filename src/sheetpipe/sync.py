"""One cycle: read → compute → plan → guard → apply → report."""

from __future__ import annotations

import contextlib
import gc
import logging
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sheetpipe.backends.base import Backend
from sheetpipe.core.contract import Names
from sheetpipe.core.cycle import Carried, Plan, Report, plan_cycle
from sheetpipe.errors import JournalError, Replan
from sheetpipe.model import (
    Problem,
    Snapshot,
)

if TYPE_CHECKING:
    from sheetpipe.config import Config
    from sheetpipe.core.tabs.outbox import Composer
    from sheetpipe.mail import Delivery, Mailer
    from sheetpipe.mail.imap import ReplyReader
    from sheetpipe.web.journal import Inbox

log = logging.getLogger("sheetpipe")
REPLANS = 4  # reads a cycle may take when the sheet keeps changing under it
JOURNAL_SETTING = "sheetpipe.toml [serve] journal"  # where a journal problem is shown
REPLAN_PAUSE = 0.5  # seconds before the first re-read; doubles, with jitter


@dataclass
class CycleReport:
    plan: Plan
    snapshot: Snapshot
    applied: bool
    seconds: float
    calls: str
    delivery: Delivery | None = None  # the e-mails sent after the cycle, with [smtp]

    def line(self) -> str:
        """The daemon's one log line per cycle."""
        c = self.plan.changes
        mail = ""
        if self.delivery is not None:
            d = self.delivery
            mail = f"mail_sent={d.sent} mail_failed={d.failed} "
            mail += f"mail_in_doubt={d.in_doubt} " if d.in_doubt else ""
        return (
            f"deals={self.plan.deals} cells={c.cells_changed} tasks={self.plan.tasks_added} "
            f"history={self.plan.history_added} problems={len(self.plan.problems)} "
            f"{mail}calls=[{self.calls}] duration={self.seconds:.2f}s"
        )

    def summary(self, dry_run: bool = False) -> str:
        """`sheetpipe sync`'s last line: what the cycle did (or would do), then the counts."""
        changes = self.plan.changes
        if changes.has_sheet_changes():
            done = "Dry run: would change" if dry_run else "changed"
        elif changes.status is not None:
            # The heartbeat or a new problem: worth saying, since nothing else moved.
            done = "Dry run: would refresh only Status:" if dry_run else "only Status refreshed:"
        else:
            done = "Dry run: nothing to change:" if dry_run else "nothing to change:"
        return f"{done} {self.line()}"


@dataclass(frozen=True)
class SideInputs:
    """What a cycle carries besides the sheet: e-mail ([smtp]) and the web form's journal
    ([serve]). Each comes in at its own points of the cycle (`before` it reads, the plan's
    `composer`, `after` it writes); a new one is a field and its part of these, never a
    new argument of run_cycle."""

    mailer: Mailer | None = None
    inbox: Inbox | None = None
    replies: ReplyReader | None = None  # [imap]

    def before(self, backend: Backend, names: Names, dry_run: bool) -> list[Problem]:
        """Fates an earlier delivery could not write, the web form's submissions, then
        the new replies in the mailbox; what goes wrong here is a problem on Status, and
        the cycle goes on."""
        if self.mailer is not None and not dry_run:
            self.mailer.settle(backend, names)
        problems = _move_submissions(self.inbox, backend, names, dry_run)
        if self.replies is not None and not dry_run:
            problems += self.replies.take(backend, names)
        return problems

    def composer(self, backend: Backend) -> Composer | None:
        return self.mailer.composer(backend) if self.mailer is not None else None

    def after(self, backend: Backend, names: Names, now: datetime, plan: Plan) -> Delivery | None:
        """The queued e-mails, sent once the cycle's changes are written."""
        if self.mailer is None or not plan.mail_waiting:
            return None
        delivery = self.mailer.deliver(backend, names, now)
        if delivery.error:
            log.warning("%s", delivery.line())
        return delivery


def open_side_inputs(config: Config) -> SideInputs:
    """The side inputs sheetpipe.toml asks for."""
    from sheetpipe.mail import open_mailer
    from sheetpipe.mail.delivery import UnsubscribeLinks
    from sheetpipe.mail.imap import ReplyReader
    from sheetpipe.web.journal import open_inbox

    mailer, inbox = open_mailer(config), open_inbox(config)
    if mailer is not None and inbox is not None and config.serve and config.serve.public_url:
        # One-click unsubscribe links, signed with the key `sheetpipe serve` checks them by
        mailer.links = UnsubscribeLinks(config.serve.public_url, inbox.journal.secret)
    replies = ReplyReader(config.imap) if config.imap is not None else None
    return SideInputs(mailer, inbox, replies)


def run_cycle(
    backend: Backend,
    names: Names,
    now: datetime,
    *,
    dry_run: bool = False,
    next_run: str = "not scheduled (sheetpipe sync)",
    side: SideInputs = SideInputs(),
    previous: Carried | None = None,
) -> CycleReport:
    """One cycle: the side inputs' part before it, read, plan, apply, their part after.
    `previous`: what the last cycle carried (`plan.carried`), for a daemon's next cycle."""
    started = time.perf_counter()
    backend.start_cycle()
    composer = side.composer(backend)
    side_problems = side.before(backend, names, dry_run)
    for attempt in range(1, REPLANS + 1):
        try:
            with backend.session(), _collector_paused():
                snapshot = backend.read()
                told = Report(next_run, backend.calls_if_written, tuple(side_problems))
                plan = plan_cycle(snapshot, names, now, composer, told, previous)
                applied = not dry_run and not plan.changes.is_empty()
                if applied:
                    backend.apply(plan.changes, names.status)
            break
        except Replan as err:
            # The sheet moved under the plan, or a write's fate is unknown: nothing wrong
            # was written, and a fresh read shows what is there now.
            if attempt == REPLANS:
                raise
            log.info("planning again (%s/%s): %s", attempt, REPLANS - 1, err)
            time.sleep(backoff(attempt, REPLAN_PAUSE, cap=10.0))
    delivery = None if dry_run else side.after(backend, names, now, plan)
    seconds = time.perf_counter() - started
    return CycleReport(plan, snapshot, applied, seconds, backend.calls(), delivery)


def _move_submissions(
    inbox: Inbox | None, backend: Backend, names: Names, dry_run: bool
) -> list[Problem]:
    """The web form's submissions, into their tab (a dry run only reads the journal).

    The journal is a side input: one that cannot be used is a problem on Status, and the
    rest of the cycle (scores, tasks, intake) runs as usual. Its file is left untouched."""
    if inbox is None:
        return []
    try:
        if dry_run:
            inbox.journal.waiting()
        else:
            inbox.move(backend, names)
    except JournalError as err:
        return [Problem(JOURNAL_SETTING, str(err))]
    return []


def backoff(attempt: int, first: float, cap: float) -> float:
    """Seconds to wait before try number `attempt` + 1: `first`, doubling, capped at `cap`,
    less up to a fifth at random so that many daemons do not retry in step."""
    return min(first * 2 ** (attempt - 1), cap) * random.uniform(0.8, 1.0)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Keep Python's cycle collector out of one cycle.

    A read hands over millions of cell objects that live exactly as long as the cycle
    and hold no reference cycles; the collector's full passes would walk them again and
    again (a 50 k-deal Google cycle spent a third of its time there). Reference counting
    still frees everything as usual; the few cycles pandas leaves are collected once the
    collector is back on, after the cycle.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
