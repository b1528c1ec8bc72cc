"""Won deals move on: a deal in a won stage gets one row in the next pipeline.

The next pipeline is the won stage's `Next pipeline` in Stages (`none`: no row), else the
pipeline after this one in sheetpipe.toml (Deals → Customers). The new row starts in that
pipeline's first stage with every column both tabs have (Deal, Owner, Email, Company,
Value, …) and `From deal`, the won deal's ID. A deal is moved once: never again while a
row of that pipeline names it in `From deal`, nor after, as its first History row there
says `sheetpipe (from D-0012)` even if the row is deleted.

`Post-sale owner` (Settings): `same` (the default) keeps the deal's owner; `round-robin`
deals the new rows out over the Team members of that pipeline, the turn kept in that
first History row (`sheetpipe (from D-0012; round-robin, turn 7)`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from sheetpipe.core.contract import FROM_DEAL, OWNED_COLUMNS, Names
from sheetpipe.core.deals.history import HistoryLog
from sheetpipe.core.inputs.settings import Settings
from sheetpipe.core.inputs.stages import Stage, Stages
from sheetpipe.core.inputs.team import RoundRobin
from sheetpipe.core.sheet import cells
from sheetpipe.core.sheet.table import Table
from sheetpipe.model import Problem

MOVED = re.compile(r"\(from ([^;)\s]+)")
DATE_COLUMNS = {"expected close", "last contact"}
NOT_COPIED = {cells.norm(c) for c in (*OWNED_COLUMNS, "Stage", FROM_DEAL)}


@dataclass(frozen=True)
class Moved:
    """Won deals of one pipeline, as the rows they start as in the next one."""

    target: str
    rows: list[dict[str, object]]  # norm(column) → value
    notes: list[str]  # each row's first History row says: "from D-0012; round-robin, turn 7"
    columns: tuple[str, ...]  # the columns the rows need in the target (added if missing)


@dataclass
class Transfers:
    """The transfer step's result for one pipeline."""

    moved: list[Moved] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    robin: RoundRobin | None = None  # the rotation once these rows are dealt out


Rotation = Callable[[], tuple[RoundRobin, list[Problem]]]  # made when first needed


def plan_transfers(
    name: str,
    planned: pd.DataFrame,
    pipelines: dict[str, Table | None],
    stages: Stages,
    log: HistoryLog,
    settings: Settings,
    names: Names,
    rotation: Rotation,
) -> Transfers:
    """Rows for the won deals of pipeline `name` that their next pipeline lacks.
    `planned` is the pipeline as this cycle planned it (IDs, stages), so a deal that gets
    its ID this cycle moves on in the same one."""
    table = pipelines[name]
    assert table is not None
    found = Transfers()
    for won in (s for s in stages.of(name) if s.closed == "won"):
        target = _next_pipeline(won, name, names)
        target_table = pipelines.get(target) if target else None
        if target is None or target_table is None:
            continue
        first = next((s for s in stages.of(target) if not s.closed), None)
        if first is None:
            found.problems.append(Problem(f"{target} tab", f"won {name} deals wait: {target} "
                                          "has no stages in Stages yet.", "warning"))  # fmt: skip
            continue
        ready = _ready(planned, won, target_table, log, target)
        if ready:
            found.moved.append(_move(table, ready, target, target_table, first, settings,
                                     lambda: _robin(found, rotation)))  # fmt: skip
    return found


def _robin(found: Transfers, rotation: Rotation) -> RoundRobin:
    """The rotation this step deals from: made once, its problems this step's."""
    if found.robin is None:
        found.robin, problems = rotation()
        found.problems += problems
    return found.robin


def _next_pipeline(won: Stage, name: str, names: Names) -> str | None:
    if won.next_pipeline == "none":
        return None
    if won.next_pipeline:
        return won.next_pipeline if cells.norm(won.next_pipeline) != cells.norm(name) else None
    order = [cells.norm(p) for p in names.pipelines]
    at = order.index(cells.norm(name)) if cells.norm(name) in order else -1
    return names.pipelines[at + 1] if 0 <= at < len(order) - 1 else None


def _ready(
    planned: pd.DataFrame, won: Stage, target: Table, log: HistoryLog, target_name: str
) -> list[tuple[int, str]]:
    """(row, ID) of each deal in the won stage that has no row in the target and never
    had one. Nearly every cycle every won deal already has its row, so History is read
    only for the others."""
    in_won = cells.norms(planned["Stage"]).eq(cells.norm(won.name))
    ids = planned["ID"][in_won]  # trimmed text, as assign_ids made them
    there = cells.stripped(target.get(FROM_DEAL))
    ids = ids[~ids.isin(there)]  # as sheetpipe wrote them: nearly always all of them
    ids = ids[~ids.str.casefold().isin(set(there.str.casefold()))]
    if ids.empty:
        return []
    gone = _moved_before(log, target_name)
    ids = ids[~ids.str.casefold().isin(gone)]
    return list(zip(ids.index, ids, strict=True))


def _moved_before(log: HistoryLog, target_name: str) -> set[str]:
    """IDs History says had a row in the target (`sheetpipe (from D-0012)`)."""
    if log.table is None or not log.table.has("By"):
        return set()
    by = cells.texts(log.table.get("By")[log.row[log.part(target_name)]])
    return {cells.norm(m) for text in by.unique() for m in MOVED.findall(text)}


def _move(
    source: Table,
    ready: list[tuple[int, str]],
    target: str,
    target_table: Table,
    first: Stage,
    settings: Settings,
    robin: Callable[[], RoundRobin],
) -> Moved:
    """One row in `target` for each (row, ID) of `ready`, column by column."""
    rows = [row for row, _ in ready]
    copied = [k for k in source.cols if k in target_table.cols and k not in NOT_COPIED]
    columns = {key: _cells(source, key, rows, settings) for key in copied}
    dealt = settings.post_sale_owner == "round-robin"
    values_out, notes = [], []
    for i, (_, deal_id) in enumerate(ready):
        values = {k: v[i] for k, v in columns.items() if not cells.is_blank(v[i])}
        values["stage"], values[cells.norm(FROM_DEAL)] = first.name, deal_id
        note = f"from {deal_id}"
        found = robin().next_owner(target) if dealt else None
        if found is not None:  # nobody in Team can take it: the deal's owner keeps it
            values["owner"], note = found[0], f"{note}; {found[1]}"
        values_out.append(values)
        notes.append(note)
    return Moved(target, values_out, notes, (*copied, "stage", cells.norm(FROM_DEAL), "owner"))


def _cells(source: Table, key: str, rows: list[int], settings: Settings) -> list[object]:
    """A column's cells on these rows; a date column's as dates, whatever form the
    backend reads them in."""
    values = source.get(key)[rows]
    if key not in DATE_COLUMNS:
        return values.tolist()
    days = cells.dates(values, settings.date_order, source.serial_numbers)
    return [None if pd.isna(d) else d.date() for d in days]
