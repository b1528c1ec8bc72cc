"""The pure cell helpers, tested exhaustively: every spreadsheet hands values over differently."""

import math
from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd
import pytest

from sheetpipe.core.sheet import cells


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""), ("", ""), ("  ", ""), (float("nan"), ""), (True, "TRUE"), (False, "FALSE"),
        (72.0, "72"), (72.5, "72.5"), (3, "3"), (date(2026, 3, 4), "2026-03-04"),
        (datetime(2026, 3, 4), "2026-03-04"), (datetime(2026, 3, 4, 9, 5), "2026-03-04 09:05"),
        ("Proposal", "Proposal"),
    ],
)  # fmt: skip
def test_text(value, expected):
    assert cells.text(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, 5.0), (5.5, 5.5), ("1,200", 1200.0), ("$ 50", 50.0), ("€1 200", 1200.0),
        ("12%", 12.0), ("-3", -3.0), ("ten", None), ("", None), (None, None), (True, None),
        ("inf", None), ("1e3", 1000.0),
    ],
)  # fmt: skip
def test_number(value, expected):
    assert cells.number(value) == expected


@pytest.mark.parametrize(
    ("value", "decimal", "expected"),
    [
        ("12.000,00", ",", 12000.0), ("12.000,00", ".", None), ("12,000.00", ".", 12000.0),
        ("12,000.00", ",", None), ("1.234.567,5", ",", 1234567.5), ("1,234,567.5", ".", 1234567.5),
        ("0,75", ",", 0.75), ("0,75", ".", None), ("0.75", ".", 0.75), ("0.75", ",", None),
        ("1,2", ".", None), ("1.2", ",", None), ("12,00", ".", None), ("-1.000", ",", -1000.0),
        ("1 200,50", ",", 1200.5), ("1\u202f200", ".", 1200.0), ("€1 200,", ",", 1200.0),
        ("10k", ".", None), ("10k", ",", None), ("1000", ",", 1000.0), (1000.5, ",", 1000.5),
        ("12.000", ".", 12.0), ("12.000", ",", 12000.0), ("1,00,000", ".", None),
    ],
)  # fmt: skip
def test_number_reads_the_sheets_decimal_separator(value, decimal, expected):
    assert cells.number(value, decimal) == expected
    assert list(cells.numbers(pd.Series([value, None], dtype=object), decimal).fillna(-1)) == [
        -1 if expected is None else expected,
        -1,
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True), (False, False), ("Yes", True), (" y ", True), ("TRUE", True), ("1", True),
        ("x", True), ("✓", True), ("No", False), ("n", False), ("false", False), ("0", False),
        ("", None), (None, None), ("maybe", None),
    ],
)  # fmt: skip
def test_yes(value, expected):
    assert cells.yes(value) is expected


@pytest.mark.parametrize(
    ("value", "order", "expected"),
    [
        ("2026-03-04", "DMY", date(2026, 3, 4)),
        ("2026-03-04T10:30", "MDY", date(2026, 3, 4)),
        ("03/04/2026", "DMY", date(2026, 4, 3)),
        ("03/04/2026", "MDY", date(2026, 3, 4)),
        ("2026/03/04", "YMD", date(2026, 3, 4)),
        ("4.3.26", "DMY", date(2026, 3, 4)),
        ("31/02/2026", "DMY", None),  # no 31 February
        (datetime(2026, 3, 4, 15, 0), "DMY", date(2026, 3, 4)),
        (date(2026, 3, 4), "DMY", date(2026, 3, 4)),
        (46085, "DMY", date(2026, 3, 4)),  # Google's serial day number
        (46085.75, "DMY", date(2026, 3, 4)),
        ("26 Nov 2026", "DMY", date(2026, 11, 26)),
        ("next week", "DMY", None),
        ("", "DMY", None),
        (None, "DMY", None),
        (True, "DMY", None),
        (5, "DMY", date(1900, 1, 4)),
        (-3, "DMY", None),
    ],
)
def test_parse_date(value, order, expected):
    """As on Google, which hands dates over as serial day numbers."""
    assert cells.parse_date(value, order, serial_numbers=True) == expected


@pytest.mark.parametrize("value", [46085, 46085.75, 5, Decimal("46085")])
def test_a_number_is_no_date_where_dates_are_date_cells(value):
    """An xlsx date cell is a date: a number in a date column there is a typo (reported)."""
    assert cells.parse_date(value) is None
    col = pd.Series([value, date(2026, 3, 4), "2026-03-05"], dtype=object)
    assert list(cells.dates(col).isna()) == [True, False, False]
    assert cells.dates(pd.Series([value, value], dtype=object)).isna().all()


