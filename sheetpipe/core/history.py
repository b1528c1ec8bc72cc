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
    table: Table | None = None

    def names(self, pipeline: str) -> dict[str, str]:
        """Deal ID → the deal's name as History last wrote it (read only when needed)."""
        if self.table is None:
            return {}
        rows = self.for_pipeline(pipeline)
        deal = cells.stripped(self.table.get("Deal")[rows.index])
        return dict(zip(rows["id"], deal, strict=True))

    def for_pipeline(self, pipeline: str) -> pd.DataFrame:
        return self.rows[self.rows["pipeline"].eq(cells.norm(pipeline))]


def read_history(table: Table | None, date_order: str) -> HistoryLog:
    columns = ["when", "id", "pipeline", "to", "id_code"]
    if table is None or len(table.tab.rows) < 2:
        return HistoryLog(pd.DataFrame(columns=columns), [])
    when = cells.datetimes(table.get("When"), date_order)
    frame = pd.DataFrame(
        {
            "when": when,
            "id": cells.stripped(table.get("Deal ID")),
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
    frame = frame.assign(id_code=id_code).iloc[order]
    return HistoryLog(frame, problems, table)


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
    """Compare each deal's stage (normed) with its last History row.

    Works on integer codes: History holds a row per stage change of every deal ever,
    often twice as many rows as the pipeline has deals.
    """
    rows = log.for_pipeline(pipeline)  # contiguous per deal, by time within a deal
    id_code, known_ids = pd.factorize(rows["id"])
    to_code, known_stages = pd.factorize(rows["to"])
    is_last = np.append(id_code[1:] != id_code[:-1], True) if len(rows) else np.array([], bool)
    is_first = np.insert(id_code[1:] != id_code[:-1], 0, True) if len(rows) else is_last
    when = rows["when"].to_numpy()
    last_to = np.empty(len(known_ids), dtype=object)
    last_to[id_code[is_last]] = rows["to"].to_numpy()[is_last]
    last_when = np.empty(len(known_ids), dtype="datetime64[ns]")
    last_when[id_code[is_last]] = when[is_last]
    first_when = np.empty(len(known_ids), dtype="datetime64[ns]")
    first_when[id_code[is_first]] = when[is_first]

    deal = pd.Index(known_ids).get_indexer(ids.to_numpy())  # -1: never seen
    seen = deal >= 0
    pick = np.where(seen, deal, 0)
    now_ts = np.datetime64(pd.Timestamp(now).to_datetime64(), "ns")
    known_stage = pd.Series(
        np.where(seen, last_to[pick] if len(known_ids) else "", ""), index=ids.index
    )
    known_stage = known_stage.fillna("").astype(object)
    moved = known_stage.ne(stages)
    since = np.where(seen, last_when[pick] if len(known_ids) else now_ts, now_ts)
    in_since = pd.Series(since, index=ids.index).where(~moved, now_ts).astype("datetime64[ns]")
    first = np.where(seen, first_when[pick] if len(known_ids) else now_ts, now_ts)
    first_seen = pd.Series(first, index=ids.index).astype("datetime64[ns]")

    # Entries into each stage, counted per (deal, stage) pair of codes.
    n_stages = max(len(known_stages), 1)
    counts = np.bincount(id_code * n_stages + to_code, minlength=len(known_ids) * n_stages)
    stage = pd.Index(known_stages).get_indexer(stages.to_numpy())
    both = seen & (stage >= 0)
    entry = np.zeros(len(ids), dtype=int)
    entry[both] = counts[deal[both] * n_stages + stage[both]]
    entry = pd.Series(entry, index=ids.index) + moved.astype(int)
    return Tracking(in_since, entry, first_seen, moved, known_stage)


def stage_averages(log: HistoryLog, pipeline: str) -> pd.DataFrame:
    """Mean days of finished stays per stage (normed), with the number of stays seen."""
    rows = log.for_pipeline(pipeline)
    if rows.empty:
        return pd.DataFrame({"mean": [], "samples": []})
    # Rows are contiguous per deal: a stay ends where the same deal's next row begins.
    code = rows["id_code"].to_numpy()
    when = rows["when"].to_numpy()
    same_deal_next = np.append(code[1:] == code[:-1], False)
    ends = np.append(when[1:], np.datetime64("NaT", "ns"))
    left = pd.Series(np.where(same_deal_next, ends, np.datetime64("NaT", "ns")), index=rows.index)
    days = (left - rows["when"]).dt.total_seconds() / 86400
    stays = pd.DataFrame({"to": rows["to"], "days": days}).dropna()
    stats = stays.groupby("to")["days"].agg(["mean", "count"])
    return stats.rename(columns={"count": "samples"})
