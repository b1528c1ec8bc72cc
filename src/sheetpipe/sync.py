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
from sheetpipe.core import cells
from sheetpipe.core.contract import Names
from sheetpipe.core.plan import Plan, plan_cycle
from sheetpipe.core.status import plan_status
from sheetpipe.core.widths import plan_widths, shown_elsewhere
from sheetpipe.errors import JournalError, Replan
from sheetpipe.model import (
    ChangeSet,
    Checkbox,
    DueColours,
    FormatSpec,
    FrozenHeader,
    HealthColours,
    ListDropdown,
    Problem,
    RepViews,
    Snapshot,
)

if TYPE_CHECKING:
    from sheetpipe.journal import Inbox
    from sheetpipe.mail import Delivery, Mailer

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


def run_cycle(
    backend: Backend,
    names: Names,
    now: datetime,
    *,
    dry_run: bool = False,
    next_run: str = "not scheduled (sheetpipe sync)",
    mailer: Mailer | None = None,
    inbox: Inbox | None = None,
) -> CycleReport:
    """One cycle; with a `mailer` ([smtp]) its alerts are queued in Outbox and the queued
    e-mails are sent once the cycle's changes are written."""
    started = time.perf_counter()
    backend.start_cycle()
    composer = mailer.composer(backend) if mailer is not None else None
    if mailer is not None and not dry_run:  # fates an earlier delivery could not write, first
        mailer.settle(backend, names)
    side_problems = _move_submissions(inbox, backend, names, dry_run)
    for attempt in range(1, REPLANS + 1):
        try:
            with backend.session(), _collector_paused():
                snapshot = backend.read()
                plan = plan_cycle(snapshot, names, now, composer)
                plan.problems += side_problems
                plan_status(
                    plan,
                    snapshot.find(names.status),
                    next_run=next_run,
                    calls=backend.calls_if_written(plan.changes),
                )
                # A new tab's Deal column fits the pipelines' deal names (looked up
                # only then: it reads every name).
                tabs = (t.rows for t in snapshot.tabs.values())
                shown = shown_elsewhere(tabs) if plan.changes.new_tabs else {}
                plan_widths(plan.changes, names.status, shown)
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
    delivery = None
    if mailer is not None and not dry_run and plan.mail_waiting:
        delivery = mailer.deliver(backend, names, now)
        if delivery.error:
            log.warning("%s", delivery.line())
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


def render_changes(snapshot: Snapshot, changes: ChangeSet, limit: int = 200) -> str:
    """The change set as a person reads it (for --dry-run)."""
    lines: list[str] = []
    for name, rows in changes.new_tabs:
        lines.append(f"+ tab {name} ({_rows(len(rows) - 1)} under its header)")
    for tab, col, header in changes.new_columns:
        lines.append(f"+ column {cells.a1(tab, 1, col)} {header}")
    for write in changes.writes:
        tab = snapshot.find(write.tab)
        for row, value in zip(write.rows, write.values, strict=True):
            old = _cell(tab.rows if tab else [], row, write.col)
            lines.append(
                f"~ {cells.a1(write.tab, row, write.col)} {write.name}: "
                f"{cells.text(old)!r} → {cells.text(value)!r}"
            )
    for tab, first, rows in changes.appends:
        for offset, values in enumerate(rows):
            shown = " | ".join(_one_line(cells.text(v)) for v in values)
            lines.append(f"+ {tab} row {first + offset}: {shown}")
    for tab, spec in changes.formats:
        header = _header_after(snapshot, changes, tab)
        lines.append(f"+ format {tab}: {describe_format(spec, header)}")
    for tab, rows in changes.rewrites.items():
        lines.append(f"~ {tab} tab rewritten ({_rows(len(rows) - 1)} under its header)")
    if changes.status is not None:
        lines.append(f"~ Status tab rewritten ({len(changes.status)} rows)")
    if len(lines) > limit:
        lines = lines[:limit] + [f"… and {len(lines) - limit} more changes"]
    return "\n".join(lines) if lines else "nothing to change"


def _one_line(text: str, limit: int = 200) -> str:
    """A cell on the change's one line: line breaks shown, a long text (an e-mail's
    body) cut."""
    text = text.replace("\r\n", "\n").replace("\n", " ⏎ ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def describe_format(spec: FormatSpec, header: list[str]) -> str:
    """A format in words, naming the columns by header and letter as the sheet shows them."""

    def column(col: int) -> str:
        name = header[col - 1] if col - 1 < len(header) else ""
        return f"{name} (column {cells.col_letter(col)})" if name else cells.col_letter(col)

    if isinstance(spec, HealthColours):
        return (
            f"row colours keyed on {column(spec.health_col)}, "
            f"columns A:{cells.col_letter(spec.last_col)}"
        )
    if isinstance(spec, ListDropdown):
        last = cells.col_letter(spec.source_col) + str(1 + spec.count)
        choices = "choice" if spec.count == 1 else "choices"
        return (
            f"dropdown on {column(spec.col)}, its {spec.count} {choices} "
            f"from {cells.a1(spec.source_tab, 2, spec.source_col)}:{last}"
        )
    if isinstance(spec, DueColours):
        return (
            f"red rows past {column(spec.due_col)}, amber on the day, "
            f"until {column(spec.done_col)} is ticked"
        )
    if isinstance(spec, RepViews):
        reps = ", ".join(sorted(spec.owners)) or "none"
        return f"a filter view per rep on {column(spec.owner_col)}: {reps}"
    if isinstance(spec, Checkbox):
        return f'checkbox on {column(spec.col)} ("{spec.ticked}" when ticked)'
    if isinstance(spec, FrozenHeader):
        return "header row frozen"
    return str(spec)  # a format added to the model before it was given words here


def _header_after(snapshot: Snapshot, changes: ChangeSet, name: str) -> list[str]:
    """A tab's header once the change set has added its tab or columns."""
    tab = snapshot.find(name)
    header = list(tab.header) if tab else []
    for new_name, rows in changes.new_tabs:
        if new_name == name and rows:
            header = [cells.text(v) for v in rows[0]]
    for tab_name, col, title in changes.new_columns:
        if tab_name == name:
            header += [""] * (col - len(header))
            header[col - 1] = title
    return header


def _cell(rows: list[list], row: int, col: int) -> object:
    if row - 1 < len(rows) and col - 1 < len(rows[row - 1]):
        return rows[row - 1][col - 1]
    return None
