"""The Status tab: what the last cycles did and every problem, with its cell address.

Status is rewritten only when what it says changes, or when its "Last run" is older
than the heartbeat setting: an idle daemon then writes nothing at all between beats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sheetpipe.core.contract import STATUS_COLUMNS
from sheetpipe.core.sheet import cells
from sheetpipe.model import ERROR_FILL, CellLink, ChangeSet, Problem, Row, Shaded, Tab

VOLATILE = ("last run", "next run")  # change every cycle; not a reason to rewrite
TIME = "%Y-%m-%d %H:%M"
HEALTHS = ("Hot", "At risk", "Stalled", "Dead")


@dataclass(frozen=True)
class CycleFacts:
    """What Status says of a cycle, from the steps before it."""

    now: datetime  # sheet-local
    timezone: str
    heartbeat_minutes: float
    problems: list[Problem]
    deals: list[tuple[str, int]]  # (pipeline tab, deals planned)
    health: dict[str, int]  # HEALTHS → deals
    tasks_added: int
    history_added: int


def plan_status(
    facts: CycleFacts, changes: ChangeSet, current: Tab | None, *, next_run: str, calls: str
) -> list[Row] | None:
    """The new Status content when it needs rewriting (`changes`: the rest of the
    cycle's), else None."""
    busy = changes.has_sheet_changes()
    old = {cells.norm(r[0]): r for r in (current.rows if current else []) if r}
    if busy:
        summary = (
            f"{changes.cells_changed} cells, {changes.rows_appended} rows appended "
            f"({facts.tasks_added} tasks, {facts.history_added} history); {calls}"
        )
        last_change = ["Last change", facts.now.strftime(TIME), summary]
    else:
        last_change = list(old.get("last change", ["Last change", "never", ""]))
    rows = _rows(facts, next_run, last_change)
    if busy or current is None or _stale(old, facts) or _differs(rows, current.rows):
        return rows
    return None


def _rows(facts: CycleFacts, next_run: str, last_change: list) -> list[Row]:
    errors = sum(p.level == "error" for p in facts.problems)
    warnings = len(facts.problems) - errors
    per_tab = " · ".join(f"{name} {count}" for name, count in facts.deals)
    rows: list[Row] = [
        list(STATUS_COLUMNS),
        ["Summary", headline(errors, warnings), ""],
        ["Last run", facts.now.strftime(TIME), f"time zone {facts.timezone}"],
        ["Next run", next_run, ""],
        _pad(last_change),
        ["Deals", sum(count for _, count in facts.deals), per_tab],
    ]
    rows += [[h, facts.health.get(h, 0), ""] for h in HEALTHS]
    rows.append(["Problems", len(facts.problems), f"{errors} errors, {warnings} warnings"])
    rows.append(["", "", ""])
    rows.append(["Where", "Problem", "Level"])
    rows += [[_link(p.where), *_shaded(p)] for p in facts.problems]
    return rows


def headline(errors: int, warnings: int) -> str:
    """What Status says first: "All good", or "3 problems: 1 error, 2 warnings"."""
    if not errors + warnings:
        return "All good"
    kinds = [cells.plural(n, kind) for n, kind in ((errors, "error"), (warnings, "warning")) if n]
    return f"{cells.plural(errors + warnings, 'problem')}: {', '.join(kinds)}"


def _shaded(problem: Problem) -> list[Shaded | str]:
    """An error's message and level on red, so that errors stand out from warnings."""
    if problem.level != "error":
        return [problem.message, problem.level]
    return [Shaded(problem.message, ERROR_FILL), Shaded(problem.level, ERROR_FILL)]


def _link(where: str) -> CellLink | str:
    """A problem's address as a link to its cell, where it names one."""
    found = cells.parse_cell(where)
    return CellLink(where, *found) if found else where


def _pad(row: list) -> Row:
    return (list(row) + ["", "", ""])[:3]


def _stale(old: dict, facts: CycleFacts) -> bool:
    """True when the Last run shown is older than the heartbeat (or unreadable)."""
    last = old.get("last run")
    try:
        written = datetime.strptime(cells.text(last[1])[:16], TIME)  # type: ignore[index]
    except (TypeError, IndexError, ValueError):
        return True
    return facts.now - written >= timedelta(minutes=facts.heartbeat_minutes)


def _differs(rows: list[Row], current: list[Row]) -> bool:
    def stable(table: list[Row]) -> list[list[str]]:
        texts = [[cells.text(v).strip() for v in row] for row in table]
        kept = [row for row in texts if not (row and cells.norm(row[0]) in VOLATILE)]
        return cells.trim(kept, each_row=True)

    return stable(rows) != stable(current)
