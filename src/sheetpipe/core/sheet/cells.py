"""Small pure helpers that read spreadsheet cell values the way people type them.

A cell can arrive as a str, int, float, bool, datetime/date (xlsx), a serial day number
(Google's UNFORMATTED_VALUE) or None. Every helper here accepts all of them; the
vectorised ones work on a whole pandas column at once because they run per deal.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

# Spreadsheets (Excel, LibreOffice, Google) count days from 1899-12-30; a workbook saved
# with the 1904 date system (old Mac Excel) counts them from 1904-01-01.
SERIAL_EPOCH = datetime(1899, 12, 30)
SERIAL_EPOCH_1904 = datetime(1904, 1, 1)
YES_WORDS = frozenset({"yes", "y", "true", "1", "x", "✓", "✔", "☑", "checked"})
NO_WORDS = frozenset({"no", "n", "false", "0", "☐", "unchecked", "none"})
DATE_ORDERS = ("DMY", "MDY", "YMD")
# Spaces (also no-break and narrow no-break, as thousands separators) and currency signs.
_NUMBER_NOISE = re.compile(r"[\s$€£¥\u00a0\u202f]")
DECIMAL_SEPARATORS = (".", ",")
# Digits grouped by thousands, then an optional fraction: the only place the other
# separator may stand. "12.000,00" is 12000 where "," is the decimal separator, and no
# number at all where "." is: read as 12 it would be a silent, thousandfold mistake.
_GROUPED = {
    ".": re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"),
    ",": re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+(?:,\d*)?"),
}
# What a spreadsheet evaluates when typed in, and (OWASP's CSV-injection list) the tab and
# carriage return that some tools strip before evaluating what follows.
_FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r")
T = TypeVar("T")


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


def number(value: Any, decimal: str = ".") -> float | None:
    """A number from a cell, accepting '1,200', '$ 50' and '12%' (→ 12); None if not one.

    `decimal` is the sheet's decimal separator (Settings): with ",", '12.000,50' is
    12000.5. The other separator is read only as a thousands separator between groups
    of three digits.
    """
    if isinstance(value, bool) or is_blank(value):
        return None
    if isinstance(value, int | float | Decimal):
        try:
            result = float(value)
        except OverflowError:  # an int beyond any spreadsheet's numbers
            return None
        return result if math.isfinite(result) else None
    if isinstance(value, str):
        return _text_number(_NUMBER_NOISE.sub("", value).removesuffix("%"), decimal)
    return None


def _text_number(cleaned: str, decimal: str) -> float | None:
    group = "," if decimal == "." else "."
    if group in cleaned:
        if not _GROUPED[decimal].fullmatch(cleaned):
            return None
        cleaned = cleaned.replace(group, "")
    try:
        result = float(cleaned.replace(decimal, "."))
    except ValueError:
        return None
    return result if math.isfinite(result) else None


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


def parse_date(value: Any, order: str = "DMY", serial_numbers: bool = False) -> date | None:
    """A calendar date from a cell; None when the cell is blank or cannot be a date
    (`serial_numbers` as for Column)."""
    if is_blank(value) or isinstance(value, bool):
        return None
    parsed = dates(pd.Series([value], dtype=object), order, serial_numbers).iloc[0]
    return None if pd.isna(parsed) else parsed.date()


def serial(value: date, date1904: bool = False) -> float:
    """A date or time as a spreadsheet's serial day number (time zones dropped, as the
    sheet shows wall-clock time)."""
    moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    moment = moment.replace(tzinfo=None)
    return (moment - (SERIAL_EPOCH_1904 if date1904 else SERIAL_EPOCH)) / timedelta(days=1)


def trim(rows: list[list], *, each_row: bool = False) -> list[list]:
    """`rows` without the empty rows at their end, in place (with `each_row`, each row
    without its empty cells at its end too), as Google hands a range over: so every
    backend reads a tab alike, and two readings of it compare equal. Returns `rows`."""
    if each_row:
        for row in rows:
            while row and is_blank_cell(row[-1]):
                row.pop()
    while rows and all(is_blank_cell(v) for v in rows[-1]):
        rows.pop()
    return rows


def is_blank_cell(value: object) -> bool:
    """None or "": a cell with nothing in it, as a backend hands it over."""
    return value is None or value == ""


def plural(n: int, word: str) -> str:
    """ "1 row", "2 rows": the one way sheetpipe counts in words."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def col_letter(index: int) -> str:
    """1 → A, 27 → AA (spreadsheet column letters)."""
    if index < 1:
        raise ValueError(f"column index must be >= 1, got {index}")
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def col_index(letters: str) -> int:
    """A → 1, AA → 27, xfd → 16384: the inverse of col_letter (any case)."""
    if not (letters.isascii() and letters.isalpha()):
        raise ValueError(f"column letters must be A-Z, got {letters!r}")
    index = 0
    for ch in letters.upper():
        index = index * 26 + ord(ch) - 64
    return index


