"""Which daemon-owned cells need writing: the desired values against what the sheet holds.

Most cells of an owned column hold exactly what the daemon wrote last time. So each
column is first compared in one C-level equality pass, against the desired values in the
form the sheet's backend hands cells over (text, whole numbers, dates as the backend
reads them); only the cells that differ there are read the way people type.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import numpy as np
import pandas as pd

from sheetpipe.core.sheet import cells
from sheetpipe.core.sheet.table import Table


def differs(table: Table, column: str, desired: pd.Series, kind: str) -> pd.Series:
    """True where the sheet's cell does not already hold the desired value.

    `kind` is "text", "int" or "date"; `desired` is indexed by sheet row.
    """
    current = table.get(column)
    if not desired.index.equals(current.index):  # some rows have no Stage
        current = current[desired.index]
    want = _as_cells(table, column, desired, kind)
    if want is None:
        return _read_differs(current, desired, kind, table.serial_numbers)
    have = current.to_numpy(dtype=object)
    same = have == want
    if kind == "text":  # an empty cell reads as None where "" is desired
        maybe = np.flatnonzero(~same)
        maybe = maybe[want[maybe] == ""]
        same[maybe] = pd.isna(have[maybe])
    if kind == "int":
        # True == 1 and False == 0: a ticked box in Score is not the number 1.
        maybe = np.flatnonzero(same & np.isin(desired.to_numpy(dtype=float), (0.0, 1.0)))
        same[maybe[[type(v) is bool for v in have[maybe]]]] = False
    out = np.zeros(len(same), dtype=bool)
    rest = np.flatnonzero(~same)
    if len(rest):
        found = _read_differs(current.iloc[rest], desired.iloc[rest], kind, table.serial_numbers)
        out[rest] = found.to_numpy()
    return pd.Series(out, index=desired.index)


def _as_cells(table: Table, column: str, desired: pd.Series, kind: str) -> np.ndarray | None:
    """The desired values as the backend would hand the cells over; None if unknown."""
    if not table.has(column):
        return None
    if kind == "text":
        return desired.to_numpy(dtype=object)  # "" for an empty cell: see `differs`
    codes, distinct = pd.factorize(desired, use_na_sentinel=True)  # few distinct values
    if kind == "int":
        return np.array([*(int(v) for v in distinct), None], dtype=object).take(codes)
    form = DATE_FORMS[table.date_cells]
    return np.array([*(form(pd.Timestamp(v)) for v in distinct), None], dtype=object).take(codes)


# A desired date as the backend hands a date cell over (Snapshot.date_cells). A cell in
# another form (a date typed as text) differs here and is then read as people type.
DATE_FORMS: dict[str, Callable[[pd.Timestamp], object]] = {
    "date": lambda t: date(t.year, t.month, t.day),
    "datetime": lambda t: datetime(t.year, t.month, t.day),
    "serial": lambda t: cells.serial(t.to_pydatetime()),
}


def _read_differs(
    current: pd.Series, desired: pd.Series, kind: str, serial_numbers: bool
) -> pd.Series:
    if kind == "text":
        return cells.texts(current).ne(desired.fillna(""))
    if kind == "int":
        have = cells.numbers(current)
        want = desired.astype(float)
        return ~((have == want) | (have.isna() & want.isna()))
    have = cells.dates(current, serial_numbers=serial_numbers)
    want = desired
    return ~((have == want) | (have.isna() & want.isna()))


def python_values(values: pd.Series, kind: str) -> list[object]:
    """Plain Python values for backends: int, str, date or None."""
    if kind == "int":
        return [None if pd.isna(v) else int(v) for v in values]
    if kind == "date":
        return [None if pd.isna(v) else date(v.year, v.month, v.day) for v in values]
    return [str(v) for v in values]
