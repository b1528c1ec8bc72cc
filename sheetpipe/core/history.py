"""Stage tracking from the append-only History tab.

A deal's last History row is its known stage. When the sheet shows another stage, a row
is appended; `In stage since` is the time of the deal's last History row, so a manager
corrects a date by editing History, never the pipeline tab.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
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
    if table is None or len(table.tab.rows) < 2:
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
    # Sort by deal, then time (sheet order breaks ties); on integer codes, as sorting
    # 100,000s of strings would cost more than all the rest of reading History.
    pipeline_code = pd.factorize(frame["pipeline"])[0]
    id_code = pd.factorize(frame["id"])[0]
    when = frame["when"].to_numpy().astype("int64")
    order = np.lexsort((np.arange(len(frame)), when, id_code, pipeline_code))
    return HistoryLog(frame.iloc[order], problems)


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
    rows = log.for_pipeline(pipeline)  # sorted by deal, then time
    last = rows.drop_duplicates("id", keep="last").set_index("id")
    known_stage = _lookup(last["to"], ids).astype(object).fillna("")
    known_since = _lookup(last["when"], ids).astype("datetime64[ns]")
    moved = known_stage.ne(stages)
    now_ts = pd.Timestamp(now)
    in_since = known_since.where(~moved, now_ts).astype("datetime64[ns]")

    entries = (rows["id"] + "\0" + rows["to"]).value_counts()
    key = ids + "\0" + stages
    entry = pd.Series(entries.reindex(key.to_numpy()).fillna(0).to_numpy(int), index=ids.index)
    entry = entry + moved.astype(int)

    first = rows.drop_duplicates("id", keep="first").set_index("id")["when"]
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
