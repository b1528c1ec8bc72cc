"""The Status tab: what the last cycles did and every problem, with its cell address.

Status is rewritten only when what it says changes, or when its "Last run" is older
than the heartbeat setting: an idle daemon then writes nothing at all between beats.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sheetpipe.core import cells
from sheetpipe.core.contract import STATUS_COLUMNS
from sheetpipe.core.plan import Plan
from sheetpipe.model import ERROR_FILL, CellLink, Problem, Row, Shaded, Tab

VOLATILE = ("last run", "next run")  # change every cycle; not a reason to rewrite
TIME = "%Y-%m-%d %H:%M"


def plan_status(plan: Plan, current: Tab | None, *, next_run: str, calls: str) -> None:
    """Set plan.changes.status to the new Status content, when it needs rewriting."""
    busy = plan.changes.has_sheet_changes()
    old = {cells.norm(r[0]): r for r in (current.rows if current else []) if r}
    if busy:
        c = plan.changes
        summary = (
            f"{c.cells_changed} cells, {c.rows_appended} rows appended "
            f"({plan.tasks_added} tasks, {plan.history_added} history); {calls}"
        )
        last_change = ["Last change", plan.now.strftime(TIME), summary]
    else:
        last_change = list(old.get("last change", ["Last change", "never", ""]))
    rows = _rows(plan, next_run, last_change)
    if busy or current is None or _stale(old, plan) or _differs(rows, current.rows):
        plan.changes.status = rows


def _rows(plan: Plan, next_run: str, last_change: list) -> list[Row]:
    errors = len(plan.errors)
    warnings = len(plan.problems) - errors
    per_tab = " · ".join(f"{p.name} {len(p.desired)}" for p in plan.pipelines)
    rows: list[Row] = [
        list(STATUS_COLUMNS),
        ["Summary", headline(errors, warnings), ""],
        ["Last run", plan.now.strftime(TIME), f"time zone {plan.settings.timezone}"],
        ["Next run", next_run, ""],
        _pad(last_change),
        ["Deals", plan.deals, per_tab],
    ]
    rows += [[h, plan.count(h), ""] for h in ("Hot", "At risk", "Stalled", "Dead")]
    rows.append(["Problems", len(plan.problems), f"{errors} errors, {warnings} warnings"])
    rows.append(["", "", ""])
    rows.append(["Where", "Problem", "Level"])
    rows += [[_link(p.where), *_shaded(p)] for p in plan.problems]
    return rows


def headline(errors: int, warnings: int) -> str:
    """What Status says first: "All good", or "3 problems: 1 error, 2 warnings"."""
    if not errors + warnings:
        return "All good"
    kinds = [_count(n, kind) for n, kind in ((errors, "error"), (warnings, "warning")) if n]
    return f"{_count(errors + warnings, 'problem')}: {', '.join(kinds)}"


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


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


def _stale(old: dict, plan: Plan) -> bool:
    """True when the Last run shown is older than the heartbeat (or unreadable)."""
    last = old.get("last run")
    try:
        written = datetime.strptime(cells.text(last[1])[:16], TIME)  # type: ignore[index]
    except (TypeError, IndexError, ValueError):
        return True
    return plan.now - written >= timedelta(minutes=plan.settings.status_heartbeat_minutes)


def _differs(rows: list[Row], current: list[Row]) -> bool:
    def stable(table: list[Row]) -> list[list[str]]:
        texts = [[cells.text(v).strip() for v in row] for row in table]
        kept = [row for row in texts if not (row and cells.norm(row[0]) in VOLATILE)]
        return cells.without_trailing_blanks(kept)

    return stable(rows) != stable(current)