@pytest.mark.parametrize(
    ("index", "letters"),
    [(1, "A"), (2, "B"), (26, "Z"), (27, "AA"), (52, "AZ"), (53, "BA"), (702, "ZZ"),
     (703, "AAA"), (16384, "XFD")],
)  # fmt: skip
def test_col_letter(index, letters):
    assert cells.col_letter(index) == letters


@pytest.mark.parametrize("index", [*range(1, 800), 16383, 16384])
def test_col_index_inverts_col_letter(index):
    letters = cells.col_letter(index)
    assert cells.col_index(letters) == index
    assert cells.col_index(letters.lower()) == index


@pytest.mark.parametrize("letters", ["", "A1", "$A", "Ä", " A"])
def test_col_index_rejects_what_is_not_letters(letters):
    with pytest.raises(ValueError):
        cells.col_index(letters)


def test_col_letter_rejects_zero():
    with pytest.raises(ValueError):
        cells.col_letter(0)


def test_a1_quotes_names_a_spreadsheet_would_quote():
    assert cells.a1("Weights", 7, 4) == "Weights!D7"
    assert cells.a1("My deals", 2, 1) == "'My deals'!A2"
    assert cells.a1("Bob's", 2, 1) == "'Bob''s'!A2"


@pytest.mark.parametrize(
    ("value", "formula"),
    [('=HYPERLINK("http://x","y")', True), ("+1", True), ("-1", True), ("@SUM(A1)", True),
     ("\t=1+1", True), ("\r=2", True), (" =1", False), ("a=1", False),
     ("Acme", False), ("", False), (5, False), (None, False)],
)  # fmt: skip
def test_looks_like_formula(value, formula):
    assert cells.looks_like_formula(value) is formula


MIXED = pd.Series(
    [None, "", "  ", "Yes", True, 5, 5.0, "1,200", date(2026, 3, 4), "03/04/2026", float("nan")],
    dtype=object,
)


def test_vectorised_forms_agree_with_scalar_forms():
    """Each vectorised helper gives, cell by cell, what its scalar twin gives."""
    assert list(cells.blank_mask(MIXED)) == [cells.is_blank(v) for v in MIXED]
    assert list(cells.texts(MIXED)) == [cells.text(v) for v in MIXED]
    numbers = cells.numbers(MIXED)
    for got, value in zip(numbers, MIXED, strict=True):
        want = cells.number(value)
        assert (pd.isna(got) and want is None) or got == want
    assert list(cells.yeses(MIXED)) == [cells.yes(v) is True for v in MIXED]
    for serial_numbers in (False, True):
        found = cells.dates(MIXED, "DMY", serial_numbers)
        for got, value in zip(found, MIXED, strict=True):
            want = cells.parse_date(value, "DMY", serial_numbers)
            assert (pd.isna(got) and want is None) or got.date() == want


def test_datetimes_keep_the_time_of_day():
    got = cells.datetimes(pd.Series(["2026-03-04 14:30", datetime(2026, 3, 4, 9, 15)]))
    assert list(got) == [pd.Timestamp("2026-03-04 14:30"), pd.Timestamp("2026-03-04 09:15")]


@pytest.mark.parametrize(
    "col",
    [
        MIXED,
        pd.Series([None, " Won", "won", "WON ", "", "Lost", None] * 3, dtype=object),
        # Long enough for the fast paths: few distinct values, then mostly distinct ones.
        pd.Series([" Proposal", "proposal", None, "Lead", ""] * 3000, dtype=object),
        pd.Series([f" D-{i} " if i % 7 else None for i in range(12000)], dtype=object),
        # Already clean, as sheetpipe writes IDs; and with non-ASCII text to fold.
        pd.Series([f"D-{i}" for i in range(12000)] + [None], dtype=object),
        pd.Series([f"Straße {i}" if i % 3 else f"ÉTÉ {i}" for i in range(12000)], dtype=object),
        pd.Series([], dtype=object),
    ],
)
def test_codes_give_each_cell_its_matching_text(col):
    found, texts = cells.codes(col)
    assert len(texts) == len(set(texts)), "one code per distinct matching text"
    assert [texts[c] for c in found] == [cells.norm(v) for v in col]
    found, texts = cells.codes(col, fold=False)
    assert len(texts) == len(set(texts))
    assert [texts[c] for c in found] == [cells.text(v).strip() for v in col]


LONG_TEXT_COLUMNS = [
    # Few distinct values (hashed once per value) and mostly distinct ones (C-level passes),
    # each with blanks, NaN, spaces around and whitespace-only cells.
    pd.Series([" Proposal", "proposal", None, "Lead", "", "  ", "ÉTÉ Straße"] * 2000, dtype=object),
    pd.Series(
        [f" D-{i} " if i % 7 else (None, float("nan"), "", " \t ")[i % 4] for i in range(12000)],
        dtype=object,
    ),
    pd.Series([f" Deal {i}" if i % 5 else f"Deal {i}" for i in range(12000)], dtype=object),
]


