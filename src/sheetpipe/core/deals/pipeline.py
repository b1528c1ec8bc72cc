"""One pipeline tab's step of a cycle: IDs, scores, stage tracking, health and tasks.

`plan_pipeline` reads the tab (with the rows this cycle adds to it) and the cycle's
read-only inputs, and returns what it found: its changes, problems, the Tasks and History
rows it wants appended, and each deal's owned values for the steps after it (core/cycle.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cached_property

import numpy as np
import pandas as pd

from sheetpipe.core.contract import DAEMON, FROM_DEAL, OWNED_COLUMNS, PIPELINE_REQUIRED, Names
from sheetpipe.core.deals.health import DealFacts, assess
from sheetpipe.core.deals.history import HistoryLog, Tracking, stage_averages, track
from sheetpipe.core.deals.ids import assign_ids
from sheetpipe.core.deals.scoring import Columns, lead_status, score
from sheetpipe.core.deals.tasks import plan_tasks, slug
from sheetpipe.core.inputs.settings import Settings
from sheetpipe.core.inputs.stages import Stage, Stages
from sheetpipe.core.inputs.weights import Rule
from sheetpipe.core.sheet import cells
from sheetpipe.core.sheet.diff import differs, python_values
from sheetpipe.core.sheet.table import Rows, Table, added_columns, put
from sheetpipe.model import (
    ChangeSet,
    ColumnWrite,
    FormatSpec,
    FrozenHeader,
    HealthColours,
    ListDropdown,
    Problem,
)

# How each owned column is compared with what the sheet holds.
KINDS = {
    "ID": "text",
    "Score": "int",
    "Lead status": "text",
    "Health": "text",
    "Why": "text",
    "In stage since": "date",
    "Days in stage": "int",
}


@dataclass
class PipelineResult:
    name: str
    desired: pd.DataFrame  # owned columns by contract name, Deal (as read) and Stage; index = row
    columns: Columns | None = None
    changes: ChangeSet = field(default_factory=ChangeSet)
    problems: list[Problem] = field(default_factory=list)
    task_rows: list[dict[str, object]] = field(default_factory=list)
    history_rows: list[dict[str, object]] = field(default_factory=list)
    skipped: bool = False  # the tab lacks Deal or Stage: only its problems

    def count(self, health: str) -> int:
        return int(self.desired["Health"].eq(health).sum()) if not self.desired.empty else 0


@dataclass(frozen=True)
class PipelineInputs:
    """What every pipeline of one cycle reads; no step writes into it."""

    names: Names
    settings: Settings
    rules: list[Rule]
    stages: Stages
    log: HistoryLog
    existing_tasks: frozenset[str]  # the Task IDs Tasks holds
    done_tasks: frozenset[str]  # the Task IDs ticked Done
    now: datetime  # sheet-local
    dropdowns: dict[str, ListDropdown] = field(default_factory=dict)  # by Lists header
    # (tab, row) → why sheetpipe made a row this cycle, for its first History row's By.
    history_notes: dict[tuple[str, int], str] = field(default_factory=dict)


@dataclass(frozen=True)
class Added:
    """The rows this cycle adds to a pipeline tab (new leads, won deals moved on), and
    the rows whose cells intake fills in: the step plans them with the rest."""

    first_new: int = 0  # the sheet row of the first of `rows`
    rows: tuple[tuple[object, ...], ...] = ()  # their cells as written, by column
    edited: frozenset[int] = frozenset()  # rows intake writes to (the guard checks them)


def plan_pipeline(
    pipeline: Table, name: str, inputs: PipelineInputs, added: Added = Added()
) -> PipelineResult:
    """The tab's part of the cycle, step by step (only problems when it lacks Deal or
    Stage)."""
    if not _has_required_columns(pipeline):
        return PipelineResult(pipeline.name, pd.DataFrame(), skipped=True, problems=[
            *pipeline.problems, _missing_columns(pipeline, inputs.names)])  # fmt: skip
    deals = _Deals.of(pipeline, name, inputs)
    ids = _assign_ids(deals)
    deals.problems += _unreadable_cells(deals)
    scores = score(deals.cols, inputs.rules, inputs.now.date(), inputs.settings)
    stage = _stages_after_auto_advance(deals, scores)
    tracking = _track(deals, ids, stage)
    done = _playbook_done(deals, ids[deals.active], stage, tracking)
    if done.any():  # moved on by its actions: tracked again in the stage it moves to
        stage = _moved_on(deals, stage, done)
        tracking = _track(deals, ids, stage)
    history = _stage_changes(deals, ids[deals.active], stage, tracking)
    history += _value_changes(deals, ids[deals.active], stage, tracking)
    desired = _desired(deals, ids[deals.active], scores, stage, tracking)
    tasks = _tasks(deals, desired, stage, tracking)
    _write_owned(deals, ids, desired, stage.known)
    changes = _with_added_rows(deals, added)
    return PipelineResult(pipeline.name, desired, deals.cols, changes, deals.problems, tasks,
                          history)  # fmt: skip


@dataclass
class _Deals:
    """One pipeline tab being planned: where its columns are, which rows count, and
    what this step has found so far (its own, returned in its result)."""

    table: Table
    name: str  # the pipeline, as sheetpipe.toml names it
    inputs: PipelineInputs
    col_of: dict[str, int]  # norm(column) → 1-based column, owned ones to be added too
    width: int  # once the owned columns are added
    present: pd.Index  # rows with anything in them: each gets an ID
    active: pd.Index  # rows with a Stage: scored, tracked, assessed
    cols: Columns
    changes: ChangeSet
    problems: list[Problem]

    @classmethod
    def of(cls, table: Table, name: str, inputs: PipelineInputs) -> _Deals:
        wanted = [c for c in OWNED_COLUMNS if not table.has(c)]  # added at the right end
        added = added_columns(table.name, table.width, map(inputs.names.col, wanted))
        col_of = dict(table.cols) | {cells.norm(c): at for c, (_, at, _) in zip(
            wanted, added, strict=True)}  # fmt: skip
        present, active, problems = _rows_that_count(table)
        settings = inputs.settings
        cols = Columns(
            Rows(table, active),
            settings.date_order,
            settings.decimal_separator,
            table.serial_numbers,
        )
        return cls(table, name, inputs, col_of, table.width + len(added), present, active, cols,
                   ChangeSet(new_columns=added), [*table.problems, *problems])  # fmt: skip

    def write(self, column: str, values: pd.Series) -> None:
        """Write `values` (indexed by sheet row) into a column of this tab."""
        self.changes.writes.append(
            ColumnWrite(
                self.table.name,
                self.col_of[cells.norm(column)],
                self.inputs.names.col(column),
                list(values.index),
                python_values(values, KINDS.get(column, "text")),
            )
        )


def _has_required_columns(pipeline: Table) -> bool:
    return all(pipeline.has(c) for c in PIPELINE_REQUIRED)


def _missing_columns(pipeline: Table, names: Names) -> Problem:
    absent = [c for c in PIPELINE_REQUIRED if not pipeline.has(c)]
    return Problem(
        f"{pipeline.name} tab",
        f"the header row has no {' or '.join(map(names.col, absent))} column; "
        "this pipeline is skipped. Add the column to row 1.",
    )


def _rows_that_count(pipeline: Table) -> tuple[pd.Index, pd.Index, list[Problem]]:
    """(rows that get an ID, rows that are planned, a problem for each row lacking one).

    A row waiting for its Stage gets an ID too, so that no two rows ever share one.
    """
    rows = pipeline.index
    deal_blank = pipeline.column("Deal").blank()
    stage_blank = pipeline.column("Stage").blank()
    problems = [
        Problem(pipeline.where(row, "Stage"),
                "the deal has no Stage; pick one from the list. The row is skipped until then.")
        for row in rows[~deal_blank & stage_blank]
    ]  # fmt: skip
    problems += [
        Problem(pipeline.where(row, "Deal"), "the deal has no name; fill in Deal.", "warning")
        for row in rows[deal_blank & ~stage_blank]
    ]
    present = rows[~deal_blank | ~stage_blank | ~pipeline.column("ID").blank()]
    return present, rows[~stage_blank], problems


def _assign_ids(deals: _Deals) -> pd.Series:
    """Every present row's ID, new ones filled in (indexed by sheet row)."""
    table, log, present = deals.table, deals.inputs.log, deals.present
    ids, found = assign_ids(
        deals.name,
        table.column("ID").stripped()[present],
        table.get("Deal")[present],
        lambda: log.names(deals.name),
        log.ids,
        lambda row: cells.a1(table.name, row, deals.col_of["id"]),
    )
    deals.problems += found
    return ids


