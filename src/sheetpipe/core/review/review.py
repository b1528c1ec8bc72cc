"""The weekly pipeline review: the last complete week of the first pipeline, in the
seed's agenda (wins 20 %, pipeline update 40 %, obstacles 20 %, competition 20 % of the
meeting), for the team and each rep, with the analytics it draws on.

The week ends as the Settings' Review day begins (Monday by default: Monday's meeting
looks at Monday to Sunday before it), in the sheet's time zone. Everything is computed
from the sheet as this cycle read it: History (core/review/timeline.py) for what moved,
the pipeline as planned for what stands now, Tasks for the work left open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pandas as pd

from sheetpipe.core.inputs.settings import WEEKDAYS, Settings
from sheetpipe.core.inputs.stages import Stages
from sheetpipe.core.review import movement, sections
from sheetpipe.core.review.movement import Pushes, Week
from sheetpipe.core.review.timeline import LOST, OPEN, Timeline, timeline
from sheetpipe.core.sheet import cells
from sheetpipe.core.sheet.table import Table

AGENDA = (("Wins", 0.2), ("Pipeline update", 0.4), ("Obstacles", 0.2), ("Competition", 0.2))
PAST_WEEKS = 8  # won value shown for this many weeks


@dataclass(frozen=True)
class ReviewInputs:
    pipeline: str
    deals: pd.DataFrame  # by deal key: id, name, owner, stage (normed), health, why, value,
    # close, source, competitor, lost reason
    history: Table | None
    stages: Stages
    settings: Settings
    open_tasks: pd.DataFrame  # deal key, owner, due (Tasks not Done)
    now: datetime  # sheet-local
    history_rows: list[dict[str, object]] = field(default_factory=list)  # this cycle's


@dataclass
class Review:
    week: Week
    minutes: dict[str, int]
    wins: pd.DataFrame
    won_by_week: list[tuple[str, float]]
    waterfall: pd.DataFrame
    advanced: int
    moved_back: int
    pushes: Pushes
    weighted: pd.DataFrame
    at_risk: pd.DataFrame
    overdue: pd.Series  # owner → overdue tasks
    closing_early: pd.DataFrame
    without_task: pd.DataFrame
    competition: pd.DataFrame
    lost: pd.DataFrame  # lost in the week: deal, lost reason, competitor
    conversion: pd.DataFrame
    time_in_stage: pd.DataFrame
    by_source: pd.DataFrame
    by_owner: pd.DataFrame
    velocity: float
    names: dict[str, str] = field(default_factory=dict)  # deal key → name


def review_week(now: datetime, review_day: str) -> Week:
    """The last complete week before the most recent review day began."""
    day = WEEKDAYS.index(review_day) if review_day in WEEKDAYS else 0
    today = now.date()
    end_day = today - timedelta(days=(today.weekday() - day) % 7)
    end = datetime.combine(end_day, datetime.min.time())
    start = end - timedelta(days=7)
    return Week(start, end, _label(start))


def plan_review(inputs: ReviewInputs) -> Review:
    settings, deals = inputs.settings, inputs.deals
    week = review_week(inputs.now, settings.review_day)
    tl = timeline(inputs.history, inputs.history_rows, inputs.pipeline, inputs.stages,
                  deals["value"], settings.date_order)  # fmt: skip
    mine = inputs.stages.of(inputs.pipeline)
    probability = {cells.norm(s.name): s.win_probability for s in mine
                   if s.win_probability is not None}  # fmt: skip
    max_days = {cells.norm(s.name): s.max_days for s in mine if s.max_days is not None}
    open_now = deals.index[deals["stage"].map(tl.kinds).eq(OPEN)]
    moved = movement.stage_moves(tl, week)
    return Review(
        week, _minutes(settings.meeting_minutes), movement.wins(tl, week, deals),
        _won_by_week(tl, week), movement.waterfall(tl, week, deals["owner"]), *moved,
        movement.pushes(tl, week, open_now), sections.weighted(deals, tl, probability),
        sections.at_risk(deals), _overdue(inputs.open_tasks, inputs.now.date()),
        sections.closing_early(deals, tl, inputs.now.date()),
        sections.without_task(deals, tl, set(inputs.open_tasks["deal"])),
        sections.competition(deals, tl), _lost(tl, week, deals), sections.conversion(tl),
        sections.time_in_stage(tl, max_days), sections.win_rates(deals, tl, "source"),
        sections.win_rates(deals, tl, "owner"), sections.velocity(deals, tl),
        dict(zip(deals.index, deals["name"], strict=True)),
    )  # fmt: skip


def _minutes(total: float) -> dict[str, int]:
    return {part: round(total * share) for part, share in AGENDA}


def _won_by_week(tl: Timeline, week: Week) -> list[tuple[str, float]]:
    weeks = [Week(week.start - timedelta(days=7 * k), week.end - timedelta(days=7 * k), "")
             for k in range(PAST_WEEKS - 1, -1, -1)]  # fmt: skip
    values = movement.won_by_week(tl, weeks)
    return [(_label(w.start), value) for w, value in zip(weeks, values, strict=True)]


def _label(start: datetime) -> str:
    year, number, _ = start.isocalendar()
    return f"{year}-W{number:02d}"


def _overdue(tasks: pd.DataFrame, today: date) -> pd.Series:
    late = tasks[pd.to_datetime(tasks["due"]) < pd.Timestamp(today)]
    return late["owner"].replace("", "(no owner)").value_counts()


def _lost(tl: Timeline, week: Week, deals: pd.DataFrame) -> pd.DataFrame:
    moves = tl.moves_between(week.start, week.end)
    lost = moves[moves["stage"].map(tl.kinds).eq(LOST)]["deal"].drop_duplicates()
    return deals.reindex(lost.to_numpy()).dropna(how="all")
