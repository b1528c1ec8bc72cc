"""Tasks the playbooks and alerts call for, each with an ID derived from its cause.

The ID names the deal, the stage entry (the n-th time the deal entered that stage) and
the reason, so re-running a cycle, a crash or a retry can never append a task twice,
while a deal that comes back to a stage later gets fresh tasks.
"""

from __future__ import annotations

import re
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
    stage_slug = stages.map(slug)
    return f"{slug(pipeline)}/" + ids + "/" + stage_slug + "#" + entry.astype(str)


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

    def add(mask: pd.Series, suffix: str, kind: str, task: pd.Series, due: pd.Series) -> None:
        task_ids = prefix[mask] + suffix
        new = task_ids[~task_ids.isin(existing)]
        if new.empty:
            return
        existing.update(new)
        rows = deals.loc[new.index]
        for task_id, (_, row), text, when in zip(
            new, rows.iterrows(), task[new.index], due[new.index], strict=True
        ):
            out.append(
                {
                    "Task ID": task_id,
                    "Created": now,
                    "Due": when,
                    "Owner": row["owner"],
                    "Deal ID": row["id"],
                    "Deal": row["deal"],
                    "Task": text,
                    "Kind": kind,
                    "Done": "No",
                }
            )

    today = pd.Series(now.date(), index=deals.index, dtype=object)
    for kind, template in ALERTS.items():
        hit = deals["health"].eq(kind.capitalize())
        if hit.any():
            why = deals.loc[hit, "why"].where(deals.loc[hit, "why"].ne(""), kind)
            text = why.map(lambda w, t=template: t.format(why=w))
            add(hit, f"/{kind}", kind, text, today)

    stage_key = deals["stage"].str.strip().str.casefold()
    for stage in stages.of(pipeline):
        in_stage = stage_key.eq(stage.name.strip().casefold())
        if not stage.playbook or not in_stage.any():
            continue
        entered = deals.loc[in_stage, "in_since"].dt.normalize()
        for i, action in enumerate(stage.playbook, start=1):
            due = (entered + pd.Timedelta(days=action.due_days)).dt.date
            text = pd.Series(action.text, index=due.index, dtype=object)
            add(in_stage, f"/playbook-{i}", "playbook", text, due)
    return out
