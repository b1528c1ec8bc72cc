"""One pipeline tab's part of a cycle: IDs, scores, stage tracking, health and tasks.

`plan_pipeline` reads the tab through the cycle's shared inputs and adds to the cycle's
change set, problems and rows to append; the cycle (core/plan.py) does the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime

import numpy as np
import pandas as pd

from sheetpipe.core import cells
from sheetpipe.core.contract import DAEMON, OWNED_COLUMNS, PIPELINE_REQUIRED, Names
from sheetpipe.core.diff import differs, python_values
from sheetpipe.core.health import DealFacts, assess
from sheetpipe.core.history import HistoryLog, stage_averages, track
from sheetpipe.core.ids import assign_ids
from sheetpipe.core.scoring import Columns, lead_status, score
from sheetpipe.core.settings import Settings
from sheetpipe.core.stages import Stages
from sheetpipe.core.table import Rows, Table
from sheetpipe.core.tasks import plan_tasks
from sheetpipe.core.weights import Rule
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

    def count(self, health: str) -> int:
        return int(self.desired["Health"].eq(health).sum()) if not self.desired.empty else 0


@dataclass
class CycleInputs:
    """What every pipeline of one cycle reads, and what each adds to."""

    names: Names
    settings: Settings
    rules: list[Rule]
    stages: Stages
    log: HistoryLog
    existing_tasks: set[str]  # grows as tasks are planned, so none is planned twice
    now: datetime  # sheet-local
    changes: ChangeSet
    problems: list[Problem]
    dropdowns: dict[str, ListDropdown] = field(default_factory=dict)  # by Lists header
    task_rows: list[dict[str, object]] = field(default_factory=list)
    history_rows: list[dict[str, object]] = field(default_factory=list)


def plan_pipeline(pipeline: Table, name: str, cycle: CycleInputs) -> PipelineResult | None:
    names, settings, rules, stages = cycle.names, cycle.settings, cycle.rules, cycle.stages
    log, now, problems, changes = cycle.log, cycle.now, cycle.problems, cycle.changes
    problems += pipeline.problems
    absent = [c for c in PIPELINE_REQUIRED if not pipeline.has(c)]
    if absent:
        problems.append(
            Problem(
                f"{pipeline.name} tab",
                f"the header row has no {' or '.join(map(names.col, absent))} column; this "
                "pipeline is skipped. Add the column to row 1.",
            )
        )
        return None

    col_of = dict(pipeline.cols)
    width = pipeline.width
    for column in OWNED_COLUMNS:
        if not pipeline.has(column):
            width += 1
            col_of[cells.norm(column)] = width
            changes.new_columns.append((pipeline.name, width, names.col(column)))

    rows = pipeline.index
    deal_blank = pipeline.column("Deal").blank()
    stage_blank = pipeline.column("Stage").blank()
    for row in rows[~deal_blank & stage_blank]:
        problems.append(
            Problem(
                pipeline.where(row, "Stage"),
                "the deal has no Stage; pick one from the list. The row is skipped until then.",
            )
        )
    # Every row with anything in it gets an ID (a row waiting for its Stage too, so that
    # no two rows ever share one); only rows with a Stage go on to be scored and tracked.
    present = rows[~deal_blank | ~stage_blank | ~pipeline.column("ID").blank()]
    active = rows[~stage_blank]
    for row in rows[deal_blank & ~stage_blank]:
        problems.append(
            Problem(pipeline.where(row, "Deal"), "the deal has no name; fill in Deal.", "warning")
        )
    today = pd.Timestamp(now.date())
    cols = Columns(Rows(pipeline, active), settings.date_order, settings.decimal_separator)

    all_ids, found = assign_ids(
        name,
        pipeline.column("ID").stripped()[present],
        pipeline.get("Deal")[present],
        lambda: log.names(name),
        log.ids,
        lambda row: cells.a1(pipeline.name, row, col_of["id"]),
    )
    problems += found
    ids = all_ids[active]

    _report_bad_dates(pipeline, cols, rules, settings, problems)
    _report_bad_numbers(pipeline, cols, rules, settings, problems)
    scores = score(cols, rules, now.date(), settings)
    stage_text = pipeline.column("Stage").stripped()[active]
    stage_text, advanced = _auto_advance(stage_text, scores, stages, name)
    if advanced.any():
        changes.writes.append(
            ColumnWrite(
                pipeline.name,
                col_of["stage"],
                names.col("Stage"),
                list(advanced.index[advanced]),
                list(stage_text[advanced]),
            )
        )
    stage_key = pipeline.column("Stage").norms()[active]
    if advanced.any():
        stage_key = stage_key.where(~advanced, stage_text.map(str.casefold))
    by_key = {s.name.strip().casefold(): s for s in stages.of(name)}
    # Stage facts are looked up once per distinct stage, then spread by code.
    stage_code, stage_keys = (
        pd.factorize(stage_key.to_numpy(dtype=object))
        if advanced.any()
        else cols.get("stage", "codes")
    )

    def per_stage(fact: Callable[[str], object], dtype: type) -> pd.Series:
        values = np.array([fact(key) for key in stage_keys], dtype=dtype)
        return pd.Series(values.take(stage_code), index=stage_key.index)

    known = per_stage(by_key.__contains__, bool)
    _report_unknown_stages(pipeline, stage_text[~known], by_key, problems)

    tracking = track(log, name, ids, stage_key.where(known, "\0unknown"), now)
    moved = tracking.moved & known
    at = moved.index[moved]
    for deal_id, deal, previous, key, auto in zip(
        ids[at],
        cells.texts(pipeline.get("Deal")[at]),
        tracking.previous[at],
        stage_key[at],
        advanced[at],
        strict=True,
    ):
        cycle.history_rows.append(
            {
                "When": now,
                "Deal ID": deal_id,
                "Deal": deal,
                "Pipeline": pipeline.name,
                "From stage": by_key[previous].name if previous in by_key else previous,
                "To stage": by_key[key].name,
                "By": f"{DAEMON} (auto advance)" if auto else DAEMON,
            }
        )

    in_since = tracking.in_since.dt.normalize()
    days_in_stage = (today - in_since).dt.days
    days_in_pipeline = (today - tracking.first_seen.dt.normalize()).dt.days
    averages = stage_averages(log, name)
    enough = averages[averages["samples"] >= settings.min_samples_for_stage_average]["mean"]
    facts = DealFacts(
        stage=stage_text,
        known_stage=known,
        closed=per_stage(lambda k: by_key[k].closed or "" if k in by_key else "", object),
        max_days=per_stage(lambda k: _or_nan(by_key[k].max_days if k in by_key else None), float),
        min_score=per_stage(lambda k: _or_nan(by_key[k].min_score if k in by_key else None), float),
        days_in_stage=days_in_stage.where(known),
        days_in_pipeline=days_in_pipeline,
        stage_average=per_stage(lambda k: enough.get(k, np.nan), float),
        score=scores,
        cols=cols,
        today=today,
    )
    health, why = assess(facts, settings)
    deal_cells = pipeline.get("Deal")[active]  # as read: few of them are ever converted
    # copy=False: columns side by side as they are; copying them into pandas' blocks
    # would cost more than building them did.
    desired = pd.DataFrame(
        {
            "ID": ids,
            "Score": scores,
            "Lead status": lead_status(scores, settings),
            "Health": health,
            "Why": why,
            "In stage since": in_since,
            "Days in stage": days_in_stage,
            "Deal": deal_cells,
            "Stage": stage_text,
        },
        copy=False,
    )
    deals = pd.DataFrame(
        {
            "id": ids,
            "deal": deal_cells,
            "owner": pipeline.get("Owner")[active],
            "stage": stage_text,
            "entry": tracking.entry,
            "in_since": tracking.in_since,
            "health": health,
            "why": why,
        },
        copy=False,
    )[known]
    cycle.task_rows += plan_tasks(
        pipeline=name, deals=deals, stages=stages, existing=cycle.existing_tasks, now=now
    )

    # A deal in an unknown stage keeps whatever stage dates it had: they cannot be known.
    skip = {"In stage since": ~known, "Days in stage": ~known}
    for column, kind in KINDS.items():
        values = all_ids if column == "ID" else desired[column]
        changed = differs(pipeline, column, values, kind) & ~skip.get(column, False)
        if changed.any():
            out = values[changed]
            changes.writes.append(
                ColumnWrite(
                    pipeline.name,
                    col_of[cells.norm(column)],
                    names.col(column),
                    list(out.index),
                    python_values(out, kind),
                )
            )
    touched = {r for w in changes.writes if w.tab == pipeline.name for r in w.rows}
    if touched:
        # What the guard expects to find still on each written row (backends that can
        # re-read before writing): converted for those rows only.
        at = sorted(touched)
        read_ids = cells.texts(pipeline.get("ID")[at])
        read_deals = cells.texts(pipeline.get("Deal")[at])
        changes.expect[pipeline.name] = dict(
            zip(at, zip(read_ids, read_deals, strict=True), strict=True)
        )
        changes.expect_cols[pipeline.name] = (col_of["id"], col_of["deal"])

    specs: list[FormatSpec] = [FrozenHeader(), HealthColours(col_of["health"], width)]
    stage_list = cycle.dropdowns.get(f"{name} stage")
    if stage_list is not None:  # none while the pipeline has no stages
        specs.append(replace(stage_list, col=col_of["stage"]))
    changes.formats += [(pipeline.name, s) for s in specs if s not in pipeline.tab.formats]
    return PipelineResult(pipeline.name, desired, cols)


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
        ready = stage_text.map(str.casefold).eq(stage.name.strip().casefold()) & (
            scores >= nxt.min_score
        )
        result[ready] = nxt.name
        advanced |= ready
    return result, advanced


def _report_unknown_stages(
    pipeline: Table, unknown: pd.Series, by_key: dict, problems: list[Problem]
) -> None:
    choices = ", ".join(s.name for s in by_key.values()) or "none yet: add them to Stages"
    for row, value in unknown.items():
        problems.append(
            Problem(
                pipeline.where(row, "Stage"),
                f'stage "{value}" is not a {pipeline.name} stage in Stages ({choices}); '
                "stage tracking and tasks wait until it is one.",
            )
        )


def _report_bad_dates(
    pipeline: Table, cols: Columns, rules: list[Rule], settings: Settings, problems: list[Problem]
) -> None:
    used = {"last contact", "expected close"}
    used |= {r.field for r in rules if r.kind in ("within days", "older than days")}
    example = {"DMY": "26/11/2026", "MDY": "11/26/2026", "YMD": "2026/11/26"}[settings.date_order]
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


NUMBER_RULES = frozenset({">", ">=", "<", "<=", "between", "per"})


def _report_bad_numbers(
    pipeline: Table, cols: Columns, rules: list[Rule], settings: Settings, problems: list[Problem]
) -> None:
    """A cell a number rule reads that holds no number ("10k") would silently match no
    rule at all, neither `< 100` nor `is empty`: say so, once per cell."""
    first_rule: dict[str, Rule] = {}
    for rule in rules:
        if rule.kind in NUMBER_RULES:
            first_rule.setdefault(rule.field, rule)
    example = "12,000.50" if settings.decimal_separator == "." else "12.000,50"
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