@pytest.mark.parametrize("col", LONG_TEXT_COLUMNS)
def test_long_text_columns_read_as_each_cell_does(col):
    assert list(cells.blank_mask(col)) == [cells.is_blank(v) for v in col]
    assert list(cells.texts(col)) == [cells.text(v) for v in col]
    assert list(cells.stripped(col)) == [cells.text(v).strip() for v in col]
    assert list(cells.norms(col)) == [cells.norm(v) for v in col]


def test_a_column_of_serial_numbers_reads_as_dates_and_times():
    """Google hands dates over as serial numbers: a whole column of them, vectorised."""
    col = pd.Series([46085, 46085.75, None, 0, 5_000_000.0, float("nan")], dtype=object)
    got = cells.datetimes(col, serial_numbers=True)
    assert list(got[:2]) == [pd.Timestamp("2026-03-04"), pd.Timestamp("2026-03-04 18:00")]
    assert got[2:].isna().all(), "blank, zero and numbers far outside 1900..2200 are no dates"
    assert list(cells.dates(col, serial_numbers=True)[:2]) == [pd.Timestamp("2026-03-04")] * 2
    assert cells.datetimes(col).isna().all(), "where dates are date cells, numbers are none"


@pytest.mark.parametrize(
    "values",
    [
        [5, None, 1200, -3],
        [2.5, float("nan"), None, float("inf"), -float("inf"), 1e300],
        [10**400, 7, None],  # too large for a float: read the slow way, not an error
        [Decimal("1.5"), None, Decimal("2")],
        [5, 2.5, None],
    ],
)
def test_numeric_columns_read_as_each_cell_does(values):
    col = pd.Series(values, dtype=object)
    for got, value in zip(cells.numbers(col), values, strict=True):
        want = cells.number(value)
        if want is not None and not math.isfinite(want):
            want = None
        assert (pd.isna(got) and want is None) or got == pytest.approx(want)


def test_a_column_of_datetimes_with_blanks_reads_as_datetimes():
    values = [datetime(2026, 3, 4, 9, 15), None, datetime(2026, 3, 5)]
    col = pd.Series(values, dtype=object)
    assert cells.Column(col).kind == "datetime"
    got = cells.datetimes(col)
    assert got[0] == pd.Timestamp("2026-03-04 09:15") and pd.isna(got[1])
    mixed = pd.Series([datetime(2026, 3, 4), "05/03/2026"], dtype=object)
    assert list(cells.dates(mixed)) == [pd.Timestamp("2026-03-04"), pd.Timestamp("2026-03-05")]


@pytest.mark.parametrize(
    "value",
    [
        datetime(3000, 1, 1),  # a typo for 2030, beyond pandas' nanoseconds (2262)
        date(1, 1, 1),
        datetime(1899, 12, 31),
        "3000-01-01",
        "01/01/3000",
        "26 Nov 3000",
        200_000,  # a serial number far past 2200
    ],
)
def test_a_date_outside_1900_to_2199_reads_as_no_date_not_a_crash(value):
    col = pd.Series([value, date(2026, 3, 4), None], dtype=object)
    got = cells.datetimes(col, serial_numbers=True)
    assert pd.isna(got[0]) and got[1] == pd.Timestamp("2026-03-04") and pd.isna(got[2])
    assert not cells.blank_mask(col)[0], "it is a value, so it is reported, not ignored"


def test_a_written_time_zone_keeps_the_time_as_written():
    got = cells.datetimes(pd.Series(["Mar 4, 2026 10:00 UTC", "4 March 2026"], dtype=object))
    assert list(got) == [pd.Timestamp("2026-03-04 10:00"), pd.Timestamp("2026-03-04")]


@pytest.mark.parametrize(
    ("tab", "col", "first", "last", "written"),
    [
        ("Lists", 1, 2, 7, "Lists!$A$2:$A$7"),
        ("My lists", 28, 2, 300, "'My lists'!$AB$2:$AB$300"),
        ("Bob's", 3, 2, 2, "'Bob''s'!$C$2:$C$2"),
        ("Ünïcode", 16384, 2, 3, "'Ünïcode'!$XFD$2:$XFD$3"),
    ],
)
def test_a1_range_and_parse_range_are_inverse(tab, col, first, last, written):
    assert cells.a1_range(tab, col, first, last) == written
    assert cells.parse_range(written) == (tab, col, first, last)
    assert cells.parse_range("=" + written) == (tab, col, first, last)