def _unreadable_cells(deals: _Deals) -> list[Problem]:
    """Dates and numbers the rules read that are neither: each is reported once."""
    rules, settings = deals.inputs.rules, deals.inputs.settings
    return [*_bad_dates(deals.table, deals.cols, rules, settings),
            *_bad_numbers(deals.table, deals.cols, rules, settings)]  # fmt: skip


@dataclass
class _StageColumn:
    """Each active deal's stage: as written, for matching, and what Stages says of it."""

    text: pd.Series  # as written (after auto advance)
    key: pd.Series  # trimmed, case-folded
    advanced: pd.Series  # why sheetpipe moved it on this cycle ("auto advance"), or ""
    by_key: dict[str, Stage]
    code: np.ndarray  # each deal's code into `keys`
    keys: list[str]

    @cached_property
    def known(self) -> pd.Series:
        """True where the stage is one of this pipeline's in Stages."""
        return self.fact(lambda s: True, bool, False)

    def fact(self, fact: Callable[[Stage], object], dtype: type, missing: object) -> pd.Series:
        """One fact of each deal's stage, looked up once per distinct stage."""
        values = [fact(self.by_key[k]) if k in self.by_key else missing for k in self.keys]
        return pd.Series(np.array(values, dtype=dtype).take(self.code), index=self.key.index)


