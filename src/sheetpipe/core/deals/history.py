"""Stage tracking from the append-only History tab.

A deal's last History row is its known stage. When the sheet shows another stage, a row
is appended; `In stage since` is the time of the deal's last History row, so a manager
corrects a date by editing History, never the pipeline tab.

Each row sheetpipe appends also records the deal's Value and Expected close as they were
then, and a deal whose Value or Expected close changes in its stage gets a row of its own
(From stage = To stage), so the weekly review's waterfall and slipped close dates come
from the sheet alone. Those rows are no stage change: stage tracking leaves them out.

History holds a row per stage change of every deal ever, often twice as many rows as the
pipelines have deals, so it is read once per cycle into integer codes and every question
below is answered on those codes (numpy, and pandas groupby per deal).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

import numpy as np
import pandas as pd

from sheetpipe.core.sheet import cells
from sheetpipe.core.sheet.table import Table
from sheetpipe.model import Problem


@dataclass
class HistoryLog:
    """History's readable rows, sorted by pipeline, then deal, then time (sheet order
    breaks ties), as codes into the distinct texts."""

    when: np.ndarray  # datetime64[ns]
    deal: np.ndarray  # code into `ids`
    pipeline: np.ndarray  # code into `pipelines` (normed)
    to: np.ndarray  # code into `stages` (normed)
    row: np.ndarray  # sheet row
    ids: list[str]  # deal IDs as written, trimmed
    pipelines: list[str]
    stages: list[str]
    problems: list[Problem] = field(default_factory=list)
    table: Table | None = None
    # (normed pipeline, case-folded deal ID) → Value and Expected close on the deal's last
    # row, stage change or not (NaN / NaT: that row recorded none)
    recorded: pd.DataFrame = field(default_factory=lambda: _nothing_recorded())

    def part(self, pipeline: str) -> slice:
        """The rows of one pipeline: contiguous, as they are sorted by pipeline first."""
        key = cells.norm(pipeline)
        if key not in self.pipelines:
            return slice(0, 0)
        code = self.pipelines.index(key)
        return slice(*np.searchsorted(self.pipeline, [code, code + 1]))

    def names(self, pipeline: str) -> dict[str, str]:
        """Deal ID → the deal's name as History last wrote it (read only when needed)."""
        if self.table is None:
            return {}
        part = self.part(pipeline)
        deal = cells.stripped(self.table.get("Deal")[self.row[part]])
        return dict(zip((self.ids[c] for c in self.deal[part]), deal, strict=True))

    def index_of(self, ids: pd.Series) -> np.ndarray:
        """Each deal ID's code, -1 for an ID History has never seen."""
        # One hash pass over History's distinct IDs and these together: the distinct IDs
        # come first, so each keeps its position as its code (a third cheaper than
        # building an index of them and looking these up in it).
        known = len(self.ids)
        both = np.concatenate([self._ids_array, ids.to_numpy(dtype=object)])
        found = pd.factorize(both)[0][known:]
        return np.where(found < known, found, -1)

    @cached_property
    def _ids_array(self) -> np.ndarray:
        return np.array(self.ids, dtype=object)


def read_history(table: Table | None, date_order: str) -> HistoryLog:
    empty = np.array([], dtype=np.int64)
    if table is None or len(table.tab.rows) < 2:
        return HistoryLog(empty.astype("datetime64[ns]"), empty, empty, empty, empty, [], [], [])
    when = table.column("When").datetimes(date_order).to_numpy()
    deal, ids = table.column("Deal ID").codes(False)
    pipeline, pipelines = table.column("Pipeline").codes()
    to, stages = table.column("To stage").codes()
    problems = list(table.problems)
    has_id = deal != ids.index("")
    unreadable = np.isnat(when) & has_id
    rows = table.index.to_numpy()
    for row in rows[unreadable]:
        problems.append(
            Problem(
                table.where(int(row), "When"),
                f'"{cells.text(table.get("When")[row])}" is not a date and time; this History '
                "row is ignored until it is fixed.",
                "warning",
            )
        )
    readable = has_id & ~unreadable
    recorded = _last_recorded(table, date_order, readable)
    keep = np.flatnonzero(readable & _stage_changes(table))
    # Sorted on integer codes: sorting 100,000s of strings would cost more than all the
    # rest of reading History. lexsort is stable: sheet order breaks ties in time.
    group = pipeline[keep].astype(np.int64) * len(ids) + deal[keep]
    order = keep[np.lexsort((when[keep].astype(np.int64), group))]
    return HistoryLog(
        when[order],
        deal[order],
        pipeline[order],
        to[order],
        rows[order],
        ids,
        pipelines,
        stages,
        problems,
        table,
        recorded,
    )


