"""The Review step of a cycle: the first pipeline's review, rewritten when it changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from sheetpipe.core.contract import Names
from sheetpipe.core.deals.pipeline import PipelineResult
from sheetpipe.core.inputs.settings import Settings
from sheetpipe.core.inputs.stages import Stages
from sheetpipe.core.review.layout import review_rows
from sheetpipe.core.review.review import Review, ReviewInputs, plan_review
from sheetpipe.core.sheet import cells
from sheetpipe.core.sheet.table import Table
from sheetpipe.core.tabs.today import rewrite_owned
from sheetpipe.model import Found, Snapshot


def deals_of(result: PipelineResult) -> pd.DataFrame:
    """The pipeline's deals as planned, by case-folded ID, in the review's terms."""
    desired, columns = result.desired, result.columns
    if desired.empty or columns is None:
        return pd.DataFrame(columns=["id", "name", "owner", "stage", "health", "why", "value",
                                     "close", "source", "competitor", "lost_reason"])  # fmt: skip
    ids = cells.texts(desired["ID"]).str.strip()

    def text(column: str) -> pd.Series:
        return columns.get(column, "stripped").reindex(desired.index).fillna("")

    found = pd.DataFrame({
        "id": ids, "name": cells.texts(desired["Deal"]).str.strip(),
        "owner": cells.texts(desired["Owner"]).str.strip(),
        "stage": cells.texts(desired["Stage"]).str.strip().str.casefold(),
        "health": desired["Health"].fillna(""), "why": desired["Why"].fillna(""),
        "value": columns.get("Value", "number").reindex(desired.index),
        "close": columns.get("Expected close", "date").reindex(desired.index),
        "source": text("Source"), "competitor": text("Competitor"),
        "lost_reason": text("Lost reason"),
    })  # fmt: skip
    found = found[ids.ne("")]
    found.index = found["id"].str.casefold()
    return found[~found.index.duplicated()]


def open_tasks_of(tasks: Table | None, appended: list[dict[str, object]]) -> pd.DataFrame:
    """Tasks not Done, the tab's and those this cycle appends: the deal (case-folded ID),
    owner and due day."""
    frames = [pd.DataFrame({
        "deal": [cells.text(t.get("Deal ID")).strip().casefold() for t in appended],
        "owner": [cells.text(t.get("Owner")).strip() for t in appended],
        "due": pd.to_datetime([t.get("Due") for t in appended]),
    })]  # fmt: skip
    if tasks is not None and not tasks.index.empty:
        undone = ~tasks.column("Done").yeses()
        frames.insert(0, pd.DataFrame({
            "deal": tasks.column("Deal ID").stripped().str.casefold()[undone],
            "owner": tasks.column("Owner").stripped()[undone],
            "due": tasks.column("Due").dates()[undone],
        }))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class ReviewSources:
    """What the review reads besides the pipeline: History and Tasks as read, with the
    rows this cycle appends to them (so that the next cycle finds the same review)."""

    history: Table | None
    history_rows: list[dict[str, object]]
    tasks: Table | None
    task_rows: list[dict[str, object]]
    stages: Stages
    settings: Settings


def review_of(pipeline: PipelineResult, sources: ReviewSources, now: datetime) -> Review:
    return plan_review(ReviewInputs(
        pipeline.name, deals_of(pipeline), sources.history, sources.stages, sources.settings,
        open_tasks_of(sources.tasks, sources.task_rows), now, sources.history_rows))  # fmt: skip


def review_tab(
    snapshot: Snapshot,
    names: Names,
    pipelines: list[PipelineResult],
    sources: ReviewSources,
    now: datetime,
) -> Found:
    """The step: the first pipeline's review."""
    if not pipelines:
        return Found()
    review = review_of(pipelines[0], sources, now)
    return rewrite_owned(snapshot, names.review, review_rows(review, pipelines[0].name),
                         "review")  # fmt: skip
