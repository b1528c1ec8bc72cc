"""Small pure helpers that read spreadsheet cell values the way people type them.

A cell can arrive as a str, int, float, bool, datetime/date (xlsx), a serial day number
(Google's UNFORMATTED_VALUE) or None. Every helper here accepts all of them; the
vectorised ones work on a whole pandas column at once because they run per deal.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

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
# These run over every deal each cycle, so each one first asks pandas (in C) what a
# column holds; only genuinely mixed columns fall back to a per-cell Python pass.

_NUMERIC = ("integer", "floating", "mixed-integer-float", "decimal")


def _kind(col: pd.Series) -> str:
    return infer_dtype(col, skipna=True)


def _series(values: list | np.ndarray, col: pd.Series, dtype: object = object) -> pd.Series:
    return pd.Series(values, index=col.index, dtype=dtype)


def _per_distinct(
    col: pd.Series,
    fn: Callable[[str], Any],
    blank: Any,
    dtype: object = object,
    bulk: Callable[[np.ndarray], np.ndarray] | None = None,
) -> pd.Series:
    """fn applied once per distinct text of a column of str (blanks get `blank`).

    Sheets repeat the same few values (stages, yes/no, industries) down a whole column,
    so this turns a per-cell Python pass into a per-value one. Only for str columns:
    hashing would merge True with 1 in a mixed one. A column of mostly distinct texts
    (IDs, names, e-mails), where hashing would only add work, goes to `bulk` instead:
    the same result from C-level passes over all its texts (blanks as "").
    """
    values = col.to_numpy(dtype=object)
    if _mostly_distinct(values):
        if bulk is not None:
            try:  # most such columns have no blank cell: no need to look for one first
                return _series(bulk(values), col, dtype)
            except TypeError:  # str.strip met a None or NaN
                pass
        missing = pd.isna(values)
        filled = np.where(missing, "", values) if missing.any() else values
        if bulk is not None:
            return _series(bulk(filled), col, dtype)
        return _series(
            [blank if m else fn(v) for v, m in zip(filled, missing, strict=True)], col, dtype
        )
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.empty(len(uniques) + 1, dtype=dtype)
    for i, value in enumerate(uniques):
        mapped[i] = fn(value)
    mapped[-1] = blank  # code -1
    return _series(mapped.take(codes), col, dtype)


def _trimmed(texts: np.ndarray) -> np.ndarray:
    """str.strip over an array of str, iterated in C (a third of a comprehension's cost)."""
    return np.fromiter(map(str.strip, texts), dtype=object, count=len(texts))


def _mostly_distinct(values: np.ndarray, sample: int = 2000) -> bool:
    if len(values) <= 4 * sample:
        return False
    picked = values[:: len(values) // sample]
    return len(pd.unique(picked)) > 0.5 * len(picked)


def codes(col: pd.Series, fold: bool = True) -> tuple[np.ndarray, list[str]]:
    """Each cell's matching text as an integer code, and the texts: rules compare codes.

    `fold=False` keeps the case: trimmed text as written (IDs, where d-1 is not D-1).
    Blank cells share the code of "".
    """
    if _kind(col) not in ("string", "empty"):
        found, uniques = pd.factorize((norms if fold else stripped)(col).to_numpy(dtype=object))
        return found, list(uniques)
    # One hash pass over the column; trimming, folding and re-coding touch only its
    # distinct values (" Won" and "won" share a code).
    raw, uniques = pd.factorize(col.to_numpy(dtype=object), use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    texts = _trimmed(uniques)
    if fold:
        texts = _folded(texts)
    if len(texts) and not (texts != uniques).any() and texts.all():
        # Already trimmed, folded and never blank (IDs written by sheetpipe): the codes
        # stand, and blanks get one more.
        return np.where(raw < 0, len(uniques), raw), [*texts.tolist(), ""]
    merged, distinct = pd.factorize(np.append(texts, ""))
    return merged.take(raw), list(distinct)  # code -1 (blank) takes the "" at the end


def _folded(texts: np.ndarray) -> np.ndarray:
    """str.casefold over an array of str; one lower() over them all when all are ASCII."""
    joined = "\x00".join(texts)
    if len(texts) and joined.isascii() and joined.count("\x00") == len(texts) - 1:
        return np.array(joined.lower().split("\x00"), dtype=object)
    return np.fromiter(map(str.casefold, texts), dtype=object, count=len(texts))


def _nan_if_none(value: float | None) -> float:
    return np.nan if value is None else value


def blank_mask(col: pd.Series) -> pd.Series:
    """True where a cell is empty (None, NaN, or only spaces)."""
    kind = _kind(col)
    if kind in _NUMERIC or kind in ("datetime", "date", "boolean", "empty"):
        return col.isna()
    if kind == "string":
        return _per_distinct(
            col, lambda v: not v.strip(), True, bool, lambda v: ~_trimmed(v).astype(bool)
        )
    values = col.to_numpy()
    return _series(
        [v is None or v != v or (type(v) is str and not v.strip()) for v in values], col, bool
    )


def texts(col: pd.Series) -> pd.Series:
    """Display text of every cell (see `text`)."""
    kind = _kind(col)
    if kind == "empty":
        return _series([""] * len(col), col)
    if kind == "string":
        return _per_distinct(
            col,
            lambda v: v if v.strip() else "",
            "",
            bulk=lambda v: np.where(_trimmed(v).astype(bool), v, ""),
        )
    return _series([text(v) for v in col.to_numpy()], col)


def stripped(col: pd.Series) -> pd.Series:
    """Display text of every cell, trimmed (case kept): names, IDs, stages as written."""
    if _kind(col) in ("string", "empty"):
        return _per_distinct(col, str.strip, "", bulk=_trimmed)
    return _series([v.strip() for v in texts(col).to_numpy()], col)


def norms(col: pd.Series) -> pd.Series:
    """Trimmed, case-folded text of every cell, for matching."""
    if _kind(col) in ("string", "empty"):
        return _per_distinct(
            col,
            lambda v: v.strip().casefold(),
            "",
            bulk=lambda v: _folded(_trimmed(v)),
        )
    return _series([v.strip().casefold() for v in texts(col).to_numpy()], col)


def numbers(col: pd.Series) -> pd.Series:
    """Float per cell, NaN where the cell is blank or not a number (bools are not numbers)."""
    kind = _kind(col)
    if kind in _NUMERIC:
        out = pd.to_numeric(col, errors="coerce").astype(float)
        return out.where(np.isfinite(out))
    if kind in ("empty", "datetime", "date", "boolean"):
        return _series(np.full(len(col), np.nan), col, float)
    if kind == "string":
        return _per_distinct(col, lambda v: _nan_if_none(number(v)), np.nan, float)
    kinds = col.map(type)
    out = pd.to_numeric(col.where(kinds.isin((int, float))), errors="coerce").astype(float)
    is_str = kinds.eq(str)
    if is_str.any():
        cleaned = col[is_str].str.replace(_NUMBER_NOISE, "", regex=True).str.removesuffix("%")
        out[is_str] = pd.to_numeric(cleaned, errors="coerce").astype(float)
    return out.where(np.isfinite(out))


def yeses(col: pd.Series) -> pd.Series:
    """True where a cell is yes-like or a ticked checkbox."""
    kind = _kind(col)
    if kind == "boolean":
        return col.eq(True)
    if kind in ("string", "empty"):
        return _per_distinct(col, lambda v: v.strip().casefold() in YES_WORDS, False, bool)
    ticked = _series([v is True for v in col.to_numpy()], col, bool)
    return ticked | norms(col).isin(YES_WORDS)


def dates(col: pd.Series, order: str = "DMY") -> pd.Series:
    """datetime64 at midnight per cell; NaT where blank or not readable as a date."""
    return datetimes(col, order).dt.normalize()


def datetimes(col: pd.Series, order: str = "DMY") -> pd.Series:
    """datetime64 per cell, time of day kept; NaT where blank or not readable as a date.

    Accepts real dates, serial day numbers, ISO text (2026-03-04, with or without a
    time) and typed dates in the sheet's day/month order (04/03/2026, 4.3.26).
    """
    kind = _kind(col)
    if kind in ("datetime", "date"):
        try:
            # cache=False: pandas' own look for repeated values costs three times the
            # conversion itself on a column of 200,000 datetimes.
            return pd.to_datetime(col, cache=False).astype("datetime64[ns]")
        except (TypeError, ValueError):  # time-zone-aware values: fall through
            pass
    out = pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns]")
    if kind == "empty":
        return out
    if kind in ("integer", "floating", "mixed-integer-float"):  # Google's serial numbers
        return _serial_dates(pd.to_numeric(col, errors="coerce").astype(float))
    if kind == "string":
        codes, uniques = pd.factorize(col.to_numpy(dtype=object), use_na_sentinel=True)
        parsed = _text_dates(pd.Series(uniques, dtype=object).str.strip(), order).to_numpy()
        values = np.append(parsed, np.datetime64("NaT", "ns")).take(codes)
        return pd.Series(values, index=col.index, dtype="datetime64[ns]")
    kinds = col.map(type)
    is_dt = kinds.isin((datetime, date, pd.Timestamp))
    if is_dt.any():
        values = col[is_dt].map(_as_datetime)
        out[is_dt] = pd.to_datetime(values, cache=False).astype("datetime64[ns]")
    is_num = kinds.isin((int, float))
    if is_num.any():
        out[is_num] = _serial_dates(pd.to_numeric(col[is_num], errors="coerce").astype(float))
    is_str = kinds.eq(str)
    if is_str.any():
        out[is_str] = _text_dates(col[is_str].str.strip(), order)
    return out


def _serial_dates(serial: pd.Series) -> pd.Series:
    # A serial outside 1900..2200 is a plain number, not a date.
    serial = serial.where((serial > 0) & (serial < 109575))
    return (SERIAL_EPOCH + pd.to_timedelta(serial, unit="D")).astype("datetime64[ns]")


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