def _stage_changes(table: Table) -> np.ndarray:
    """The rows that change a stage: not a Value or Expected close row (same stage)."""
    to = table.column("To stage").norms().to_numpy()
    if not table.has("From stage"):
        return np.ones(len(to), dtype=bool)
    came_from = table.column("From stage").norms().to_numpy()
    return (came_from == "") | (came_from != to)


def _nothing_recorded() -> pd.DataFrame:
    index = pd.MultiIndex.from_arrays([[], []], names=["pipeline", "deal"])
    return pd.DataFrame({"value": pd.Series(dtype=float),
                         "close": pd.Series(dtype="datetime64[ns]")}, index=index)  # fmt: skip


def _last_recorded(table: Table, date_order: str, readable: np.ndarray) -> pd.DataFrame:
    """Each deal's Value and Expected close as its last History row in the sheet's order
    recorded them: sheetpipe appends at the bottom, so a row dated in the future by a typo
    cannot make every cycle record the deal's values again."""
    if not (table.has("Value") or table.has("Expected close")) or not readable.any():
        return _nothing_recorded()
    rows = pd.DataFrame({
        "pipeline": table.column("Pipeline").norms().to_numpy(),
        "deal": table.column("Deal ID").stripped().str.casefold().to_numpy(),
        "value": table.column("Value").numbers().to_numpy(dtype=float),
        "close": table.column("Expected close").dates(date_order).to_numpy(),
    })[readable]  # fmt: skip
    latest = rows.groupby(["pipeline", "deal"]).tail(1)
    return latest.set_index(["pipeline", "deal"])[["value", "close"]]


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
    part = log.part(pipeline)
    rows = pd.DataFrame({"deal": log.deal[part], "to": log.to[part], "when": log.when[part]})
    by_deal = rows.groupby("deal", sort=False)  # rows are in time order within a deal
    last, first_when = by_deal.last(), by_deal["when"].first()
    entries = rows.groupby(["deal", "to"], sort=False).size()

    code = log.index_of(ids)  # -1: never seen
    known = last["to"].reindex(code, fill_value=-1).to_numpy()  # -1: not in this History
    stage = pd.Index(log.stages, dtype=object).get_indexer(stages.to_numpy(dtype=object))
    moved = (known < 0) | (known != stage)
    now_ts = pd.Timestamp(now).to_datetime64()
    since = np.where(moved, now_ts, last["when"].reindex(code).to_numpy())
    began = first_when.reindex(code).fillna(now_ts).to_numpy()
    entry = entries.reindex(pd.MultiIndex.from_arrays([code, stage]), fill_value=0).to_numpy()
    texts = np.array([*log.stages, ""], dtype=object)  # code -1: "" (a new deal)
    index = ids.index
    return Tracking(
        in_since=pd.Series(since, index=index, dtype="datetime64[ns]"),
        entry=pd.Series(entry + moved, index=index),
        first_seen=pd.Series(began, index=index, dtype="datetime64[ns]"),
        moved=pd.Series(moved, index=index),
        previous=pd.Series(texts.take(known), index=index, dtype=object),
    )


def stage_averages(log: HistoryLog, pipeline: str) -> pd.DataFrame:
    """Mean days of finished stays per stage (normed), with the number of stays seen."""
    part = log.part(pipeline)
    deal, to, when = log.deal[part], log.to[part], log.when[part]
    # A stay ends where the same deal's next row begins.
    ended = np.flatnonzero(deal[1:] == deal[:-1])
    days = (when[ended + 1] - when[ended]).astype(np.int64) / 86_400e9
    stage = to[ended]
    n = len(log.stages)
    samples = np.bincount(stage, minlength=n)
    total = np.bincount(stage, weights=days, minlength=n)
    seen = samples > 0
    return pd.DataFrame(
        {"mean": total[seen] / samples[seen], "samples": samples[seen]},
        index=pd.Index(np.array(log.stages, dtype=object)[seen], name="to"),
    )
