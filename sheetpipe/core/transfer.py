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

import pandas as pd

from sheetpipe.core import cells
from sheetpipe.core.contract import FROM_DEAL, OWNED_COLUMNS, Names
from sheetpipe.core.history import HistoryLog
from sheetpipe.core.intake import IntakeCycle
from sheetpipe.core.stages import Stage, Stages
from sheetpipe.core.table import Table
from sheetpipe.model import Problem

MOVED = re.compile(r"\(from ([^;)\s]+)")
DATE_COLUMNS = {"expected close", "last contact"}
NOT_COPIED = {cells.norm(c) for c in (*OWNED_COLUMNS, "Stage", FROM_DEAL)}


def plan_transfers(
    cycle: IntakeCycle,
    name: str,
    planned: pd.DataFrame,
    pipelines: dict[str, Table | None],
    stages: Stages,
    log: HistoryLog,
) -> None:
    """Rows for the won deals of pipeline `name` that their next pipeline lacks, added to
    `cycle`. `planned` is the pipeline as this cycle planned it (IDs, stages), so a deal
    that gets its ID this cycle moves on in the same one."""
    table = pipelines[name]
    assert table is not None
    for won in (s for s in stages.of(name) if s.closed == "won"):
        target = _next_pipeline(won, name, cycle.names)
        target_table = pipelines.get(target) if target else None
        if target is None or target_table is None:
            continue
        first = next((s for s in stages.of(target) if not s.closed), None)
        if first is None:
            cycle.problems.append(Problem(f"{target} tab", f"won {name} deals wait: {target} "
                                          "has no stages in Stages yet.", "warning"))  # fmt: skip
            continue
        for row, deal_id in _ready(planned, won, _moved_already(target_table, log, target)):
            _move(cycle, table, row, deal_id, target, target_table, first, pipelines, stages)


def _next_pipeline(won: Stage, name: str, names: Names) -> str | None:
    if won.next_pipeline == "none":
        return None
    if won.next_pipeline:
        return won.next_pipeline if cells.norm(won.next_pipeline) != cells.norm(name) else None
    order = [cells.norm(p) for p in names.pipelines]
    at = order.index(cells.norm(name)) if cells.norm(name) in order else -1
    return names.pipelines[at + 1] if 0 <= at < len(order) - 1 else None


def _moved_already(target: Table, log: HistoryLog, target_name: str) -> set[str]:
    """IDs of deals that have a row in the target, or had one (History says so)."""
    moved = set(cells.norms(target.get(FROM_DEAL)))
    if log.table is not None and log.table.has("By"):
        part = log.part(target_name)
        for by in cells.texts(log.table.get("By")[log.row[part]]):
            moved.update(cells.norm(m) for m in MOVED.findall(by))
    moved.discard("")
    return moved


def _ready(planned: pd.DataFrame, won: Stage, moved: set[str]) -> list[tuple[int, str]]:
    """(row, ID) of each deal in the won stage that has not moved yet."""
    ids = planned["ID"].astype(str).str.strip()
    ready = planned["Stage"].map(cells.norm).eq(cells.norm(won.name)) & ~ids.map(
        cells.norm).isin(moved)  # fmt: skip
    return list(zip(ready.index[ready], ids[ready], strict=True))


def _move(
    cycle: IntakeCycle,
    source: Table,
    row: int,
    deal_id: str,
    target: str,
    target_table: Table,
    first: Stage,
    pipelines: dict[str, Table | None],
    stages: Stages,
) -> None:
    values: dict[str, object] = {
        key: source.get(key)[row]
        for key in source.cols
        if key in target_table.cols and key not in NOT_COPIED
        and not cells.is_blank(source.get(key)[row])
    }  # fmt: skip
    for key in DATE_COLUMNS & values.keys():  # as a date, whatever form the backend reads
        values[key] = cells.parse_date(values[key], cycle.settings.date_order,
                                       source.serial_numbers)  # fmt: skip
    values["stage"] = first.name
    values[cells.norm(FROM_DEAL)] = deal_id
    leads = cycle.leads_of(target, target_table)
    note = f"from {deal_id}"
    if cycle.settings.post_sale_owner == "round-robin":
        found = cycle.robin(pipelines, stages).next_owner(target)
        values.pop("owner", None)
        if found is not None:
            values["owner"], note = found[0], f"{note}; {found[1]}"
    cycle.history_notes[(target_table.name, leads.first_new + len(leads.new))] = note
    leads.new.append(values)
    for key in values:
        leads.col(key)
