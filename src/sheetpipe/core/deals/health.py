"""Health and its reasons: Hot / OK / At risk / Stalled / Dead / Won / Lost.

Each sign of a dying deal is one rule below with its threshold in Settings or Stages.
The Why cell lists every reason found, worst first, in words a salesperson reads:
`14 days in Proposal (limit 10); no contact for 23 days`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np
import pandas as pd

from sheetpipe.core.deals.scoring import Columns
from sheetpipe.core.inputs.settings import Settings
from sheetpipe.core.sheet import cells

SEP = "; "


@dataclass
class DealFacts:
    """Everything health needs, one Series per fact, indexed by sheet row."""

    stage: pd.Series  # stage name as written
    known_stage: pd.Series  # bool: the stage is in Stages
    closed: pd.Series  # "won" / "lost" / ""
    max_days: pd.Series  # float, NaN = no limit
    min_score: pd.Series  # float, NaN = none
    days_in_stage: pd.Series  # int
    days_in_pipeline: pd.Series  # int
    stage_average: pd.Series  # float days, NaN until enough samples
    score: pd.Series  # int
    cols: Columns
    today: pd.Timestamp


def _words(values: pd.Series) -> list[str]:
    """Numbers as a person writes them in a reason (7, not 7.0); text as it is."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").fillna("").tolist()
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return [str(int(v)) if v == v else "" for v in values.round().tolist()]
    return [str(v) for v in values.tolist()]


Part = Union[str, pd.Series, "Reasons"]


class Reasons:
    """Reason texts per deal for one health level, joined with '; '.

    Kept as codes, not as a plain array of texts per deal, because it was measured: at
    100,000 deals the plain version cost 0.57 s of a 2.4 s cycle, this one a quarter of it.

    Held as an integer code per deal into a table of distinct texts. Health runs a dozen
    rules over every deal and their texts repeat (the same stage, limit and day counts),
    so each distinct text is written once and deals carry only codes: a hundred thousand
    deals cost integer passes, not a hundred thousand string concatenations per rule.
    """

    def __init__(self, index: pd.Index):
        self.index = index
        self._code = np.zeros(len(index), dtype=np.int64)  # 0: no reason yet
        self._texts: list[str] = [""]

    def add(self, mask: pd.Series, *parts: Part) -> None:
        """Append a reason where `mask` holds; Series parts are formatted only there."""
        hit = np.flatnonzero(mask.fillna(False).to_numpy(dtype=bool))
        if not len(hit):
            return
        # A deal's new text depends on its text so far and the values of its parts:
        # number each distinct combination, then write each combination once.
        key, dense = self._code[hit], False
        pieces: list[np.ndarray | str] = []  # per part: its text at each hit
        for part in parts:
            if isinstance(part, str):
                pieces.append(part)
                continue
            if isinstance(part, Reasons):
                codes, words = part._code[hit], part._table()
            else:
                codes, uniques = pd.factorize(part.to_numpy()[hit], use_na_sentinel=True)
                words = np.array([*_words(pd.Series(uniques)), ""], dtype=object)  # -1: ""
            pieces.append(words.take(codes))
            key, dense = pd.factorize(key * (len(words) + 1) + codes + 1)[0], True
        if not dense:
            key = pd.factorize(key)[0]
        # Written with numpy's C loops over the distinct combinations only. pd.factorize
        # numbered them densely by first sight: hashing stands in for a sort.
        inverse = key
        first = np.empty(int(key.max()) + 1, dtype=np.int64)
        first[key[::-1]] = np.arange(len(key) - 1, -1, -1)  # the first sight writes last
        text = np.full(len(first), "", dtype=object)
        for piece in pieces:
            text = text + (piece if isinstance(piece, str) else piece.take(first))
        before = self._table().take(self._code[hit[first]])
        text = np.where(before != "", before + SEP + text, text)
        start = len(self._texts)
        self._texts += text.tolist()
        self._code[hit] = start + inverse

    def _table(self) -> np.ndarray:
        return np.array(self._texts, dtype=object)

    @property
    def hit(self) -> np.ndarray:
        """True for each deal with a reason."""
        return self._code != 0

    @property
    def any(self) -> pd.Series:
        return pd.Series(self.hit, index=self.index)

    @property
    def text(self) -> pd.Series:
        return pd.Series(self.texts(), index=self.index, dtype=object)

    def texts(self) -> np.ndarray:
        """Each deal's reasons, joined (a new array)."""
        return self._table().take(self._code)


def assess(facts: DealFacts, settings: Settings) -> tuple[pd.Series, pd.Series]:
    """(Health, Why) for every deal."""
    index = facts.stage.index
    dead, stalled, risk = Reasons(index), Reasons(index), Reasons(index)
    _explicit_no(facts.cols, dead)
    _time_in_stage(facts, settings, dead, stalled, risk)
    _time_in_pipeline(facts, settings, dead)
    _contact(facts, settings, dead, stalled)
    _close_and_score(facts, risk)
    return _verdict(facts, settings, dead, stalled, risk)


