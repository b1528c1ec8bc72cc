"""Deal IDs: fill the empty ones, and re-number a copied row that repeats one."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import pandas as pd

from sheetpipe.core.sheet.cells import norm
from sheetpipe.model import Problem

_NUMBERED = re.compile(r"^(?P<prefix>.+)-(?P<n>\d+)$")


def id_prefix(pipeline: str) -> str:
    letters = re.sub(r"[^A-Za-z]", "", pipeline)
    return (letters[:1] or "R").upper()


def assign_ids(
    pipeline: str,
    current: pd.Series,  # ID cells as trimmed text, index = sheet row
    deals: pd.Series,  # Deal names, to decide which copy keeps a duplicated ID
    known_names: Callable[[], dict[str, str]],  # ID → deal name in History (asked lazily)
    used_elsewhere: Iterable[str],  # IDs in History, so a deleted deal's ID is never reused
    where: Callable[[int], str],  # sheet row → address of its ID cell
) -> tuple[pd.Series, list[Problem]]:
    ids = current.copy()  # copied: new IDs are written into it
    problems: list[Problem] = []
    prefix = id_prefix(pipeline)
    counter: int | None = None  # found only when a new ID is needed: most cycles need none

    def fresh() -> str:
        nonlocal counter
        if counter is None:
            taken = set(ids[ids.ne("")]) | set(used_elsewhere)
            counter = max((_number(i, prefix) for i in taken), default=0)
        counter += 1
        return f"{prefix}-{counter:04d}"

    duplicated = ids.ne("") & ids.duplicated(keep=False)
    for value, rows in ids[duplicated].groupby(ids[duplicated]).groups.items():
        keeper = _keeper(list(rows), deals, known_names().get(value))
        for row in rows:
            if row == keeper:
                continue
            ids[row] = fresh()
            problems.append(
                Problem(
                    where(row),
                    f"ID {value} is also on row {keeper} (a copied row?); this row got the "
                    f"new ID {ids[row]}.",
                    "warning",
                )
            )
    for row in ids.index[ids.eq("")]:
        ids[row] = fresh()
    return ids, problems


def _number(value: str, prefix: str) -> int:
    match = _NUMBERED.match(value)
    if match and match.group("prefix") == prefix:
        return int(match.group("n"))
    return 0


def _keeper(rows: list[int], deals: pd.Series, known_name: str | None) -> int:
    """The row that keeps a repeated ID: the one History knows by name, else the first."""
    if known_name:
        want = norm(known_name)
        for row in rows:
            if norm(deals[row]) == want:
                return row
    return min(rows)
