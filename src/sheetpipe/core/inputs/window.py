"""When a nurture e-mail may leave: the send window (days, hours, public holidays) and
the waits between a sequence's steps, all in the sheet's wall-clock time.

Times here are naive and sheet-local (core/cycle.py: local_now), so "Monday 09:00" is
09:00 on the sheet's clocks whether or not daylight saving changed over the weekend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import holidays

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
UNITS = {"day": "days", "days": "days", "business day": "business days",
         "business days": "business days", "working day": "business days",
         "working days": "business days", "hour": "hours", "hours": "hours"}  # fmt: skip
_WAIT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z ]+?)\s*$", re.I)
_HOURS = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*(?:-|–|to)\s*(\d{1,2})(?::(\d{2}))?\s*$")


@dataclass(frozen=True)
class Wait:
    """How long a step waits after the one before it (after enrolment, for step 1)."""

    amount: float
    unit: str  # days, business days or hours

    def __str__(self) -> str:
        return f"{self.amount:g} {self.unit}"


def parse_wait(text: str) -> Wait | None:
    """`2 days`, `3 business days`, `4 hours`; None when it is none of those."""
    found = _WAIT.match(text.casefold())
    unit = UNITS.get(" ".join(found.group(2).split())) if found else None
    if found is None or unit is None:
        return None
    amount = float(found.group(1))
    return Wait(amount, unit) if unit != "business days" or amount.is_integer() else None


def parse_days(text: str) -> frozenset[int] | None:
    """`Mon-Fri`, `Mon, Wed, Fri`, `Mon-Sun`: weekday numbers (Monday 0); None if unreadable."""
    days: set[int] = set()
    for part in filter(None, (p.strip().casefold() for p in text.split(","))):
        ends = [e.strip()[:3] for e in re.split(r"\s*(?:-|–|to)\s*", part)]
        if len(ends) > 2 or any(e not in DAY_NAMES for e in ends):
            return None
        first, last = DAY_NAMES.index(ends[0]), DAY_NAMES.index(ends[-1])
        days.update(range(first, last + 1) if first <= last else [*range(first, 7),
                                                                    *range(last + 1)])  # fmt: skip
    return frozenset(days) or None


def parse_hours(text: str) -> tuple[time, time] | None:
    """`09:00-17:00` (the end excluded); None if unreadable or empty."""
    found = _HOURS.match(text)
    if found is None:
        return None
    h1, m1, h2, m2 = (int(g or 0) for g in found.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2, m2) > (24, 0):
        return None
    start, end = time(h1, m1), time(0) if h2 == 24 else time(h2, m2)
    return (start, end) if end == time(0) or end > start else None


@dataclass(frozen=True)
class SendWindow:
    """The days and hours e-mails to leads may leave, less a country's public holidays."""

    days: frozenset[int] = frozenset(range(5))
    start: time = time(9)
    end: time = time(17)  # excluded; time(0): until midnight
    country: str = ""
    _holidays: dict = field(default_factory=dict, compare=False, repr=False)

    def is_holiday(self, day: date) -> bool:
        if not self.country:
            return False
        if day.year not in self._holidays:
            self._holidays[day.year] = holidays.country_holidays(self.country, years=day.year)
        return day in self._holidays[day.year]

    def sends_on(self, day: date) -> bool:
        return day.weekday() in self.days and not self.is_holiday(day)

    def is_open(self, at: datetime) -> bool:
        ends = self.end if self.end != time(0) else time.max
        return self.sends_on(at.date()) and self.start <= at.time() < ends

    def next_open(self, at: datetime) -> datetime:
        """`at` if the window is open then, else the moment it next opens."""
        if self.is_open(at):
            return at
        day = at.date() if at.time() < self.start else at.date() + timedelta(days=1)
        for _ in range(3 * 366):  # a window that never opens is refused by Settings
            if self.sends_on(day):
                return datetime.combine(day, self.start)
            day += timedelta(days=1)
        raise ValueError("the send window never opens")

    def after(self, start: datetime, wait: Wait) -> datetime:
        """When a step that waits `wait` after `start` goes: the wait, then the window."""
        if wait.unit == "hours":
            return self.next_open(start + timedelta(hours=wait.amount))
        if wait.unit == "days":
            return self.next_open(start + timedelta(days=wait.amount))
        day, left = start.date(), int(wait.amount)
        while left:
            day += timedelta(days=1)
            left -= self.sends_on(day)
        return self.next_open(datetime.combine(day, start.time()))