@pytest.mark.parametrize(
    ("typed", "parsed"),
    [
        ("='Lists'!a2:a9", ("Lists", 1, 2, 9)), ("Lists!B2:B3", ("Lists", 2, 2, 3)),
        ("Lists!A2:B9", None), ("A2:A9", None), ('"Yes,No"', None), ("Lists!A2", None),
        ("Lists!$A$2:$A$7 ", ("Lists", 1, 2, 7)),
    ],
)  # fmt: skip
def test_parse_range_reads_what_people_type_and_refuses_the_rest(typed, parsed):
    assert cells.parse_range(typed) == parsed


@pytest.mark.parametrize(
    "tab", ["Weights", "My tab", "O'Brien's deals", "Ünïcode", "2026", "a!b", "x" * 100]
)
@pytest.mark.parametrize(("row", "col"), [(1, 1), (7, 4), (1048576, 16384)])
def test_parse_cell_reads_back_every_address_a1_writes(tab, row, col):
    assert cells.parse_cell(cells.a1(tab, row, col)) == (tab, f"{cells.col_letter(col)}{row}")


@pytest.mark.parametrize(
    "where",
    ["sheetpipe.toml [sheet] path", "Deals tab", "Deals!", "Deals!D0", "Deals!d7",
     "Deals!D7:D9", "!D7", "'Deals!D7", "Deals!ABCD1", ""],
)  # fmt: skip
def test_parse_cell_finds_no_cell_where_a_problem_names_none(where):
    assert cells.parse_cell(where) is None


@pytest.mark.parametrize(
    ("value", "serial", "serial_1904"),
    [
        (date(2026, 3, 4), 46085, 44623),
        (datetime(2026, 3, 4), 46085, 44623),
        (datetime(2026, 3, 4, 18, 0), 46085.75, 44623.75),
        (datetime(2026, 3, 4, 18, 0, tzinfo=UTC), 46085.75, 44623.75),  # as shown
        (date(1900, 3, 1), 61, None),
        (date(1904, 1, 2), 1463, 1),
    ],
)
def test_serial_is_the_day_number_a_spreadsheet_stores(value, serial, serial_1904):
    assert cells.serial(value) == serial
    if serial_1904 is not None:
        assert cells.serial(value, date1904=True) == serial_1904


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("04/03/100", "DMY", None),  # a three-digit year is no year of this century
        ("04/03/99", "DMY", date(2099, 3, 4)),
        ("26 NOV 2026", "DMY", date(2026, 11, 26)),
        ("26 nov 2026", "DMY", date(2026, 11, 26)),
        ("10:00 UTC 04/03/2026", "DMY", date(2026, 3, 4)),  # words: read with the order
        ("10:00 UTC 04/03/2026", "MDY", date(2026, 4, 3)),
        ("2026-03-04 10:30:15.5", "DMY", date(2026, 3, 4)),
    ],
)
def test_typed_dates_in_each_form(text, order, expected):
    assert cells.parse_date(text, order) == expected
    col = pd.Series([text, None, ""], dtype=object)
    got = cells.dates(col, order)
    assert (pd.isna(got[0]) and expected is None) or got[0].date() == expected
    assert got[1:].isna().all()


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ([["a", "", ""], ["", "b"], ["", ""], []], [["a"], ["", "b"]]),
        ([[""], ["x"], [""], ["y", ""]], [[], ["x"], [], ["y"]]),
        ([["", ""], []], []),
        ([], []),
    ],
)
def test_trim_drops_only_what_ends_a_row_or_the_table(table, expected):
    rows = [list(row) for row in table]
    assert cells.trim(rows, each_row=True) is rows and rows == expected
    assert cells.trim([["a", ""], ["", None], []]) == [["a", ""]], "rows' own cells kept"


@pytest.mark.parametrize(("n", "said"), [(0, "0 rows"), (1, "1 row"), (2, "2 rows")])
def test_plural_counts_in_words(n, said):
    assert cells.plural(n, "row") == said


def test_dates_read_day_first_unless_told_and_a_tick_is_no_date():
    assert cells.parse_date("03/04/2026") == date(2026, 4, 3), "Date order's default is DMY"
    assert cells.parse_date(True) is None and cells.parse_date(False) is None


@pytest.mark.parametrize(
    ("value", "inside"),
    [(datetime(1900, 1, 1), True), (datetime(1899, 12, 31, 23, 59), False),
     (datetime(2199, 12, 31, 23, 59), True), (datetime(2200, 1, 1), False)],
)  # fmt: skip
def test_dates_run_from_1900_up_to_but_not_including_2200(value, inside):
    got = cells.datetimes(pd.Series([value], dtype=object))[0]
    assert (got == pd.Timestamp(value)) if inside else pd.isna(got)