def _explicit_no(cols: Columns, dead: Reasons) -> None:
    lost_reason = cols.get("lost reason", "stripped")
    dead.add(lost_reason.ne(""), "explicit no: ", lost_reason)
    dead.add(_says_no(cols, "target"), "not the target audience (Target is No)")
    dead.add(_says_no(cols, "budget") | cols.get("budget", "number").eq(0), "no budget")


def _time_in_stage(
    facts: DealFacts, s: Settings, dead: Reasons, stalled: Reasons, risk: Reasons
) -> None:
    """Days in the stage against its Max days (and its average, once known)."""
    in_stage = facts.days_in_stage
    dead_limit = facts.max_days * s.dead_after_times_max_days
    dead.add(
        in_stage > dead_limit,
        (in_stage), " days in ", facts.stage, " (dead after ", (dead_limit), ")",
    )  # fmt: skip
    over_limit = (in_stage > facts.max_days) & ~(in_stage > dead_limit)
    stalled.add(
        over_limit,
        (in_stage), " days in ", facts.stage, " (limit ", (facts.max_days), ")",
    )  # fmt: skip
    avg_limit = facts.stage_average * s.stalled_after_times_stage_average
    stalled.add(
        (in_stage > avg_limit) & ~(in_stage > facts.max_days),
        (in_stage), " days in ", facts.stage, f", over {s.stalled_after_times_stage_average:g}×"
        " its average of ", (facts.stage_average), " days",
    )  # fmt: skip
    risk_from = facts.max_days * s.at_risk_at_share_of_max_days
    risk.add(
        (in_stage >= risk_from) & ~(in_stage > facts.max_days) & ~(in_stage > avg_limit),
        (in_stage), " days in ", facts.stage, " (limit ", (facts.max_days), ")",
    )  # fmt: skip


def _time_in_pipeline(facts: DealFacts, s: Settings, dead: Reasons) -> None:
    in_pipeline = facts.days_in_pipeline
    dead.add(
        in_pipeline > s.dead_after_days_in_pipeline,
        (in_pipeline),
        f" days in the pipeline (dead after {s.dead_after_days_in_pipeline:g})",
    )
    no_dm = _says_no(facts.cols, "decision maker reached")
    dead.add(
        no_dm & (in_pipeline > s.dead_after_days_without_decision_maker),
        "stuck at the gatekeeper: no decision maker after ", (in_pipeline), " days",
    )  # fmt: skip


def _close_and_score(facts: DealFacts, risk: Reasons) -> None:
    expected = facts.cols.get("expected close", "date")
    overdue = (facts.today - expected).dt.days
    risk.add(overdue > 0, "expected close ", expected, " has passed")
    risk.add(
        facts.score < facts.min_score,
        "score ", facts.score, " is below the ", (facts.min_score), " ",
        facts.stage, " needs",
    )  # fmt: skip
    risk.add(~facts.known_stage, 'stage "', facts.stage, '" is not in Stages')


def _verdict(
    facts: DealFacts, s: Settings, dead: Reasons, stalled: Reasons, risk: Reasons
) -> tuple[pd.Series, pd.Series]:
    """The worst level wins (numpy masks: pandas' own assignment costs more than the
    rules); Hot where nothing is wrong and the score is SQL's; closed deals say only so."""
    index = facts.stage.index
    health = np.full(len(index), "OK", dtype=object)
    hot = (facts.score >= s.sql_threshold).to_numpy()
    levels = {"At risk": risk.hit, "Stalled": stalled.hit, "Dead": dead.hit}
    health[hot] = "Hot"
    for level, hit in levels.items():
        health[hit] = level
    why = Reasons(index)
    why.add(
        pd.Series(hot & ~np.logical_or.reduce(list(levels.values())), index=index),
        "score ",
        facts.score,
        f" (SQL from {s.sql_threshold:g})",
    )
    for reasons in (dead, stalled, risk):
        why.add(reasons.any, reasons)
    closed = facts.closed.to_numpy(dtype=object)
    won, lost = closed == "won", closed == "lost"
    health[won] = "Won"
    health[lost] = "Lost"
    text = why.texts()
    text[won | lost] = ""
    return pd.Series(health, index=index), pd.Series(text, index=index)


def _says_no(cols: Columns, field: str) -> pd.Series:
    """True where the cell is an explicit no (blank is not a no: nobody asked yet)."""
    codes, texts = cols.get(field, "codes")
    no = np.array([t in cells.NO_WORDS and t != "" for t in texts] + [False], dtype=bool)
    return pd.Series(no[codes], index=cols.index)


def _contact(facts: DealFacts, s: Settings, dead: Reasons, stalled: Reasons) -> None:
    """No reply and no engagement: days since Last contact, or since first seen if never."""
    last = facts.cols.get("last contact", "date")
    since = (facts.today - last).dt.days
    never = last.isna()
    quiet = since.where(~never, facts.days_in_pipeline)
    leads = np.array(["no contact for ", "no contact recorded in "], dtype=object)
    lead = pd.Series(leads.take(never.to_numpy(dtype=int)), index=since.index)
    is_dead = quiet > s.dead_after_days_without_contact
    dead.add(is_dead, lead, (quiet), f" days (dead after {s.dead_after_days_without_contact:g})")
    stalled.add((quiet > s.stalled_after_days_without_contact) & ~is_dead, lead, (quiet), " days")
