"""What moved in a week: the wins, the waterfall of open value, stage moves and pushed
close dates, each from the pipeline's Timeline.

The waterfall, for the team and for each rep (by the deal's owner now):

    open at the start + new + moved in + value raised − value lowered − won − lost
    − moved out = open at the end

Each deal adds to exactly one rep, and every term is taken from the deal's state at the
week's two ends, so the sum holds for every rep and the team by construction. A deal open
at both ends whose Value changed is raised or lowered by the difference; one that closed
in the week is first raised or lowered to its Value when it closed, then won or lost at
that Value. "New" is a deal first seen in the week; "moved in" one that was closed (or in
a stage Stages no longer list) at the start and is open at the end; "moved out" the other
way round, into a stage that is neither open, won nor lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from sheetpipe.core.review.timeline import GONE, LOST, OPEN, WON, Timeline

WATERFALL = ("Open at the start", "New", "Moved in", "Value raised", "Value lowered", "Won",
             "Lost", "Moved out", "Open at the end")  # fmt: skip
SIGNS = {"New": 1, "Moved in": 1, "Value raised": 1, "Value lowered": -1, "Won": -1,
         "Lost": -1, "Moved out": -1}  # fmt: skip
TEAM = "Team"


@dataclass(frozen=True)
class Week:
    start: datetime
    end: datetime
    label: str  # ISO week of its first day, e.g. 2026-W48


def waterfall(tl: Timeline, week: Week, owner: pd.Series) -> pd.DataFrame:
    """Rows WATERFALL, columns the team then each rep (`owner`: deal → rep now)."""
    per_deal = _per_deal(tl, week)
    reps = owner.reindex(per_deal.index).fillna("").replace("", "(no owner)")
    by_rep = per_deal.groupby(reps).sum().T
    table = pd.concat([per_deal.sum().rename(TEAM), by_rep], axis=1)
    return table.reindex(list(WATERFALL)).fillna(0.0)


def _per_deal(tl: Timeline, week: Week) -> pd.DataFrame:
    """Each deal's part in each line of the waterfall."""
    start, end = tl.state_at(week.start), tl.state_at(week.end)
    deals = end.index.union(start.index)
    s, e = start.reindex(deals), end.reindex(deals)
    open_s, open_e = s["kind"].eq(OPEN), e["kind"].eq(OPEN)
    v_s, v_e = s["value"].fillna(0.0), e["value"].fillna(0.0)
    first = tl.first_seen().reindex(deals)
    new = first >= pd.Timestamp(week.start)
    closed_e = ~open_e & e["kind"].isin([WON, LOST])
    # Leaving the open stages this week (or joining and leaving in it): which way out.
    out = ~open_e & (open_s | new)
    changed = (open_s & (open_e | out)) * (v_e - v_s)
    lines = {
        "Open at the start": np.where(open_s, v_s, 0.0),
        "New": np.where(new & (open_e | out), v_e, 0.0),
        "Moved in": np.where(~open_s & ~new & open_e, v_e, 0.0),
        "Value raised": np.where(changed > 0, changed, 0.0),
        "Value lowered": np.where(changed < 0, -changed, 0.0),
        "Won": np.where(out & closed_e & e["kind"].eq(WON), v_e, 0.0),
        "Lost": np.where(out & closed_e & e["kind"].eq(LOST), v_e, 0.0),
        "Moved out": np.where(out & (e["kind"].eq(GONE) | e["kind"].isna()), v_e, 0.0),
        "Open at the end": np.where(open_e, v_e, 0.0),
    }
    return pd.DataFrame(lines, index=deals)


def balances(table: pd.DataFrame) -> pd.Series:
    """Per column: whether start and the movements add up to the end (to the cent)."""
    moved = sum(SIGNS[line] * table.loc[line] for line in SIGNS)
    return np.isclose(table.loc["Open at the start"] + moved, table.loc["Open at the end"],
                      atol=0.005)  # fmt: skip


def wins(tl: Timeline, week: Week, deals: pd.DataFrame) -> pd.DataFrame:
    """The deals won in the week: deal, value, owner, days to win, source (by value)."""
    moves = tl.moves_between(week.start, week.end)
    won = moves[moves["stage"].map(tl.kinds).eq(WON)].groupby("deal").tail(1)
    if won.empty:
        return pd.DataFrame(columns=["deal", "value", "owner", "days", "source"])
    first = tl.first_seen()
    key = won["deal"].to_numpy()
    here = deals.reindex(key)
    days = (won["when"].to_numpy() - first.reindex(key).to_numpy()) / np.timedelta64(1, "D")
    found = pd.DataFrame({
        "deal": here["name"].fillna(pd.Series(key, index=here.index)).to_numpy(),
        "value": tl.state_at(week.end)["value"].reindex(key).fillna(0.0).to_numpy(),
        "owner": here["owner"].fillna("").to_numpy(),
        "days": np.floor(days),
        "source": here["source"].fillna("").to_numpy(),
    })  # fmt: skip
    return found.sort_values("value", ascending=False, kind="stable").reset_index(drop=True)


def won_by_week(tl: Timeline, weeks: list[Week]) -> list[float]:
    """The value won in each of `weeks` (consecutive, oldest first), each deal at its Value
    when it was won (in one pass: a review asks for many weeks)."""
    moves = tl.moves_between(weeks[0].start, weeks[-1].end)
    won = moves[moves["stage"].map(tl.kinds).eq(WON)]
    bucket = ((won["when"] - pd.Timestamp(weeks[0].start)) // pd.Timedelta(days=7)).astype(int)
    won = won.assign(bucket=bucket).groupby(["deal", "bucket"]).tail(1)
    sums = won["value"].groupby(won["bucket"]).sum()
    return [float(sums.get(i, 0.0)) for i in range(len(weeks))]


def stage_moves(tl: Timeline, week: Week) -> tuple[int, int]:
    """(deals advanced, deals moved back) among the open stages in the week."""
    moves = tl.moves_between(week.start, week.end)
    both_open = moves["came_from"].map(tl.kinds).eq(OPEN) & moves["stage"].map(tl.kinds).eq(OPEN)
    moves = moves[both_open]
    step = moves["stage"].map(tl.order) - moves["came_from"].map(tl.order)
    return int(moves["deal"][step > 0].nunique()), int(moves["deal"][step < 0].nunique())


@dataclass(frozen=True)
class Pushes:
    count: int  # close dates pushed later in the week
    mean_days: float  # by how many days, on average
    often: list[str]  # deal keys open now, pushed three times or more ever


def pushes(tl: Timeline, week: Week, open_now: pd.Index) -> Pushes:
    rows = tl.rows
    previous = rows.groupby("deal", sort=False)["close"].shift()
    later = (rows["close"] > previous) & previous.notna()
    days = (rows["close"] - previous) / np.timedelta64(1, "D")
    inside = (rows["when"] >= pd.Timestamp(week.start)) & (rows["when"] < pd.Timestamp(week.end))
    this_week = later & inside
    counts = rows["deal"][later].value_counts()
    often = sorted(k for k in counts.index[counts >= 3] if k in open_now)
    mean = float(days[this_week].mean()) if this_week.any() else 0.0
    return Pushes(int(this_week.sum()), mean, often)