def _stages_after_auto_advance(deals: _Deals, scores: pd.Series) -> _StageColumn:
    table, active, stages = deals.table, deals.active, deals.inputs.stages
    text = table.column("Stage").stripped()[active]
    text, advanced = _auto_advance(text, scores, stages, deals.name)
    return _stage_column(deals, text, advanced.map({True: "auto advance", False: ""}))


def _stage_column(deals: _Deals, text: pd.Series, advanced: pd.Series) -> _StageColumn:
    """Each deal's stage; `advanced` says why sheetpipe moved a deal on ("" where not)."""
    moved = advanced.ne("")
    key = deals.table.column("Stage").norms()[deals.active]
    if moved.any():
        deals.write("Stage", text[moved])
        key = key.where(~moved, text.map(str.casefold))
        code, keys = pd.factorize(key.to_numpy(dtype=object))
    else:
        code, keys = deals.cols.get("stage", "codes")  # already made for the rules
    by_key = {cells.norm(s.name): s for s in deals.inputs.stages.of(deals.name)}
    column = _StageColumn(text, key, advanced, by_key, code, list(keys))
    deals.problems += _unknown_stages(deals.table, text[~column.known], by_key)
    return column


def _track(deals: _Deals, ids: pd.Series, stage: _StageColumn) -> Tracking:
    known = stage.key.where(stage.known, "\0unknown")
    return track(deals.inputs.log, deals.name, ids[deals.active], known, deals.inputs.now)


def _playbook_done(
    deals: _Deals, ids: pd.Series, stage: _StageColumn, tracking: Tracking
) -> pd.Series:
    """True where the stage exits on its playbook and every playbook task of this stay
    in it is ticked Done."""
    done = pd.Series(False, index=stage.key.index)
    stages = deals.inputs.stages
    for current in stages.of(deals.name):
        nxt = stages.next_open(current)
        if current.exit_when != "playbook done" or not current.playbook or nxt is None:
            continue
        here = stage.key.eq(cells.norm(current.name)) & ~tracking.moved
        for row in here.index[here]:
            prefix = f"{slug(deals.name)}/{ids[row]}/{slug(current.name)}#{tracking.entry[row]}"
            wanted = (f"{prefix}/playbook-{i}" for i in range(1, len(current.playbook) + 1))
            done[row] = all(task in deals.inputs.done_tasks for task in wanted)
    return done


def _moved_on(deals: _Deals, stage: _StageColumn, done: pd.Series) -> _StageColumn:
    """The stages once the deals whose playbook is done move to the next open stage."""
    text, advanced = stage.text.copy(), stage.advanced.copy()
    for row in done.index[done]:
        nxt = deals.inputs.stages.next_open(stage.by_key[stage.key[row]])
        text[row], advanced[row] = nxt.name, "playbook done"  # type: ignore[union-attr]
    return _stage_column(deals, text, advanced)


