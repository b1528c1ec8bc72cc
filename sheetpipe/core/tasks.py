"""Tasks the playbooks and alerts call for, each with an ID derived from its cause.

The ID names the deal, the stage entry (the n-th time the deal entered that stage) and
the reason, so re-running a cycle, a crash or a retry can never append a task twice,
while a deal that comes back to a stage later gets fresh tasks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

import pandas as pd

from sheetpipe.core.stages import Stages

ALERTS = {
    "stalled": "Deal stalled: {why}. Get it moving or update its stage.",
    "dead": "Close it or move it to nurture: {why}.",
    "hot": "Call now: {why}.",
}


def slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.casefold()).strip("-")


def cause_prefix(pipeline: str, ids: pd.Series, stages: pd.Series, entry: pd.Series) -> pd.Series:
    """'deals/D-0007/proposal#2': this deal's second entry into Proposal."""
    slugs = {s: slug(s) for s in stages.unique()}
    head = slug(pipeline)
    # Plain lists: iterating pandas Series element by element costs several times more.
    return pd.Series(
        [
            f"{head}/{i}/{slugs[s]}#{e}"
            for i, s, e in zip(ids.tolist(), stages.tolist(), entry.tolist(), strict=True)
        ],
        index=ids.index,
        dtype=object,
    )


def plan_tasks(
    *,
    pipeline: str,
    deals: pd.DataFrame,  # id, deal, owner, stage (as written), entry, in_since, health, why
    stages: Stages,
    existing: set[str],
    now: datetime,
) -> list[dict[str, object]]:
    """Rows to append to Tasks (as contract column → value), skipping IDs already there.

    Vectorised: every cycle derives the IDs of all tasks the sheet should hold, and only
    the few that are not in Tasks yet become rows.
    """
    if deals.empty:
        return []
    prefix = cause_prefix(pipeline, deals["id"], deals["stage"], deals["entry"])
    out: list[dict[str, object]] = []

    def add(
        mask: pd.Series,
        suffix: str,
        kind: str,
        task: Callable[[pd.Index], pd.Series],
        due: Callable[[pd.Index], pd.Series],
    ) -> None:
        """Append the tasks of one kind that Tasks lacks; text and due are made for those only."""
        hit = mask.to_numpy(dtype=bool)
        candidates = zip(prefix.index[hit].tolist(), prefix.to_numpy()[hit].tolist(), strict=True)
        fresh = [(r, p + suffix) for r, p in candidates if p + suffix not in existing]
        if not fresh:
            return
        rows = pd.Index([r for r, _ in fresh])
        existing.update(t for _, t in fresh)
        picked = deals.loc[rows]
        for (_, task_id), owner, deal_id, deal, text, when in zip(
            fresh, picked["owner"], picked["id"], picked["deal"], task(rows), due(rows), strict=True
        ):
            out.append(
                {
                    "Task ID": task_id,
                    "Created": now,
                    "Due": when,
                    "Owner": owner,
                    "Deal ID": deal_id,
                    "Deal": deal,
                    "Task": text,
                    "Kind": kind,
                    "Done": "No",
                }
            )

    def today(rows: pd.Index) -> pd.Series:
        return pd.Series(now.date(), index=rows, dtype=object)

    for kind, template in ALERTS.items():
        hit = deals["health"].eq(kind.capitalize())
        if hit.any():

            def alert(rows: pd.Index, template: str = template, kind: str = kind) -> pd.Series:
                why = deals.loc[rows, "why"]
                return why.where(why.ne(""), kind).map(lambda w: template.format(why=w))

            add(hit, f"/{kind}", kind, alert, today)

    stage_key = deals["stage"].map(str.casefold)
    for stage in stages.of(pipeline):
        in_stage = stage_key.eq(stage.name.strip().casefold())
        if not stage.playbook or not in_stage.any():
            continue
        for i, action in enumerate(stage.playbook, start=1):

            def due(rows: pd.Index, days: int = action.due_days) -> pd.Series:
                entered = deals.loc[rows, "in_since"].dt.normalize()
                return (entered + pd.Timedelta(days=days)).dt.date

            def what(rows: pd.Index, text: str = action.text) -> pd.Series:
                return pd.Series(text, index=rows, dtype=object)

            add(in_stage, f"/playbook-{i}", "playbook", what, due)
    return out