def a1(tab: str, row: int, col: int) -> str:
    """A cell address as a person reads it in a problem report: Weights!D7."""
    return f"{_quoted(tab)}!{col_letter(col)}{row}"


_CELL = re.compile(r"(?:'((?:[^']|'')+)'|([^'!]+))!([A-Z]{1,3}[1-9]\d{0,6})")


def parse_cell(where: str) -> tuple[str, str] | None:
    """(tab, D7) from an address `a1` wrote (Weights!D7, 'My tab'!B2); None otherwise."""
    match = _CELL.fullmatch(where)
    if match is None:
        return None
    tab = match.group(1).replace("''", "'") if match.group(1) else match.group(2)
    return tab, match.group(3)


def a1_range(tab: str, col: int, first: int, last: int) -> str:
    """Lists!$A$2:$A$7: an absolute range down one column (a dropdown's source)."""
    letter = col_letter(col)
    return f"{_quoted(tab)}!${letter}${first}:${letter}${last}"


_RANGE = re.compile(
    r"=?\s*(?:'((?:[^']|'')+)'|([^'!:$\s]+))!"
    r"\$?([A-Za-z]{1,3})\$?(\d+):\$?([A-Za-z]{1,3})\$?(\d+)\s*"
)


def parse_range(formula: str) -> tuple[str, int, int, int] | None:
    """(tab, column, first row, last row) of a range down one column, as a1_range writes
    it or a person types it (='My tab'!B2:B9); None for anything else."""
    match = _RANGE.fullmatch(formula)
    if match is None or match.group(3).upper() != match.group(5).upper():
        return None
    tab = match.group(1).replace("''", "'") if match.group(1) else match.group(2)
    return tab, col_index(match.group(3)), int(match.group(4)), int(match.group(6))


def _quoted(tab: str) -> str:
    return tab if re.fullmatch(r"[A-Za-z0-9_]+", tab) else "'" + tab.replace("'", "''") + "'"


def looks_like_formula(value: Any) -> bool:
    """Text a spreadsheet would evaluate if typed in: it must be written as forced text."""
    return isinstance(value, str) and value.startswith(_FORMULA_LEAD)


# ---- vectorised forms ---------------------------------------------------------------
# These run over every deal each cycle, so a column is first asked (in C) what it holds;
# only genuinely mixed columns fall back to a per-cell Python pass.

_NUMERIC = ("integer", "floating", "mixed-integer-float", "decimal")
_TEXT = ("string", "empty")


def _kept(method: Callable[..., T]) -> Callable[..., T]:
    """A Column reading made once per argument list, then handed out again."""

    @functools.wraps(method)
    def reading(self: Column, *args: Any) -> T:
        key = (method.__name__, *args)
        if key not in self._kept:
            self._kept[key] = method(self, *args)
        return self._kept[key]

    return reading


