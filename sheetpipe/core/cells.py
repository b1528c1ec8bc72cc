"""Small pure helpers that read spreadsheet cell values the way people type them.

A cell can arrive as a str, int, float, bool, datetime/date (xlsx), a serial day number
(Google's UNFORMATTED_VALUE) or None. Every helper here accepts all of them; the
vectorised ones work on a whole pandas column at once because they run per deal.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

# Spreadsheets (Excel, LibreOffice, Google) count days from 1899-12-30.
SERIAL_EPOCH = datetime(1899, 12, 30)
YES_WORDS = frozenset({"yes", "y", "true", "1", "x", "✓", "✔", "☑", "checked"})
NO_WORDS = frozenset({"no", "n", "false", "0", "☐", "unchecked", "none"})
DATE_ORDERS = ("DMY", "MDY", "YMD")
_NUMBER_NOISE = re.compile(r"[\s$€£¥,\u00a0]")
_FORMULA_LEAD = ("=", "+", "-", "@")


def norm(value: Any) -> str:
    """Text for matching: trimmed and case-folded (the contract's matching rule)."""
    return text(value).strip().casefold()


def is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def text(value: Any) -> str:
    """The text a person would see for a cell (whole floats without '.0')."""
    if is_blank(value):
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        if value.hour == value.minute == value.second == 0:
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def number(value: Any) -> float | None:
    """A number from a cell, accepting '1,200', '$ 50' and '12%' (→ 12); None if not one."""
    if isinstance(value, bool) or is_blank(value):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        cleaned = _NUMBER_NOISE.sub("", value).removesuffix("%")
        try:
            result = float(cleaned)
        except ValueError:
            return None
        return result if math.isfinite(result) else None
    return None


def yes(value: Any) -> bool | None:
    """True/False for yes-like and no-like cells (checkboxes included); None otherwise."""
    if isinstance(value, bool):
        return value
    if is_blank(value):
        return None
    word = norm(value)
    if word in YES_WORDS:
        return True
    if word in NO_WORDS:
        return False
    return None


def parse_date(value: Any, order: str = "DMY") -> date | None:
    """A calendar date from a cell; None when the cell is blank or cannot be a date."""
    if is_blank(value) or isinstance(value, bool):
        return None
    parsed = dates(pd.Series([value], dtype=object), order).iloc[0]
    return None if pd.isna(parsed) else parsed.date()


def serial_to_datetime(serial: float) -> datetime:
    return SERIAL_EPOCH + timedelta(days=serial)


def col_letter(index: int) -> str:
    """1 → A, 27 → AA (spreadsheet column letters)."""
    if index < 1:
        raise ValueError(f"column index must be >= 1, got {index}")
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def a1(tab: str, row: int, col: int) -> str:
    """A cell address as a person reads it in a problem report: Weights!D7."""
    quoted = tab if re.fullmatch(r"[A-Za-z0-9_]+", tab) else "'" + tab.replace("'", "''") + "'"
    return f"{quoted}!{col_letter(col)}{row}"


def looks_like_formula(value: Any) -> bool:
    """Text a spreadsheet would evaluate if typed in: it must be written as forced text."""
    return isinstance(value, str) and value.startswith(_FORMULA_LEAD)


# ---- vectorised forms ---------------------------------------------------------------


def blank_mask(col: pd.Series) -> pd.Series:
    """True where a cell is empty (None, NaN, or only spaces)."""
    as_text = col.where(col.map(type) == str, None)  # noqa: E721 (exact type: bool is not str)
    return col.isna() | as_text.fillna("x").str.strip().eq("")


def texts(col: pd.Series) -> pd.Series:
    """Display text of every cell (see `text`)."""
    if col.map(type).eq(str).all():
        return col.fillna("")
    return col.map(text).astype(object)


def norms(col: pd.Series) -> pd.Series:
    return texts(col).str.strip().str.casefold()


def numbers(col: pd.Series) -> pd.Series:
    """Float per cell, NaN where the cell is blank or not a number (bools are not numbers)."""
    kinds = col.map(type)
    out = pd.to_numeric(col.where(kinds.isin((int, float))), errors="coerce").astype(float)
    is_str = kinds.eq(str)
    if is_str.any():
        cleaned = col[is_str].str.replace(_NUMBER_NOISE, "", regex=True).str.removesuffix("%")
        out[is_str] = pd.to_numeric(cleaned, errors="coerce").astype(float)
    return out.where(~out.isin([math.inf, -math.inf]))


def yeses(col: pd.Series) -> pd.Series:
    """True where a cell is yes-like or a ticked checkbox."""
    return col.map(lambda v: v is True) | norms(col).isin(YES_WORDS)


def dates(col: pd.Series, order: str = "DMY") -> pd.Series:
    """datetime64 at midnight per cell; NaT where blank or not readable as a date."""
    return datetimes(col, order).dt.normalize()


def datetimes(col: pd.Series, order: str = "DMY") -> pd.Series:
    """datetime64 per cell, time of day kept; NaT where blank or not readable as a date.

    Accepts real dates, serial day numbers, ISO text (2026-03-04, with or without a
    time) and typed dates in the sheet's day/month order (04/03/2026, 4.3.26).
    """
    out = pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns]")
    kinds = col.map(type)
    is_dt = kinds.isin((datetime, date, pd.Timestamp))
    if is_dt.any():
        out[is_dt] = pd.to_datetime(col[is_dt].map(_as_datetime)).astype("datetime64[ns]")
    is_num = kinds.isin((int, float))
    if is_num.any():
        serial = pd.to_numeric(col[is_num], errors="coerce")
        # A serial outside 1900..2200 is a plain number, not a date.
        serial = serial.where((serial > 0) & (serial < 109575))
        out[is_num] = SERIAL_EPOCH + pd.to_timedelta(serial, unit="D")
    is_str = kinds.eq(str)
    if is_str.any():
        out[is_str] = _text_dates(col[is_str].str.strip(), order)
    return out


def _as_datetime(value: date) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime(value.year, value.month, value.day)


def _text_dates(col: pd.Series, order: str) -> pd.Series:
    iso = col.str.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?")
    out = pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns]")
    if iso.any():
        out[iso] = pd.to_datetime(col[iso], format="ISO8601", errors="coerce")
    rest = col[~iso & col.ne("")]
    if rest.empty:
        return out
    parts = rest.str.extract(r"^(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})(?:[ T].*)?$")
    first, second, third = (pd.to_numeric(parts[i], errors="coerce") for i in range(3))
    if order == "YMD":
        year, month, day = first, second, third
    elif order == "MDY":
        month, day, year = first, second, third
    else:
        day, month, year = first, second, third
    # Two-digit years mean this century, as spreadsheets read them.
    year = year.where(year >= 100, year + 2000)
    frame = pd.DataFrame({"year": year, "month": month, "day": day})
    numeric = pd.to_datetime(frame.dropna(), errors="coerce")
    out[numeric.index] = numeric
    # Words like "26 Nov 2026" or "Nov 26, 2026": rare, so per cell.
    words = rest[out[rest.index].isna() & rest.str.contains("[A-Za-z]", regex=True)]
    for idx, value in words.items():
        out[idx] = pd.to_datetime(value, errors="coerce", dayfirst=order == "DMY")
    return out
