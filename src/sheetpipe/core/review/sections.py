"""The review's other parts, from the deals as this cycle planned them and from Tasks:
the weighted pipeline, the obstacles and the competition; and the analytics the review
draws on (README, "The weekly review"):

- conversion from a stage to the next: of the deals that reached a stage, how many
  reached the next one. A deal reached a stage when History shows it entering that
  stage or any later one (a skipped stage counts as passed through); moving back does
  not undo a stage reached. Deals still in the stage count as not (yet) converted.
- time in stage: the finished stays of History (entering a stage to leaving it), median
  and 80th percentile in days, beside the stage's Max days.
- win rate: won ÷ (won + lost), of the deals closed, by source and by owner.
- sales velocity: open deals × win rate × average won value ÷ average days to win:
  value the pipeline turns into wins a day.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from sheetpipe.core.review.timeline import LOST, OPEN, WON, Timeline

EARLY_SHARE = 0.5  # the first half of the open stages is "early"


def weighted(deals: pd.DataFrame, tl: Timeline, probability: dict[str, float]) -> pd.DataFrame:
    """Open deals by stage: deals, value, the stage's Win probability, weighted value."""
    open_ = deals[deals["stage"].map(tl.kinds).eq(OPEN)]
    stages = tl.open_stages
    by = open_.groupby("stage")["value"].agg(["count", "sum"]).reindex(stages).fillna(0)
    chance = pd.Series(probability).reindex(stages)
    return pd.DataFrame({
        "stage": [tl.names[s] for s in stages], "deals": by["count"].astype(int).to_numpy(),
        "value": by["sum"].to_numpy(), "probability": chance.to_numpy(),
        "weighted": (by["sum"] * chance.fillna(0)).to_numpy()})  # fmt: skip


def at_risk(deals: pd.DataFrame) -> pd.DataFrame:
    """Stalled, At risk and Dead deals with their reasons, worst first."""
    rank = {"Dead": 0, "Stalled": 1, "At risk": 2}
    found = deals[deals["health"].isin(list(rank))]
    order = found["health"].map(rank)
    return found.assign(rank=order).sort_values(["rank", "value"], ascending=[True, False],
                                                kind="stable").drop(columns="rank")  # fmt: skip


def closing_early(deals: pd.DataFrame, tl: Timeline, today: date) -> pd.DataFrame:
    """Open deals expected to close this month that are still in an early stage."""
    opened = tl.open_stages
    early = set(opened[: max(1, int(np.ceil(len(opened) * EARLY_SHARE)))]) if opened else set()
    month = pd.Timestamp(today).to_period("M")
    close = pd.to_datetime(deals["close"])
    this_month = close.dt.to_period("M").eq(month)
    return deals[this_month & deals["stage"].isin(early)]


def without_task(deals: pd.DataFrame, tl: Timeline, open_task_deals: set[str]) -> pd.DataFrame:
    """Open deals with no open task."""
    open_ = deals["stage"].map(tl.kinds).eq(OPEN)
    return deals[open_ & ~deals["id"].str.casefold().isin(open_task_deals)]


def competition(deals: pd.DataFrame, tl: Timeline) -> pd.DataFrame:
    """By competitor: open deals and value, won, lost, win rate against them."""
    named = deals[deals["competitor"].ne("")]
    kind = named["stage"].map(tl.kinds)
    table = pd.DataFrame({
        "open": kind.eq(OPEN), "open value": named["value"].where(kind.eq(OPEN), 0.0),
        "won": kind.eq(WON), "lost": kind.eq(LOST), "competitor": named["competitor"],
    }).groupby("competitor").sum()  # fmt: skip
    closed = table["won"] + table["lost"]
    table["win rate"] = (table["won"] / closed).where(closed > 0)
    return table.sort_values(["open value", "open"], ascending=False, kind="stable")


def conversion(tl: Timeline) -> pd.DataFrame:
    """Per open stage: deals that reached it, reached the next, and the share."""
    opened = tl.open_stages
    won = [s for s, kind in tl.kinds.items() if kind == WON]
    rank = {s: i for i, s in enumerate(opened)} | dict.fromkeys(won, len(opened))
    ranks = tl.rows["stage"].map(rank)
    furthest = ranks.groupby(tl.rows["deal"]).max().dropna()
    rows = []
    for i, stage in enumerate(opened):
        reached = int((furthest >= i).sum())
        went_on = int((furthest >= i + 1).sum())
        following = opened[i + 1] if i + 1 < len(opened) else (won[0] if won else "")
        rows.append({"stage": tl.names[stage], "next": tl.names.get(following, ""),
                     "reached": reached, "went_on": went_on,
                     "share": went_on / reached if reached else np.nan})  # fmt: skip
    return pd.DataFrame(rows, columns=["stage", "next", "reached", "went_on", "share"])


def time_in_stage(tl: Timeline, max_days: dict[str, float]) -> pd.DataFrame:
    """Per open stage: finished stays, their median and 80th percentile in days."""
    rows = tl.rows[tl.rows["came_from"] != tl.rows["stage"]]
    same = rows["deal"].to_numpy()[1:] == rows["deal"].to_numpy()[:-1]
    ended = np.flatnonzero(same)
    days = rows["when"].to_numpy()[ended + 1] - rows["when"].to_numpy()[ended]
    stays = pd.DataFrame({"stage": rows["stage"].to_numpy()[ended],
                          "days": days / np.timedelta64(1, "D")})  # fmt: skip
    found = []
    for stage in tl.open_stages:
        mine = stays["days"][stays["stage"] == stage]
        found.append({"stage": tl.names[stage], "stays": len(mine),
                      "median": mine.median() if len(mine) else np.nan,
                      "p80": mine.quantile(0.8) if len(mine) else np.nan,
                      "max_days": max_days.get(stage, np.nan)})  # fmt: skip
    return pd.DataFrame(found, columns=["stage", "stays", "median", "p80", "max_days"])


def win_rates(deals: pd.DataFrame, tl: Timeline, by: str) -> pd.DataFrame:
    """Won ÷ (won + lost) of the closed deals, by `by` (source or owner)."""
    kind = deals["stage"].map(tl.kinds)
    closed = deals[kind.isin([WON, LOST])]
    won = kind[closed.index].eq(WON)
    table = pd.DataFrame({"won": won, "closed": True, by: closed[by].replace("", "(none)")})
    found = table.groupby(by).sum()
    found["win rate"] = found["won"] / found["closed"]
    return found.sort_values("closed", ascending=False, kind="stable")


def velocity(deals: pd.DataFrame, tl: Timeline) -> float:
    """Value a day the pipeline turns into wins (0 without a won deal)."""
    kind = deals["stage"].map(tl.kinds)
    won, closed = deals[kind.eq(WON)], kind.isin([WON, LOST]).sum()
    if won.empty or not closed:
        return 0.0
    first = pd.to_datetime(tl.first_seen().reindex(won.index))
    won_at = tl.rows[tl.rows["stage"].map(tl.kinds).eq(WON)].groupby("deal")["when"].last()
    cycle = ((pd.to_datetime(won_at.reindex(won.index)) - first).dt.total_seconds()
             / 86_400).mean()  # fmt: skip
    if np.isnan(cycle) or cycle <= 0:  # won the moment it was first seen: no cycle to say
        return 0.0
    rate = len(won) / closed
    return float(kind.eq(OPEN).sum() * rate * won["value"].mean() / cycle)
