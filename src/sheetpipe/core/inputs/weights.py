"""The Weights tab → validated scoring rules. A broken row is reported and skipped."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sheetpipe.core.sheet.cells import norm, number, text
from sheetpipe.core.sheet.table import Table
from sheetpipe.model import Problem

RULES = (
    "is", "is not", "contains", "one of", "between", ">", ">=", "<", "<=",
    "is set", "is empty", "is yes", "per", "within days", "older than days",
)  # fmt: skip
ALIASES = {"=": "is", "==": "is", "!=": "is not", "<>": "is not", "≥": ">=", "≤": "<="}
NO_VALUE = frozenset({"is set", "is empty", "is yes"})
NUMERIC = frozenset({">", ">=", "<", "<=", "within days", "older than days"})
_BETWEEN = re.compile(r"^\s*(-?[\d.,]+)\s*(?:-|–|—|to|and|\.\.)\s*(-?[\d.,]+)\s*$", re.I)


@dataclass(frozen=True)
class Rule:
    row: int  # sheet row in Weights, for messages and explanations
    field: str  # norm(column name)
    label: str  # the column name as the manager wrote it
    kind: str  # one of RULES
    value: str  # the Value cell as text
    points: float
    cap: float | None
    operand: float | tuple[float, float] | frozenset[str] | str | None = None

    def describe(self) -> str:
        value = "" if self.kind in NO_VALUE else f" {self.value}"
        return f"{self.label} {self.kind}{value}"


def parse_weights(
    table: Table | None, fields: Iterable[str], decimal: str = "."
) -> tuple[list[Rule], list[Problem]]:
    """Rules from the Weights tab. `fields` are the column names pipeline tabs have;
    `decimal` is the sheet's decimal separator."""
    if table is None:
        return [], []
    known_fields = {norm(f) for f in fields}
    rules: list[Rule] = []
    problems = list(table.problems)
    for row in table.index:
        rule, problem = _parse_row(table, row, known_fields, decimal)
        if problem:
            problems.append(problem)
        if rule:
            rules.append(rule)
    return rules, problems


def _parse_row(
    table: Table, row: int, fields: set[str], decimal: str
) -> tuple[Rule | None, Problem | None]:
    label = text(table.get("Field")[row]).strip()
    kind_raw = text(table.get("Rule")[row]).strip()
    value = text(table.get("Value")[row]).strip()
    points_raw = table.get("Points")[row]
    cap_raw = table.get("Max points")[row]
    if not label and not kind_raw and not value and not text(points_raw).strip():
        return None, None  # an empty line between groups of rules

    def problem(column: str, message: str) -> tuple[None, Problem]:
        return None, Problem(table.where(row, column), message + "; this rule is skipped.")

    if not label:
        return problem("Field", "the rule names no Field (a column of a pipeline tab)")
    if norm(label) not in fields:
        return problem("Field", f'no pipeline tab has a column "{label}"')
    kind = ALIASES.get(kind_raw, norm(kind_raw))
    if kind not in RULES:
        return problem("Rule", f'rule "{kind_raw}" is not one of: {", ".join(RULES)}')
    points = number(points_raw, decimal)
    if points is None:
        return problem("Points", f'points "{text(points_raw)}" is not a number')
    cap = number(cap_raw, decimal)
    if text(cap_raw).strip() and (cap is None or cap < 0):
        return problem("Max points", f'max points "{text(cap_raw)}" is not a positive number')
    operand, message = _operand(kind, value, decimal)
    if message:
        return problem("Value", message)
    return Rule(row, norm(label), label, kind, value, points, cap, operand), None


def condition(
    label: str, kind_raw: str, value: str, fields: set[str], decimal: str = "."
) -> tuple[Rule | None, str]:
    """A rule of the Weights language written as three cells elsewhere (a sequence's
    condition, `Source contains web`): the rule, or what is wrong with it."""
    if norm(label) not in fields:
        return None, f'no pipeline tab has a column "{label}"'
    kind = ALIASES.get(kind_raw, norm(kind_raw))
    if kind not in RULES or kind == "per":
        return None, f'rule "{kind_raw}" is not one of: {", ".join(r for r in RULES if r != "per")}'
    operand, message = _operand(kind, value, decimal)
    if message:
        return None, message
    return Rule(0, norm(label), label, kind, value, 0, None, operand), ""


def _operand(kind: str, value: str, decimal: str) -> tuple[object, str | None]:
    if kind in NO_VALUE or kind == "per":
        return None, None
    if not value:
        return None, f'rule "{kind}" needs a Value'
    if kind in NUMERIC:
        found = number(value, decimal)
        if found is None:
            return None, f'value "{value}" is not a number, which "{kind}" needs'
        return found, None
    if kind == "between":
        match = _BETWEEN.match(value)
        low = number(match.group(1), decimal) if match else None
        high = number(match.group(2), decimal) if match else None
        if low is None or high is None:
            return None, f'value "{value}" is not a range like 50-200'
        return (min(low, high), max(low, high)), None
    if kind == "one of":
        options = frozenset(norm(v) for v in value.split(",") if norm(v))
        return options, None
    return norm(value), None