def _stage_changes(
    deals: _Deals, ids: pd.Series, stage: _StageColumn, tracking: Tracking
) -> list[dict[str, object]]:
    """A History row for each deal whose stage differs from its last one."""
    moved = tracking.moved & stage.known
    at = moved.index[moved]
    by_key, now = stage.by_key, deals.inputs.now
    came_from = cells.texts(deals.table.get(FROM_DEAL)[at]).str.strip()
    notes = deals.inputs.history_notes
    value, close = value_and_close(deals.cols, at)
    rows: list[dict[str, object]] = []
    for row, deal_id, deal, previous, key, auto, origin, amount, closes in zip(
        at,
        ids[at],
        cells.texts(deals.table.get("Deal")[at]),
        tracking.previous[at],
        stage.key[at],
        stage.advanced[at],
        came_from,
        value,
        close,
        strict=True,
    ):
        if origin and not previous:  # a won deal's row here: says which, for good
            auto = notes.get((deals.table.name, row), f"from {origin}")
        rows.append(
            {
                "When": now,
                "Deal ID": deal_id,
                "Deal": deal,
                "Pipeline": deals.table.name,
                "From stage": by_key[previous].name if previous in by_key else previous,
                "To stage": by_key[key].name,
                "By": f"{DAEMON} ({auto})" if auto else DAEMON,
                "Value": amount,
                "Expected close": closes,
            }
        )
    return rows


def value_and_close(cols: Columns, rows: pd.Index) -> tuple[list, list]:
    """The deals' Value (a number or None) and Expected close (a date or None) as plain
    values for History cells (every row sheetpipe appends there records them)."""
    value = cols.get("Value", "number")[rows]
    close = cols.get("Expected close", "date")[rows]
    return ([None if pd.isna(v) else float(v) for v in value],
            [None if pd.isna(c) else c.date() for c in close])  # fmt: skip


def _value_changes(
    deals: _Deals, ids: pd.Series, stage: _StageColumn, tracking: Tracking
) -> list[dict[str, object]]:
    """A History row for each deal still in its stage whose Value or Expected close is no
    longer what its last History row recorded (a row that recorded neither, from before
    sheetpipe recorded them, is no baseline: nothing is said until the next stage change)."""
    recorded = deals.inputs.log.recorded
    staying = ~tracking.moved & stage.known
    if recorded.empty or not staying.any():
        return []
    at = staying.index[staying]
    keys = pd.MultiIndex.from_arrays([
        np.full(len(at), cells.norm(deals.table.name), dtype=object),
        ids[at].str.casefold().to_numpy(dtype=object)])  # fmt: skip
    was = recorded.reindex(keys)
    value = deals.cols.get("Value", "number")[at].to_numpy(dtype=float)
    close = deals.cols.get("Expected close", "date")[at].to_numpy()
    old_value, old_close = was["value"].to_numpy(dtype=float), was["close"].to_numpy()
    value_moved = ~np.isnan(old_value) & ~np.isclose(value, old_value, rtol=1e-9, atol=1e-9)
    close_moved = ~np.isnat(old_close) & (close != old_close)  # a cleared date (NaT) differs
    changed = at[value_moved | close_moved]
    if changed.empty:
        return []
    what = {(True, False): "value changed", (False, True): "close date changed",
            (True, True): "value and close date changed"}  # fmt: skip
    kinds = [what[(bool(v), bool(c))] for v, c in zip(value_moved, close_moved, strict=True)
             if v or c]  # fmt: skip
    amounts, closes = value_and_close(deals.cols, changed)
    rows = []
    for row, kind, amount, when in zip(changed, kinds, amounts, closes, strict=True):
        name = stage.by_key[stage.key[row]].name
        rows.append({"When": deals.inputs.now, "Deal ID": ids[row],
                     "Deal": cells.text(deals.table.get("Deal")[row]),
                     "Pipeline": deals.table.name, "From stage": name, "To stage": name,
                     "By": f"{DAEMON} ({kind})", "Value": amount,
                     "Expected close": when})  # fmt: skip
    return rows


