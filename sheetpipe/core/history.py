"""Stage tracking from the append-only History tab.

A deal's last History row is its known stage. When the sheet shows another stage, a row
is appended; `In stage since` is the time of the deal's last History row, so a manager
corrects a date by editing History, never the pipeline tab.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from sheetpipe.core import cells
from sheetpipe.core.table import Table
from sheetpipe.model import Problem


@dataclass
class HistoryLog:
    rows: pd.DataFrame  # when, id, pipeline (norm), to (norm), sorted by deal then time
    problems: list[Problem]

    def for_pipeline(self, pipeline: str) -> pd.DataFrame:
        return self.rows[self.rows["pipeline"].eq(cells.norm(pipeline))]


def read_history(table: Table | None, date_order: str) -> HistoryLog:
    columns = ["when", "id", "deal", "pipeline", "to"]
    if table is None or table.frame.empty:
        return HistoryLog(pd.DataFrame(columns=columns), [])
    when = cells.datetimes(table.get("When"), date_order)
    frame = pd.DataFrame(
        {
            "when": when,
            "id": cells.texts(table.get("Deal ID")).str.strip(),
            "deal": cells.texts(table.get("Deal")).str.strip(),
            "pipeline": cells.norms(table.get("Pipeline")),
            "to": cells.norms(table.get("To stage")),
        }
    )
    problems = list(table.problems)
    unreadable = frame["when"].isna() & frame["id"].ne("")
    for row in frame.index[unreadable]:
        problems.append(
            Problem(
                table.where(row, "When"),
                f'"{cells.text(table.get("When")[row])}" is not a date and time; this History '
                "row is ignored until it is fixed.",
                "warning",
            )
        )
    frame = frame[~unreadable & frame["id"].ne("")]
    frame = frame.assign(seq=range(len(frame)))
    frame = frame.sort_values(["pipeline", "id", "when", "seq"], kind="stable")
    return HistoryLog(frame.drop(columns="seq"), problems)


@dataclass
class Tracking:
    in_since: pd.Series  # datetime64 per deal row
    entry: pd.Series  # how many times the deal has entered its current stage (1 = first)
    first_seen: pd.Series  # datetime64: when the deal entered this pipeline
    moved: pd.Series  # bool: a History row is appended this cycle
    previous: pd.Series  # the known stage before this cycle ("" for a new deal)


def track(
    log: HistoryLog, pipeline: str, ids: pd.Series, stages: pd.Series, now: datetime
) -> Tracking:
    """Compare each deal's stage (normed) with its last History row."""
    rows = log.for_pipeline(pipeline)
    grouped = rows.groupby("id", sort=False)
    last = grouped.tail(1).set_index("id")
    known_stage = _lookup(last["to"], ids).astype(object).fillna("")
    known_since = _lookup(last["when"], ids).astype("datetime64[ns]")
    moved = known_stage.ne(stages)
    now_ts = pd.Timestamp(now)
    in_since = known_since.where(~moved, now_ts).astype("datetime64[ns]")

    entries = rows.groupby(["id", "to"]).size()
    key = pd.MultiIndex.from_arrays([ids, stages])
    entry = pd.Series(entries.reindex(key).fillna(0).to_numpy(int), index=ids.index)
    entry = entry + moved.astype(int)

    first = grouped["when"].min()
    first_seen = _lookup(first, ids).astype("datetime64[ns]").fillna(now_ts)
    return Tracking(in_since, entry, first_seen, moved, known_stage)


def _lookup(by_id: pd.Series, ids: pd.Series) -> pd.Series:
    """by_id's value for each deal, aligned to the deals (missing → NaN/NaT)."""
    return pd.Series(by_id.reindex(ids.to_numpy()).to_numpy(), index=ids.index)


def stage_averages(log: HistoryLog, pipeline: str) -> pd.DataFrame:
    """Mean days of finished stays per stage (normed), with the number of stays seen."""
    rows = log.for_pipeline(pipeline)
    if rows.empty:
        return pd.DataFrame({"mean": [], "samples": []})
    left = rows.groupby("id")["when"].shift(-1)
    days = (left - rows["when"]).dt.total_seconds() / 86400
    stays = pd.DataFrame({"to": rows["to"], "days": days}).dropna()
    stats = stays.groupby("to")["days"].agg(["mean", "count"])
    return stats.rename(columns={"count": "samples"})