class Column:
    """One column's cells, looked at once for all the ways a cycle reads them.

    A cycle reads a column several ways (Stage: blank, as written, for matching; Budget:
    as codes, yes/no and a number). Each look at 100,000 cells costs a pass over objects
    scattered in memory, so the column's kind is found once, a column of repeated texts
    is hashed once into its distinct values, and every reading derives from those and
    is kept. Readings are shared: copy one before changing it.

    `serial_numbers`: the backend hands date cells over as serial day numbers (Google),
    so a number in a date column is a date. Elsewhere a number there is no date.
    """

    def __init__(self, values: pd.Series, serial_numbers: bool = False):
        self.values = values
        self.serial_numbers = serial_numbers
        self._kept: dict[tuple, Any] = {}

    @cached_property
    def kind(self) -> str:
        values = self.values.to_numpy(dtype=object)
        if len(values) and type(values[0]) is datetime:
            # infer_dtype looks into each datetime (its time zone): a look at the types
            # alone costs a third of that on History's 100,000s of times.
            types = set(map(type, values))
            if types <= {datetime, type(None)}:
                return "datetime"
        return infer_dtype(values, skipna=True)

    @cached_property
    def _factorized(self) -> tuple[np.ndarray, np.ndarray]:
        """Each cell's code into the column's distinct values (-1: None or NaN).

        Only for a column of str: hashing would merge True with 1 in a mixed one.
        """
        found, uniques = pd.factorize(self.values.to_numpy(dtype=object), use_na_sentinel=True)
        return found, np.asarray(uniques, dtype=object)

    @cached_property
    def _repeated(self) -> bool:
        """Sheets repeat the same few values (stages, yes/no, industries) down a column;
        a column of mostly distinct texts (IDs, names, e-mails) is worked on whole."""
        values = self.values.to_numpy(dtype=object)
        sample = 2000
        if len(values) <= 4 * sample:
            return True
        picked = values[:: len(values) // sample]
        return len(pd.unique(picked)) <= 0.5 * len(picked)

    def _series(self, values: list | np.ndarray, dtype: object = object) -> pd.Series:
        return pd.Series(values, index=self.values.index, dtype=dtype)

    def _per_distinct(
        self,
        fn: Callable[[str], Any],
        blank: Any,
        dtype: object = object,
        bulk: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> pd.Series:
        """fn applied once per distinct text of a column of str (blanks get `blank`).

        A column of mostly distinct texts goes to `bulk` instead, when given: the same
        result from C-level passes over all its texts (blanks as "").
        """
        if self._repeated or bulk is None:
            codes, uniques = self._factorized
            mapped = np.empty(len(uniques) + 1, dtype=dtype)
            for i, value in enumerate(uniques):
                mapped[i] = fn(value)
            mapped[-1] = blank  # code -1
            return self._series(mapped.take(codes), dtype)
        values = self.values.to_numpy(dtype=object)
        try:  # most such columns have no blank cell: no need to look for one first
            return self._series(bulk(values), dtype)
        except TypeError:  # str.strip met a None or NaN
            missing = pd.isna(values)
            return self._series(bulk(np.where(missing, "", values)), dtype)

    @_kept
    def blank(self) -> pd.Series:
        """True where a cell is empty (None, NaN, or only spaces)."""
        kind = self.kind
        if kind in _NUMERIC or kind in ("datetime", "date", "boolean", "empty"):
            return self.values.isna()
        if kind == "string":
            return self._per_distinct(
                lambda v: not v.strip(), True, bool, lambda v: ~_trimmed(v).astype(bool)
            )
        return self._series(
            [v is None or v != v or (type(v) is str and not v.strip()) for v in self.values],
            bool,
        )

    @_kept
    def texts(self) -> pd.Series:
        """Display text of every cell (see `text`)."""
        if self.kind == "empty":
            return self._series([""] * len(self.values))
        if self.kind == "string":
            return self._per_distinct(
                lambda v: v if v.strip() else "",
                "",
                bulk=lambda v: np.where(_trimmed(v).astype(bool), v, ""),
            )
        return self._series([text(v) for v in self.values.to_numpy()])

    @_kept
    def stripped(self) -> pd.Series:
        """Display text of every cell, trimmed (case kept): names, IDs, stages as written."""
        if self.kind in _TEXT:
            return self._per_distinct(str.strip, "", bulk=_trimmed)
        return self._series([v.strip() for v in self.texts().to_numpy()])

    @_kept
    def norms(self) -> pd.Series:
        """Trimmed, case-folded text of every cell, for matching."""
        if self.kind in _TEXT:
            return self._per_distinct(
                lambda v: v.strip().casefold(), "", bulk=lambda v: _folded(_trimmed(v))
            )
        return self._series([v.strip().casefold() for v in self.texts().to_numpy()])

    @_kept
    def codes(self, fold: bool = True) -> tuple[np.ndarray, list[str]]:
        """Each cell's matching text as an integer code, and the texts: rules compare codes.

        `fold=False` keeps the case: trimmed text as written (IDs, where d-1 is not D-1).
        Blank cells share the code of "".
        """
        if self.kind not in _TEXT:
            found, uniques = pd.factorize((self.norms() if fold else self.stripped()).to_numpy())
            return found, list(uniques)
        # Trimming, folding and re-coding touch only the distinct values (" Won" and
        # "won" share a code).
        raw, uniques = self._factorized
        texts = _trimmed(uniques)
        if fold:
            texts = _folded(texts)
        if len(texts) and not (texts != uniques).any() and texts.all():
            # Already trimmed, folded and never blank (IDs written by sheetpipe): the
            # codes stand, and blanks get one more.
            return np.where(raw < 0, len(uniques), raw), [*texts.tolist(), ""]
        merged, distinct = pd.factorize(np.append(texts, ""))
        return merged.take(raw), list(distinct)  # code -1 (blank) takes the "" at the end

    @_kept
    def numbers(self, decimal: str = ".") -> pd.Series:
        """Float per cell, NaN where blank or not a number (bools are not numbers).

        Texts read with the sheet's decimal separator (see `number`)."""
        kind, col = self.kind, self.values
        if kind in _NUMERIC:
            try:  # None becomes NaN; five times faster than pd.to_numeric
                floats = col.to_numpy(dtype=object).astype(float)
            except (TypeError, ValueError, OverflowError):  # an int too large for a float
                floats = np.array([_nan_if_none(number(v)) for v in col], dtype=float)
            return self._series(np.where(np.isfinite(floats), floats, np.nan), float)
        if kind in ("empty", "datetime", "date", "boolean"):
            return self._series(np.full(len(col), np.nan), float)
        if kind == "string":
            return self._per_distinct(lambda v: _nan_if_none(number(v, decimal)), np.nan, float)
        found = [_nan_if_none(number(v, decimal)) for v in col.to_numpy(dtype=object)]
        return self._series(found, float)

    @_kept
    def yeses(self) -> pd.Series:
        """True where a cell is yes-like or a ticked checkbox."""
        if self.kind == "boolean":
            return self.values.eq(True)
        if self.kind in _TEXT:
            return self._per_distinct(lambda v: v.strip().casefold() in YES_WORDS, False, bool)
        ticked = self._series([v is True for v in self.values.to_numpy()], bool)
        return ticked | self.norms().isin(YES_WORDS)

    @_kept
    def dates(self, order: str = "DMY") -> pd.Series:
        """datetime64 at midnight per cell; NaT where blank or not readable as a date."""
        return self.datetimes(order).dt.normalize()

    @_kept
    def datetimes(self, order: str = "DMY") -> pd.Series:
        """datetime64 per cell, time of day kept; NaT where blank or not readable as a date.

        Accepts real dates, serial day numbers (where the backend hands dates over so),
        ISO text (2026-03-04, with or without a time) and typed dates in the sheet's
        day/month order (04/03/2026, 4.3.26).
        """
        kind, col = self.kind, self.values
        if kind in ("datetime", "date"):
            try:
                # cache=False: pandas' own look for repeated values costs three times the
                # conversion itself on a column of 200,000 datetimes.
                stamps = pd.to_datetime(col, cache=False)
                if stamps.dt.tz is None:
                    return _in_range(stamps)
            except (TypeError, ValueError):  # aware and naive mixed, or beyond pandas' range
                pass
        out = pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns]")
        if kind == "empty":
            return out
        if kind in _NUMERIC:
            if not self.serial_numbers:
                return out
            return _serial_dates(pd.to_numeric(col, errors="coerce").astype(float))
        if kind == "string":
            codes, uniques = self._factorized
            parsed = _text_dates(pd.Series(uniques, dtype=object).str.strip(), order).to_numpy()
            values = np.append(parsed, np.datetime64("NaT", "ns")).take(codes)
            return self._series(values, "datetime64[ns]")
        kinds = col.map(type)
        is_dt = kinds.isin((datetime, date, pd.Timestamp))
        if is_dt.any():
            values = col[is_dt].map(_as_datetime)
            out[is_dt] = _in_range(pd.to_datetime(values, cache=False, errors="coerce"))
        is_num = kinds.isin((int, float))
        if self.serial_numbers and is_num.any():
            serial = pd.to_numeric(col[is_num], errors="coerce").astype(float)
            out[is_num] = _serial_dates(serial)
        is_str = kinds.eq(str)
        if is_str.any():
            out[is_str] = _text_dates(col[is_str].str.strip(), order)
        return out


def _trimmed(texts: np.ndarray) -> np.ndarray:
    """str.strip over an array of str, iterated in C (a third of a comprehension's cost)."""
    return np.fromiter(map(str.strip, texts), dtype=object, count=len(texts))


def _folded(texts: np.ndarray) -> np.ndarray:
    """str.casefold over an array of str; one lower() over them all when all are ASCII."""
    joined = "\x00".join(texts)
    if len(texts) and joined.isascii() and joined.count("\x00") == len(texts) - 1:
        return np.array(joined.lower().split("\x00"), dtype=object)
    return np.fromiter(map(str.casefold, texts), dtype=object, count=len(texts))


def _nan_if_none(value: float | None) -> float:
    return np.nan if value is None else value


# One-off readings of a column (a Table keeps a Column per column and reuses it).


def blank_mask(col: pd.Series) -> pd.Series:
    return Column(col).blank()


def texts(col: pd.Series) -> pd.Series:
    return Column(col).texts()


def stripped(col: pd.Series) -> pd.Series:
    return Column(col).stripped()


def norms(col: pd.Series) -> pd.Series:
    return Column(col).norms()


def codes(col: pd.Series, fold: bool = True) -> tuple[np.ndarray, list[str]]:
    return Column(col).codes(fold)


def numbers(col: pd.Series, decimal: str = ".") -> pd.Series:
    return Column(col).numbers(decimal)


def yeses(col: pd.Series) -> pd.Series:
    return Column(col).yeses()


def dates(col: pd.Series, order: str = "DMY", serial_numbers: bool = False) -> pd.Series:
    return Column(col, serial_numbers).dates(order)


def datetimes(col: pd.Series, order: str = "DMY", serial_numbers: bool = False) -> pd.Series:
    return Column(col, serial_numbers).datetimes(order)


def _serial_dates(serial: pd.Series) -> pd.Series:
    # A serial outside 1900..2200 is a plain number, not a date.
    serial = serial.where((serial > 0) & (serial < 109575))
    return (SERIAL_EPOCH + pd.to_timedelta(serial, unit="D")).astype("datetime64[ns]")


_FIRST_DAY, _END = np.datetime64("1900-01-01"), np.datetime64("2200-01-01")


def _in_range(stamps: pd.Series) -> pd.Series:
    """datetime64[ns], NaT outside 1900..2199 (as for serial numbers).

    A year like 3000 or 0001 is a typo in a sales sheet, and past 2262 it does not fit
    pandas' nanoseconds at all: it reads as no date (reported), never as a crash.
    """
    values = stamps.to_numpy()
    inside = (values >= _FIRST_DAY) & (values < _END)  # NaT is never inside
    values = np.where(inside, values, np.datetime64("NaT")).astype("datetime64[ns]")
    return pd.Series(values, index=stamps.index)


def _as_datetime(value: date) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime(value.year, value.month, value.day)


def _text_dates(col: pd.Series, order: str) -> pd.Series:
    iso = col.str.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?")
    out = pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns]")
    if iso.any():
        out[iso] = _in_range(pd.to_datetime(col[iso], format="ISO8601", errors="coerce"))
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
    numeric = _in_range(pd.to_datetime(frame.dropna(), errors="coerce"))
    out[numeric.index] = numeric
    # Words like "26 Nov 2026" or "Nov 26, 2026": rare, so per cell.
    words = rest[out[rest.index].isna() & rest.str.contains("[A-Za-z]", regex=True)]
    for idx, value in words.items():
        out[idx] = _word_date(value, order)
    return out


def _word_date(value: str, order: str) -> pd.Timestamp:
    try:
        stamp = pd.to_datetime(value, errors="coerce", dayfirst=order == "DMY")
        if stamp is not pd.NaT and stamp.tzinfo is not None:
            stamp = stamp.tz_localize(None)  # "10:00 UTC": the time as written
        return _in_range(pd.Series([stamp])).iloc[0]
    except (TypeError, ValueError, OverflowError):  # whatever dateutil makes of odd text
        return pd.NaT
