"""The Team tab and round-robin: who gets the next new deal, and why.

The rotation keeps no state of its own. Each assignment is recorded where people see it
(an intake row's status says "round-robin, turn 18"), and the next cycle starts from the
highest turn the sheet holds; so a restart, a crash or a second machine continues it.
Only a turn in the exact words sheetpipe writes for an assignment counts (core/deals/intake.py
reads them), and only up to MAX_TURN: a "turn 99999" typed into a form or a note is no turn.

A turn is a slot in one lap of the Team list, each member in it as often as their
Weight (2 gets twice the leads of 1), spread out by smooth weighted round-robin (the
order nginx uses: A A B with weights 2 and 1 becomes A B A). A turn whose member cannot
take a deal (inactive, out today, another pipeline, at capacity) passes to the next.

Limits: editing the Team tab (order, weights) re-deals the lap from the next turn on;
turns are counted per sheet, not per pipeline.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sheetpipe.core.sheet.cells import norm, number, parse_date, plural, text, yes
from sheetpipe.core.sheet.table import Table
from sheetpipe.model import Problem

MAX_WEIGHT = 100
# An assignment's reason as written (next_owner) and as read back: the turn, from 1 to
# MAX_TURN (nine digits: a billion deals handed out); a longer number is no turn sheetpipe
# wrote, and a turn is never written with a leading 0.
MAX_TURN = 999_999_999
TURN_WORDS = "round-robin, turn {turn}"
TURN_PATTERN = r"round-robin, turn ([1-9][0-9]{0,8})"
MAX_TURN_TEXT = 1000  # what sheetpipe writes for an assignment is a line; a longer cell is not it


@dataclass(frozen=True)
class Member:
    name: str
    email: str
    pipelines: frozenset[str]  # norm(tab names); empty: every pipeline
    active: bool
    out_from: date | None
    out_until: date | None
    weight: int
    capacity: int | None  # open deals at most; None: no limit

    def works_on(self, pipeline: str) -> bool:
        return not self.pipelines or norm(pipeline) in self.pipelines

    def away_on(self, day: date) -> bool:
        """On leave that day: from Out from (or always) until Out until (or for good)."""
        if self.out_from is None and self.out_until is None:
            return False
        starts = self.out_from is None or self.out_from <= day
        ends = self.out_until is None or day <= self.out_until
        return starts and ends


def read_team(table: Table | None, date_order: str) -> tuple[list[Member], list[Problem]]:
    """Every named member, in the tab's order; a bad cell is reported and read as blank."""
    problems: list[Problem] = []
    if table is None or not table.has("Name"):
        return [], problems
    members = []
    for row, name in table.column("Name").stripped().items():
        if not name:
            continue
        cell = _Cells(table, row, date_order, problems)
        members.append(
            Member(
                name=name,
                email=text(table.get("Email")[row]).strip(),
                pipelines=frozenset(
                    norm(p) for p in text(table.get("Pipelines")[row]).split(",") if p.strip()
                ),
                active=cell.yes_no("Active", default=True),
                out_from=cell.day("Out from"),
                out_until=cell.day("Out until"),
                weight=cell.whole("Weight", 1, 0, MAX_WEIGHT),
                capacity=cell.whole("Capacity", None, 0, 1_000_000),
            )
        )
    return members, problems


@dataclass
class _Cells:
    """One Team row's cells, each checked; a bad one is reported and counts as blank."""

    table: Table
    row: int
    date_order: str
    problems: list[Problem]

    def _raw(self, column: str) -> object:
        return self.table.get(column)[self.row]

    def _report(self, column: str, message: str) -> None:
        self.problems.append(Problem(self.table.where(self.row, column), message, "warning"))

    def yes_no(self, column: str, default: bool) -> bool:
        raw = self._raw(column)
        if not text(raw).strip():
            return default
        found = yes(raw)
        if found is None:
            self._report(column, f'{column} "{text(raw)}" is neither Yes nor No; read as Yes.')
            return default
        return found

    def day(self, column: str) -> date | None:
        raw = self._raw(column)
        if not text(raw).strip():
            return None
        found = parse_date(raw, self.date_order, self.table.serial_numbers)
        if found is None:
            self._report(
                column,
                f'{column} "{text(raw)}" is not a date; type it like '
                "2026-11-26. Until then it counts as empty.",
            )
        return found

    def whole(self, column: str, default: int | None, low: int, high: int) -> int | None:
        raw = self._raw(column)
        if not text(raw).strip():
            return default
        found = number(raw)
        if found is None or not found.is_integer() or not low <= found <= high:
            shown = "no limit" if default is None else str(default)
            self._report(
                column,
                f'{column} "{text(raw)}" must be a whole number from {low} '
                f"to {high}; using {shown}.",
            )
            return default
        return int(found)


def lap(members: Iterable[Member]) -> list[Member]:
    """One lap of the rotation: each member as often as their weight, spread out."""
    weighted = [m for m in members if m.weight > 0]
    credit = {m.name: 0 for m in weighted}
    total = sum(m.weight for m in weighted)
    order: list[Member] = []
    for _ in range(total):
        for m in weighted:
            credit[m.name] += m.weight
        chosen = max(weighted, key=lambda m: credit[m.name])  # the first of equals
        credit[chosen.name] -= total
        order.append(chosen)
    return order


def last_turn(texts: Iterable[str], pattern: re.Pattern[str]) -> int:
    """The highest turn of the texts `pattern` matches whole (its group 1 is the turn; 0
    when none does): texts in the form sheetpipe writes for an assignment, nothing else."""
    found = (pattern.fullmatch(t) for t in texts if len(t) <= MAX_TURN_TEXT)
    return max((int(m.group(1)) for m in found if m is not None), default=0)


class RoundRobin:
    """Hands out owners for one cycle, counting what it has handed out so far."""

    def __init__(self, members: list[Member], open_deals: Counter[str], turn: int, today: date):
        self.members = members
        self.by_name = {norm(m.name): m for m in members}
        self.lap = lap(members)
        self.open_deals = open_deals  # norm(owner) → open deals, this cycle's included
        self.turn = turn  # the last turn taken
        self.today = today

    def can_take(self, member: Member, pipeline: str) -> bool:
        return self.why_not(member, pipeline) is None

    def why_not(self, member: Member | None, pipeline: str) -> str | None:
        """Why this member cannot take a new deal of `pipeline` today, said in words (after
        their name); None when they can."""
        if member is None:
            return "is not in Team"
        if not member.active:
            return "is not active in Team"
        if member.away_on(self.today):
            back = member.out_until
            return f"is out until {back.isoformat()}" if back else "is out"
        if not member.works_on(pipeline):
            return f"does not work on {pipeline}"
        held = self.open_deals[norm(member.name)]
        if member.capacity is not None and held >= member.capacity:
            deals = plural(held, "open deal")
            return f"is at capacity: {deals}, Capacity {member.capacity}"
        return None

    def next_owner(self, pipeline: str) -> tuple[str, str] | None:
        """(owner, why) for the next turn someone can take; None when nobody can."""
        for step in range(1, len(self.lap) + 1):
            member = self.lap[(self.turn + step - 1) % len(self.lap)]
            if self.can_take(member, pipeline):
                self.turn += step
                self.give(member.name)
                return member.name, TURN_WORDS.format(turn=self.turn)
        return None

    def give(self, owner: str) -> None:
        self.open_deals[norm(owner)] += 1