def _desired(
    deals: _Deals, ids: pd.Series, scores: pd.Series, stage: _StageColumn, tracking: Tracking
) -> pd.DataFrame:
    """What the owned columns should hold, with Deal (as read) and Stage beside them."""
    inputs, settings = deals.inputs, deals.inputs.settings
    today = pd.Timestamp(inputs.now.date())
    in_since = tracking.in_since.dt.normalize()
    days_in_stage = (today - in_since).dt.days
    averages = stage_averages(inputs.log, deals.name)
    enough = averages[averages["samples"] >= settings.min_samples_for_stage_average]["mean"]
    facts = DealFacts(
        stage=stage.text,
        known_stage=stage.known,
        closed=stage.fact(lambda s: s.closed or "", object, ""),
        max_days=stage.fact(lambda s: _or_nan(s.max_days), float, np.nan),
        min_score=stage.fact(lambda s: _or_nan(s.min_score), float, np.nan),
        days_in_stage=days_in_stage.where(stage.known),
        days_in_pipeline=(today - tracking.first_seen.dt.normalize()).dt.days,
        stage_average=stage.fact(lambda s: enough.get(cells.norm(s.name), np.nan), float, np.nan),
        score=scores,
        cols=deals.cols,
        today=today,
    )
    health, why = assess(facts, settings)
    # copy=False: columns side by side as they are; copying them into pandas' blocks
    # would cost more than building them did.
    return pd.DataFrame(
        {
            "ID": ids,
            "Score": scores,
            "Lead status": lead_status(scores, settings),
            "Health": health,
            "Why": why,
            "In stage since": in_since,
            "Days in stage": days_in_stage,
            "Deal": deals.table.get("Deal")[deals.active],  # as read: few are converted
            "Stage": stage.text,
            "Owner": deals.table.get("Owner")[deals.active],
            "First seen": tracking.first_seen,
            "Tracked": stage.known,  # in a stage of Stages: History follows it
            # When it entered its stage, and which time that is (nurture enrols by them)
            "Entered": tracking.in_since,
            "Entry": tracking.entry,
        },
        copy=False,
    )


def _tasks(
    deals: _Deals, desired: pd.DataFrame, stage: _StageColumn, tracking: Tracking
) -> list[dict[str, object]]:
    facts = pd.DataFrame(
        {
            "id": desired["ID"],
            "deal": desired["Deal"],
            "owner": deals.table.get("Owner")[deals.active],
            "stage": stage.text,
            "entry": tracking.entry,
            "in_since": tracking.in_since,
            "health": desired["Health"],
            "why": desired["Why"],
        },
        copy=False,
    )[stage.known]
    inputs = deals.inputs
    return plan_tasks(
        pipeline=deals.name,
        deals=facts,
        stages=inputs.stages,
        existing=inputs.existing_tasks,
        now=inputs.now,
    )


def _write_owned(deals: _Deals, ids: pd.Series, desired: pd.DataFrame, known: pd.Series) -> None:
    """Write each owned cell whose value changes.

    A deal in an unknown stage keeps whatever stage dates it had: they cannot be known.
    """
    skip = {"In stage since": ~known, "Days in stage": ~known}
    for column, kind in KINDS.items():
        values = ids if column == "ID" else desired[column]
        changed = differs(deals.table, column, values, kind) & ~skip.get(column, False)
        if changed.any():
            deals.write(column, values[changed])


def _with_added_rows(deals: _Deals, added: Added) -> ChangeSet:
    """The step's changes with its formats, the rows this cycle adds to the tab as one
    append (their planned cells in it: no separate writes, no guard, as they are not
    there to move), and what the guard expects on each row written."""
    changes = deals.changes
    changes.formats += _formats(deals)
    if added.rows:
        first, appended = added.first_new, [list(r) for r in added.rows]
        for write in changes.writes:
            for row, value in zip(write.rows, write.values, strict=True):
                if row >= first:
                    put(appended[row - first], write.col, value)
        changes.writes = [w for w in (_before(w, first) for w in changes.writes) if w.rows]
        changes.appends.append((deals.table.name, first, appended))
    _expect_rows(deals, changes, added.edited)
    return changes


def _before(write: ColumnWrite, first: int) -> ColumnWrite:
    kept = [(r, v) for r, v in zip(write.rows, write.values, strict=True) if r < first]
    return replace(write, rows=[r for r, _ in kept], values=[v for _, v in kept])


def _expect_rows(deals: _Deals, changes: ChangeSet, edited: frozenset[int]) -> None:
    """What the guard expects to find still on each written row (for backends that can
    re-read before writing), converted for those rows only."""
    table = deals.table
    touched = {r for w in changes.writes for r in w.rows} | edited
    if not touched:
        return
    at = sorted(touched)
    read_ids = cells.texts(table.get("ID")[at])
    read_deals = cells.texts(table.get("Deal")[at])
    changes.expect[table.name] = dict(zip(at, zip(read_ids, read_deals, strict=True), strict=True))
    changes.expect_cols[table.name] = (deals.col_of["id"], deals.col_of["deal"])


