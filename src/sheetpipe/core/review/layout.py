"""The Review tab's rows: a block per part of the agenda, each a title line, then its
small tables (a header line, then the lines), then an empty line.

Numbers are numbers (a person may add them up); dates and weeks are written as text, so
the tab reads the same on every backend and is rewritten only when its content changes.
"""

from __future__ import annotations

import math

import pandas as pd

from sheetpipe.core.review.movement import TEAM, WATERFALL
from sheetpipe.core.review.review import Review
from sheetpipe.model import Cell, Row

REVIEW_HEADER = ("Weekly review", "", "", "", "", "")
SHOWN = 15  # lines of a list before "… and N more"


def review_rows(review: Review, pipeline: str) -> list[Row]:
    week = review.week
    last = (week.end - pd.Timedelta(days=1)).date()
    minutes = review.minutes
    rows: list[Row] = [list(REVIEW_HEADER),
                       ["Week", week.label, f"{week.start.date()} to {last}", pipeline],
                       ["Meeting", f"{sum(minutes.values())} minutes", *(
                           f"{part} {m}" for part, m in minutes.items())], []]  # fmt: skip
    rows += _wins(review)
    rows += _pipeline_update(review)
    rows += _obstacles(review)
    rows += _competition(review)
    rows += _analytics(review)
    return rows


def _title(review: Review, part: str) -> Row:
    return [f"{part} · {review.minutes.get(part, 0)} min"]


def _number(value: object) -> Cell:
    """A number as a cell: whole numbers without decimals, money to the cent, NaN empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    number = float(value)  # type: ignore[arg-type]
    return int(number) if number.is_integer() else round(number, 2)


def _share(value: object) -> Cell:
    """A share as a whole percentage, as text ("43 %"); empty when there is none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return f"{round(float(value) * 100)} %"  # type: ignore[arg-type]


def _first(table: pd.DataFrame) -> pd.DataFrame:
    """The lines a list shows (the rest are counted): only those are made into rows."""
    return table.head(SHOWN)


def _capped(lines: list[Row], total: int) -> list[Row]:
    return lines if total <= SHOWN else [*lines, [f"… and {total - SHOWN} more"]]


def _wins(review: Review) -> list[Row]:
    rows: list[Row] = [_title(review, "Wins")]
    wins = review.wins
    if wins.empty:
        rows.append(["No deal was won this week."])
    else:
        rows.append(["Deal", "Value", "Owner", "Days to win", "Source"])
        rows += _capped([[w.deal, _number(w.value), w.owner, _number(w.days), w.source]
                         for w in _first(wins).itertuples()], len(wins))  # fmt: skip
        rows.append(["Won this week", _number(wins["value"].sum()), f"{len(wins)} deals"])
    rows.append(["Won value by week", *(label for label, _ in review.won_by_week)])
    rows.append(["", *(_number(v) for _, v in review.won_by_week)])
    return [*rows, []]


def _pipeline_update(review: Review) -> list[Row]:
    table = review.waterfall
    rows: list[Row] = [_title(review, "Pipeline update")]
    rows.append(["Open value", *table.columns])
    rows += [[line, *(_number(v) for v in table.loc[line])] for line in WATERFALL]
    moved = table.loc[list(WATERFALL)[1:-1]].abs().to_numpy().sum()
    if not moved:
        rows.append(["Nothing moved this week."])
    pushes = review.pushes
    rows.append(["Deals advanced", review.advanced, "moved back", review.moved_back])
    pushed = f"by {pushes.mean_days:.0f} days on average" if pushes.count else ""
    often = ", ".join(review.names.get(k, k) for k in pushes.often[:SHOWN])
    rows.append(["Close dates pushed", pushes.count, pushed,
                 f"pushed 3 times or more: {often}" if often else ""])  # fmt: skip
    rows.append([])
    rows.append(["Stage", "Deals", "Value", "Win probability", "Weighted"])
    for s in review.weighted.itertuples():
        rows.append([s.stage, int(s.deals), _number(s.value), _share(s.probability),
                     _number(s.weighted)])  # fmt: skip
    weighted = review.weighted
    rows.append([TEAM, int(weighted["deals"].sum()), _number(weighted["value"].sum()), None,
                 _number(weighted["weighted"].sum())])  # fmt: skip
    return [*rows, []]


def _obstacles(review: Review) -> list[Row]:
    rows: list[Row] = [_title(review, "Obstacles")]
    risky = review.at_risk
    if risky.empty:
        rows.append(["No deal is Stalled, At risk or Dead."])
    else:
        rows.append(["Deal", "Owner", "Health", "Value", "Why"])
        rows += _capped([[d.name, d.owner, d.health, _number(d.value), d.why]
                         for d in _first(risky).itertuples()], len(risky))  # fmt: skip
    overdue = review.overdue
    rows.append(["Overdue tasks", int(overdue.sum()),
                 ", ".join(f"{o} {n}" for o, n in overdue.items())])  # fmt: skip
    early = review.closing_early
    rows.append(["Closing this month, still early", len(early),
                 ", ".join(early["name"].head(SHOWN))])  # fmt: skip
    idle = review.without_task
    rows.append(["Open deals with no open task", len(idle), ", ".join(idle["name"].head(SHOWN))])
    return [*rows, []]


def _competition(review: Review) -> list[Row]:
    rows: list[Row] = [_title(review, "Competition")]
    table = review.competition
    if table.empty:
        rows.append(["No deal names a Competitor."])
    else:
        rows.append(["Competitor", "Open deals", "Open value", "Won", "Lost", "Win rate"])
        rows += _capped([[name, int(c["open"]), _number(c["open value"]), int(c["won"]),
                          int(c["lost"]), _share(c["win rate"])]
                         for name, c in _first(table).iterrows()], len(table))  # fmt: skip
    lost = review.lost
    if not lost.empty:
        rows.append(["Lost this week", "Lost reason", "Competitor"])
        rows += _capped([[d.name, d.lost_reason, d.competitor]
                         for d in _first(lost).itertuples()], len(lost))  # fmt: skip
    return [*rows, []]


def _analytics(review: Review) -> list[Row]:
    rows: list[Row] = [["Analytics"], ["Stage", "Next", "Reached", "Went on", "Conversion"]]
    rows += [[c.stage, c.next, int(c.reached), int(c.went_on), _share(c.share)]
             for c in review.conversion.itertuples()]  # fmt: skip
    rows += [[], ["Stage", "Finished stays", "Median days", "80 % within", "Max days"]]
    rows += [[t.stage, int(t.stays), _number(t.median), _number(t.p80), _number(t.max_days)]
             for t in review.time_in_stage.itertuples()]  # fmt: skip
    for title, table in (("Source", review.by_source), ("Owner", review.by_owner)):
        rows += [[], [title, "Closed", "Won", "Win rate"]]
        rows += _capped([[name, int(r["closed"]), int(r["won"]), _share(r["win rate"])]
                         for name, r in _first(table).iterrows()], len(table))  # fmt: skip
    rows += [[], ["Sales velocity (value a day)", _number(round(review.velocity, 2))]]
    return rows
