"""Each deal's story in one pipeline, told by History: its stage, Value and Expected
close at any moment, so that the review compares the two ends of a week.

A deal's state at a moment is its last History row at or before it. Its Value then is
the last Value a row recorded by then; before its first recorded Value, the first one
recorded after (History from before sheetpipe recorded values); a deal no row gave a
Value has the one its pipeline row holds now. The same rule at both ends of a week is
what makes the waterfall balance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from sheetpipe.core.inputs.stages import Stages
from sheetpipe.core.sheet import cells
from sheetpipe.core.sheet.table import Table

OPEN, WON, LOST, GONE = "open", "won", "lost", "gone"  # a stage's kind ("gone": not in Stages)


@dataclass(frozen=True)
class Timeline:
    """History's rows of one pipeline, by deal (case-folded ID) then time."""

    rows: pd.DataFrame  # deal, when, stage (normed), came_from (normed), value, close
    kinds: dict[str, str]  # normed stage → OPEN, WON or LOST
    order: dict[str, float]  # normed stage → its Order in Stages
    names: dict[str, str]  # normed stage → as Stages write it
    # Each question answered once per review: the sections ask the same ones.
    _answers: dict = field(default_factory=dict, compare=False, repr=False)

    def _once(self, key: tuple, make):  # noqa: ANN001, ANN202 - any answer
        if key not in self._answers:
            self._answers[key] = make()
        return self._answers[key]

    @property
    def open_stages(self) -> list[str]:
        """The normed open stages, in Stages' order."""
        return [s for s, kind in self.kinds.items() if kind == OPEN]

    def state_at(self, moment: datetime) -> pd.DataFrame:
        """Each deal that existed just before `moment`: stage, kind, value and close then
        (a week is [start, end): a row at midnight belongs to the day it begins)."""
        return self._once(("state", moment), lambda: self._state_at(moment))

    def _state_at(self, moment: datetime) -> pd.DataFrame:
        rows = self.rows[self.rows["when"] < pd.Timestamp(moment)]
        last = rows.groupby("deal", sort=False).tail(1).set_index("deal")
        kind = last["stage"].map(self.kinds).fillna(GONE)
        return pd.DataFrame({"stage": last["stage"], "kind": kind, "value": last["value"],
                             "close": last["close"]})  # fmt: skip

    def moves_between(self, start: datetime, end: datetime) -> pd.DataFrame:
        """The stage changes in [start, end): deal, when, came_from, stage."""
        return self._once(("moves", start, end), lambda: self._moves(start, end))

    def _moves(self, start: datetime, end: datetime) -> pd.DataFrame:
        rows = self.rows
        inside = (rows["when"] >= pd.Timestamp(start)) & (rows["when"] < pd.Timestamp(end))
        moved = rows["came_from"] != rows["stage"]
        return rows[inside & moved]

    def first_seen(self) -> pd.Series:
        return self._once(("first",), lambda: self.rows.groupby("deal", sort=False)["when"].first())


def timeline(
    history: Table | None,
    appended: list[dict[str, object]],
    pipeline: str,
    stages: Stages,
    now_value: pd.Series,
    date_order: str,
) -> Timeline:
    """`pipeline`'s rows of History and of the rows this cycle `appended` to it
    (`now_value`: deal key → its Value now)."""
    mine = stages.of(pipeline)
    kinds = {cells.norm(s.name): (s.closed or OPEN) for s in mine}
    order = {cells.norm(s.name): s.order for s in mine}
    names = {cells.norm(s.name): s.name for s in mine}
    rows = pd.concat([_read(history, date_order), _appended(appended)], ignore_index=True)
    now = pd.to_numeric(now_value, errors="coerce").astype(float)  # empty: no dtype of its own
    return Timeline(_sorted(rows, pipeline, now), kinds, order, names)


def _read(history: Table | None, date_order: str) -> pd.DataFrame:
    if history is None or history.index.empty:
        return _appended([])
    return pd.DataFrame({
        "deal": history.column("Deal ID").stripped().str.casefold().to_numpy(),
        "when": history.column("When").datetimes(date_order).to_numpy(),
        "stage": history.column("To stage").norms().to_numpy(),
        "came_from": history.column("From stage").norms().to_numpy(),
        "value": history.column("Value").numbers().to_numpy(dtype=float),
        "close": history.column("Expected close").dates(date_order).to_numpy(),
        "pipeline": history.column("Pipeline").norms().to_numpy(),
    })  # fmt: skip


def _appended(rows: list[dict[str, object]]) -> pd.DataFrame:
    def norms(key: str) -> list[str]:
        return [cells.norm(cells.text(r.get(key))) for r in rows]

    return pd.DataFrame({
        "deal": [cells.text(r.get("Deal ID")).strip().casefold() for r in rows],
        "when": pd.to_datetime(pd.Series([r.get("When") for r in rows], dtype=object)),
        "stage": norms("To stage"), "came_from": norms("From stage"),
        "value": pd.to_numeric(pd.Series([r.get("Value") for r in rows], dtype=object)),
        "close": pd.to_datetime(pd.Series([r.get("Expected close") for r in rows],
                                          dtype=object)),
        "pipeline": norms("Pipeline"),
    })  # fmt: skip


def _sorted(rows: pd.DataFrame, pipeline: str, now_value: pd.Series) -> pd.DataFrame:
    keep = (rows["pipeline"] == cells.norm(pipeline)) & (rows["deal"] != "")
    rows = rows[keep & rows["when"].notna()].drop(columns="pipeline")
    # Stable: of two rows at the same time, the later in the sheet is the later one.
    rows = rows.sort_values(["deal", "when"], kind="stable").reset_index(drop=True)
    # A Value recorded once stands until the next: carried forward within each deal, and
    # back to the rows before the first one recorded.
    by_deal = rows.groupby("deal", sort=False)["value"]
    rows["value"] = by_deal.ffill()
    rows["value"] = rows.groupby("deal", sort=False)["value"].bfill()
    # A deal no row gave a Value has the one its pipeline row holds now (none: 0).
    now = rows["deal"].map(now_value).to_numpy(dtype=float)
    rows["value"] = rows["value"].astype(float).where(rows["value"].notna(), now).fillna(0.0)
    return rows