def _formats(deals: _Deals) -> list[tuple[str, FormatSpec]]:
    specs: list[FormatSpec] = [FrozenHeader(), HealthColours(deals.col_of["health"], deals.width)]
    stage_list = deals.inputs.dropdowns.get(f"{deals.name} stage")
    if stage_list is not None:  # none while the pipeline has no stages
        specs.append(replace(stage_list, col=deals.col_of["stage"]))
    installed = deals.table.tab.formats
    return [(deals.table.name, s) for s in specs if s not in installed]


def _or_nan(value: float | None) -> float:
    return np.nan if value is None else value


def _auto_advance(
    stage_text: pd.Series, scores: pd.Series, stages: Stages, pipeline: str
) -> tuple[pd.Series, pd.Series]:
    """Move deals one stage on where the stage says Auto advance and the score is enough."""
    advanced = pd.Series(False, index=stage_text.index)
    result = stage_text.copy()
    for stage in stages.of(pipeline):
        nxt = stages.next_open(stage)
        if not stage.auto_advance or stage.closed or nxt is None or nxt.min_score is None:
            continue
        ready = stage_text.map(str.casefold).eq(cells.norm(stage.name)) & (scores >= nxt.min_score)
        result[ready] = nxt.name
        advanced |= ready
    return result, advanced


def _unknown_stages(pipeline: Table, unknown: pd.Series, by_key: dict) -> list[Problem]:
    choices = ", ".join(s.name for s in by_key.values()) or "none yet: add them to Stages"
    return [
        Problem(
            pipeline.where(row, "Stage"),
            f'stage "{value}" is not a {pipeline.name} stage in Stages ({choices}); '
            "stage tracking and tasks wait until it is one.",
        )
        for row, value in unknown.items()
    ]


def _bad_dates(
    pipeline: Table, cols: Columns, rules: list[Rule], settings: Settings
) -> list[Problem]:
    used = {"last contact", "expected close"}
    used |= {r.field for r in rules if r.kind in ("within days", "older than days")}
    example = {"DMY": "26/11/2026", "MDY": "11/26/2026", "YMD": "2026/11/26"}[settings.date_order]
    problems = []
    for name in sorted(c for c in used if cols.has(c)):
        bad = cols.get(name, "date").isna() & ~cols.get(name, "blank")
        for row in bad.index[bad]:
            value = cols.raw(name)[row]
            if isinstance(value, date):  # a real date cell, beyond what a sheet date can be
                fix = "is outside the years 1900–2199 (a typo?); correct the year"
            else:
                fix = (
                    f"is not a date; type it like 2026-11-26 or {example} "
                    f"(Date order {settings.date_order})"
                )
            problems.append(
                Problem(
                    pipeline.where(row, name),
                    f'"{cells.text(value)}" {fix}. Until then it counts as empty.',
                    "warning",
                )
            )
    return problems


NUMBER_RULES = frozenset({">", ">=", "<", "<=", "between", "per"})


def _bad_numbers(
    pipeline: Table, cols: Columns, rules: list[Rule], settings: Settings
) -> list[Problem]:
    """A cell a number rule reads that holds no number ("10k") would silently match no
    rule at all, neither `< 100` nor `is empty`: say so, once per cell."""
    first_rule: dict[str, Rule] = {}
    for rule in rules:
        if rule.kind in NUMBER_RULES:
            first_rule.setdefault(rule.field, rule)
    example = "12,000.50" if settings.decimal_separator == "." else "12.000,50"
    problems = []
    for name, rule in sorted(first_rule.items()):
        bad = cols.get(name, "number").isna() & ~cols.get(name, "blank")
        for row in bad.index[bad]:
            problems.append(
                Problem(
                    pipeline.where(row, name),
                    f'"{cells.text(cols.raw(name)[row])}" is not a number, which the rule '
                    f'"{rule.describe()}" (Weights row {rule.row}) needs; write it like '
                    f"12000 or {example} (Decimal separator {settings.decimal_separator}). "
                    "Until then no number rule counts it.",
                    "warning",
                )
            )
    return problems
