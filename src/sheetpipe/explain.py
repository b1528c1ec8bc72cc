"""`sheetpipe explain`: how one deal's score adds up, and why its health is what it is."""

from __future__ import annotations

from dataclasses import dataclass

from sheetpipe.core.cycle import Plan
from sheetpipe.core.deals.scoring import explain as rule_points
from sheetpipe.core.sheet import cells
from sheetpipe.errors import UnknownDeal


@dataclass(frozen=True)
class Contribution:
    """One Weights rule that gave the deal points."""

    points: float
    rule: str  # as the rule reads: "Source is Referral"
    weights_row: int


@dataclass(frozen=True)
class Explanation:
    deal_id: str
    deal: str
    pipeline: str
    row: int  # the deal's sheet row
    stage: str
    contributions: list[Contribution]
    total: float  # the rules' sum, before the Settings range is applied
    score: int
    clamped_to: str | None  # "Score min" or "Score max" when the sum fell outside them
    lead_status: str
    health: str
    why: str
    came_in: tuple[str, ...] = ()  # the intake rows that made or reached it
    emails: tuple[str, ...] = ()  # the Outbox rows of its alerts, and those a sync would queue
    nurture: tuple[str, ...] = ()  # its enrolments in sequences, as a sync would leave them

    def lines(self) -> list[str]:
        head = f"{self.deal_id} {self.deal} ({self.pipeline} row {self.row}, {self.stage})"
        rules = [
            f"  {c.points:+g}  {c.rule}  (Weights row {c.weights_row})" for c in self.contributions
        ]
        health = f"Health: {self.health}" + (f": {self.why}" if self.why else "")
        came = [f"Came in: {line}" for line in self.came_in]
        mails = [f"E-mail: {line}" for line in self.emails]
        nurture = [f"Nurture: {line}" for line in self.nurture]
        return [head, *rules, f"  = {self._sum()} → {self.lead_status}", health, *came, *mails,
                *nurture]  # fmt: skip

    def _sum(self) -> str:
        if self.clamped_to is None:
            return f"score {self.score}"
        # Said out loud: "= score 0" under rules that add up to -14 reads like a bug.
        return f"{self.total:g}, clamped to {self.score} ({self.clamped_to})"


def explain_deal(plan: Plan, deal_id: str) -> Explanation:
    """The explanation of the deal whose ID is `deal_id` (any case), from a cycle's plan."""
    for pipeline in plan.pipelines:
        desired = pipeline.desired
        hits = desired.index[desired["ID"].str.casefold() == deal_id.strip().casefold()]
        if len(hits) == 0:
            continue
        row = int(hits[0])
        deal = desired.loc[row]
        assert pipeline.columns is not None  # a pipeline with deals has its columns
        found = rule_points(pipeline.columns, plan.rules, row, plan.now.date())
        total = sum(points for _, points in found)
        return Explanation(
            deal_id=cells.text(deal["ID"]),
            deal=cells.text(deal["Deal"]),
            pipeline=pipeline.name,
            row=row,
            stage=cells.text(deal["Stage"]),
            contributions=[Contribution(points, r.describe(), r.row) for r, points in found],
            total=total,
            score=int(deal["Score"]),
            clamped_to=_clamped(total, plan),
            lead_status=cells.text(deal["Lead status"]),
            health=cells.text(deal["Health"]),
            why=cells.text(deal["Why"]),
            came_in=tuple(plan.origins.get(cells.text(deal["ID"]).casefold(), ())),
            emails=tuple(plan.mails.get(cells.text(deal["ID"]).casefold(), ())),
            nurture=tuple(plan.enrolments.get(cells.text(deal["ID"]).casefold(), ())),
        )
    tabs = ", ".join(p.name for p in plan.pipelines)
    raise UnknownDeal(f"no deal has the ID {deal_id}; the IDs are in the ID column of {tabs}.")


def _clamped(total: float, plan: Plan) -> str | None:
    if total < plan.settings.score_min:
        return "Score min"
    if total > plan.settings.score_max:
        return "Score max"
    return None
