"""Lead scores: every Weights rule evaluated over a whole pipeline column at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from sheetpipe.core.inputs.settings import Settings
from sheetpipe.core.inputs.weights import Rule
from sheetpipe.core.sheet import cells
from sheetpipe.core.sheet.table import Rows

# How a rule reads its field; the date order is the sheet's (Settings).
READINGS: dict[str, Callable[[cells.Column, Columns], Any]] = {
    "norm": lambda column, cols: column.norms(),
    "stripped": lambda column, cols: column.stripped(),
    "codes": lambda column, cols: column.codes(),
    "number": lambda column, cols: column.numbers(cols.decimal),
    "blank": lambda column, cols: column.blank(),
    "yes": lambda column, cols: column.yeses(),
    "date": lambda column, cols: column.dates(cols.date_order),
}


class Columns:
    """A pipeline's columns, read once per kind however many rules read them.

    `source` is some rows of a Table (whose columns' readings the whole cycle shares), or
    a DataFrame keyed by case-folded column names (`serial_numbers` as for Column).
    """

    def __init__(
        self,
        source: Rows | pd.DataFrame,
        date_order: str,
        decimal: str = ".",
        serial_numbers: bool = False,
    ):
        self.source = source
        self.index = source.index
        self.date_order = date_order
        self.decimal = decimal
        self.serial_numbers = serial_numbers
        self._cache: dict[tuple[str, str], Any] = {}
        self._columns: dict[str, cells.Column] = {}

    def raw(self, field: str) -> pd.Series:
        found = self.source.get(field, None)
        return self._empty() if found is None else found

    def has(self, field: str) -> bool:
        return self.source.get(field, None) is not None

    def get(self, field: str, kind: str) -> Any:
        """The field read as `kind` (see READINGS) for these rows."""
        key = (field, kind)
        if key not in self._cache:
            read = READINGS[kind]
            source = self.source
            if isinstance(source, Rows) and source.table.has(field):
                whole = read(source.table.column(field), self)
                self._cache[key] = source.pick(whole)
            else:
                if field not in self._columns:
                    self._columns[field] = cells.Column(self.raw(field), self.serial_numbers)
                self._cache[key] = read(self._columns[field], self)
        return self._cache[key]

    def _empty(self) -> pd.Series:
        return pd.Series(None, index=self.index, dtype=object)


def rule_points(rule: Rule, cols: Columns, today: date) -> pd.Series:
    """Points each deal gets from one rule (0.0 where it does not match)."""
    return pd.Series(_points(rule, cols, today), index=cols.index)


def _points(rule: Rule, cols: Columns, today: date) -> np.ndarray:
    # numpy, not pandas, from here: thirty rules of small pandas operations would cost
    # more in per-call overhead than in arithmetic on a sheet of a thousand deals.
    if rule.kind == "per":
        raw = np.nan_to_num(cols.get(rule.field, "number").to_numpy(dtype=float)) * rule.points
    else:
        raw = _matches(rule, cols, today).to_numpy(dtype=bool) * float(rule.points)
    # The cap bounds a rule's size either way, so a negative rule cannot sink a score
    # further than its manager allowed.
    return raw if rule.cap is None else np.clip(raw, -rule.cap, rule.cap)


def matches(rule: Rule, cols: Columns, today: date) -> pd.Series:
    """Where the rule holds (a sequence's condition, core/deals/nurture.py)."""
    return _matches(rule, cols, today)


def _matches(rule: Rule, cols: Columns, today: date) -> pd.Series:
    kind, op, field = rule.kind, rule.operand, rule.field
    if kind in ("is", "is not", "contains", "one of"):
        # Text rules test each distinct value once, then spread the answer by code.
        codes, texts = cols.get(field, "codes")
        if kind == "contains":
            hits = [str(op) in t for t in texts]
        elif kind == "one of":
            hits = [t in op for t in texts]  # type: ignore[operator]
        else:
            hits = [t == op for t in texts]
        same = pd.Series(np.asarray(hits + [False], dtype=bool)[codes], index=cols.index)
        as_number = cells.number(op, cols.decimal) if kind in ("is", "is not") else None
        if as_number is not None:
            same |= cols.get(field, "number").eq(as_number)
        return ~same if kind == "is not" else same
    if kind == "between":
        low, high = op  # type: ignore[misc]
        return cols.get(field, "number").between(low, high)
    if kind in (">", ">=", "<", "<="):
        values = cols.get(field, "number")
        compare = {">": values.gt, ">=": values.ge, "<": values.lt, "<=": values.le}[kind]
        return compare(op)
    if kind == "is set":
        return ~cols.get(field, "blank")
    if kind == "is empty":
        return cols.get(field, "blank")
    if kind == "is yes":
        return cols.get(field, "yes")
    days = (pd.Timestamp(today) - cols.get(field, "date")).dt.days
    if kind == "within days":
        # Both ways: "Last contact within 7 days" looks back, "Expected close within
        # 30 days" looks ahead.
        return days.abs().le(op)
    if kind == "older than days":
        return days.gt(op)
    raise ValueError(f"unknown rule kind {kind!r}")  # parse_weights never lets one through


def score(cols: Columns, rules: list[Rule], today: date, settings: Settings) -> pd.Series:
    """Whole-number scores, the sum of matching rules clamped to the Settings range."""
    total = np.zeros(len(cols.index))
    for rule in rules:
        total += _points(rule, cols, today)
    clamped = np.clip(total, settings.score_min, settings.score_max)
    # Round half up, as people expect (numpy rounds half to even).
    return pd.Series(np.floor(clamped + 0.5).astype(int), index=cols.index)


def lead_status(scores: pd.Series, settings: Settings) -> pd.Series:
    status = pd.Series("Cold", index=scores.index, dtype=object)
    status[scores >= settings.mql_threshold] = "MQL"
    status[scores >= settings.sql_threshold] = "SQL"
    status[scores < settings.nurture_below] = "Nurture"
    return status


def explain(cols: Columns, rules: list[Rule], row: int, today: date) -> list[tuple[Rule, float]]:
    """The rules that gave one deal points, with the points each gave."""
    fields = {rule.field for rule in rules}
    frame = pd.DataFrame({f: cols.raw(f)[[row]] for f in fields})
    single = Columns(frame, cols.date_order, cols.decimal, cols.serial_numbers)
    found = []
    for rule in rules:
        points = float(rule_points(rule, single, today).iloc[0])
        if points:
            found.append((rule, points))
    return found
