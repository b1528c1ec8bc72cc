"""Tasks the playbooks and alerts call for, each with an ID derived from its cause.

The ID names the deal, the stage entry (the n-th time the deal entered that stage) and
the reason, so re-running a cycle, a crash or a retry can never append a task twice,
while a deal that comes back to a stage later gets fresh tasks.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date, datetime
from itertools import repeat

import numpy as np
import pandas as pd

from sheetpipe.core.inputs.stages import Stages
from sheetpipe.core.sheet import cells

ALERTS = {
    "stalled": "Deal stalled: {why}. Get it moving or update its stage.",
    "dead": "Close it or move it to nurture: {why}.",
    "hot": "Call now: {why}.",
}


def slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.casefold()).strip("-")


def cause_prefix(
    pipeline: str, ids: pd.Series, stage_code: np.ndarray, stage_names: list, entry: pd.Series
) -> np.ndarray:
    """'deals/D-0007/proposal#2': this deal's second entry into Proposal.

    `stage_code` numbers each deal's stage into `stage_names`.
    """
    # The stage-and-entry tail repeats down the tab: written once per distinct pair, then
    # joined to each ID in one C-level pass (per-row formatting costs several times more).
    entries = entry.to_numpy(dtype=np.int64)
    width = entries.max(initial=0) + 1
    pair, pairs = pd.factorize(stage_code.astype(np.int64) * width + entries)
    tails = np.array(
        [f"/{slug(stage_names[p // width])}#{p % width}" for p in pairs], dtype=object
    ).take(pair)
    heads = map(operator.add, repeat(slug(pipeline) + "/"), ids.tolist())
    return np.fromiter(map(operator.add, heads, tails), dtype=object, count=len(ids))


def plan_tasks(
    *,
    pipeline: str,
    deals: pd.DataFrame,  # id, deal, owner (cells as read), stage (as written), entry,
    # in_since, health, why
    stages: Stages,
    existing: AbstractSet[str],
    now: datetime,
) -> list[dict[str, object]]:
    """Rows to append to Tasks (as contract column → value), skipping IDs already there.

    Vectorised: every cycle derives the IDs of all tasks the sheet should hold, and only
    the few that are not in Tasks yet become rows.
    """
    if deals.empty:
        return []
    # Stages are hashed once: task IDs and the playbooks both read them.
    stage_code, stage_names = pd.factorize(deals["stage"].to_numpy(dtype=object))
    prefix = cause_prefix(pipeline, deals["id"], stage_code, list(stage_names), deals["entry"])
    kinds = _Kinds(deals, prefix, existing, now)
    return [*kinds.alerts(), *kinds.playbooks(pipeline, stages, stage_code, list(stage_names))]


@dataclass
class _Kinds:
    """The tasks of each kind the deals call for that Tasks lacks, as rows."""

    deals: pd.DataFrame
    prefix: np.ndarray  # each deal's cause prefix: pipeline/ID/stage#entry
    existing: AbstractSet[str]
    now: datetime

    def alerts(self) -> list[dict[str, object]]:
        """A task for each deal that turns Hot, Stalled, At risk or Dead."""
        health, why = self.deals["health"].to_numpy(dtype=object), self.deals["why"].to_numpy()
        out = []
        for kind, template in ALERTS.items():
            hit = health == kind.capitalize()
            if hit.any():

                def alert(at: np.ndarray, template: str = template, kind: str = kind) -> list[str]:
                    return [template.format(why=w or kind) for w in why[at]]

                out += self.rows(hit, f"/{kind}", kind, alert, self.today)
        return out

    def playbooks(
        self, pipeline: str, stages: Stages, stage_code: np.ndarray, stage_names: list
    ) -> list[dict[str, object]]:
        """The playbook's actions of the stage each deal is in, due from its entry."""
        folded = [str(name).casefold() for name in stage_names]
        out = []
        for stage in stages.of(pipeline):
            key = cells.norm(stage.name)
            in_stage = np.isin(stage_code, [i for i, name in enumerate(folded) if name == key])
            if not stage.playbook or not in_stage.any():
                continue
            for i, action in enumerate(stage.playbook, start=1):

                def due(at: np.ndarray, days: int = action.due_days) -> list[date]:
                    entered = self.deals["in_since"].iloc[at].dt.normalize()
                    return list((entered + pd.Timedelta(days=days)).dt.date)

                def what(at: np.ndarray, text: str = action.text) -> list[str]:
                    return [text] * len(at)

                out += self.rows(in_stage, f"/playbook-{i}", "playbook", what, due)
        return out

    def today(self, at: np.ndarray) -> list[date]:
        return [self.now.date()] * len(at)

    def rows(
        self,
        hit: np.ndarray,
        suffix: str,
        kind: str,
        task: Callable[[np.ndarray], list[str]],
        due: Callable[[np.ndarray], list[date]],
    ) -> list[dict[str, object]]:
        """The tasks of one kind that Tasks lacks; text and due are made for those only."""
        at = np.flatnonzero(hit)
        wanted = np.fromiter(
            map(operator.add, self.prefix.take(at), repeat(suffix)), dtype=object, count=len(at)
        )
        known = np.fromiter(map(self.existing.__contains__, wanted), dtype=bool, count=len(at))
        if known.all():
            return []
        at, fresh = at[~known], wanted[~known].tolist()
        picked = self.deals.iloc[at]
        owners, names = cells.texts(picked["owner"]), cells.texts(picked["deal"])
        return [
            {"Task ID": task_id, "Created": self.now, "Due": when, "Owner": owner,
             "Deal ID": deal_id, "Deal": deal, "Task": text, "Kind": kind, "Done": "No"}
            for task_id, owner, deal_id, deal, text, when in zip(
                fresh, owners, picked["id"], names, task(at), due(at), strict=True)
        ]  # fmt: skip
