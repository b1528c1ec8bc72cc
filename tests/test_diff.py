"""The owned-column diff: a cell is rewritten exactly when it does not already show the
desired value, whichever form the backend hands cells over in."""

from datetime import date, datetime

import pandas as pd
import pytest

from sheetpipe.core.sheet.diff import differs
from sheetpipe.core.sheet.table import read_table
from sheetpipe.model import Tab


def column(cells: list, header: str = "Score", date_cells: str = "date"):
    rows = [["Deal", header], *[["x", v] for v in cells]]
    return read_table(Tab("Deals", rows), date_cells=date_cells)  # type: ignore[arg-type]


def test_whole_numbers_as_any_backend_reads_them_but_a_ticked_box_is_no_number():
    t = column([5, 5.0, "5", " 5 ", True, False, None, 7, "seven", None])
    want = pd.Series([5, 5, 5, 5, 1, 0, None, 8, 7, 3], index=t.index, dtype="Float64")
    got = differs(t, "Score", want.astype(float), "int")
    assert list(got) == [False, False, False, False, True, True, False, True, True, True]


def test_text_where_empty_and_none_are_the_same_cell():
    t = column(["Dead", None, "", " Dead", "dead", "OK"], header="Health")
    want = pd.Series(["Dead", "", "", "Dead", "Dead", "Hot"], index=t.index, dtype=object)
    assert list(differs(t, "Health", want, "text")) == [False, False, False, True, True, True]


def test_text_an_empty_desired_value_matches_any_empty_cell():
    t = column([None, "  ", float("nan"), "x", None, "x"], header="Why")
    want = pd.Series(["", "", "", "", None, float("nan")], index=t.index, dtype=object)
    assert list(differs(t, "Why", want, "text")) == [False, False, False, True, False, True]


DAY = date(2026, 3, 4)


def _serial(d: date) -> float:
    return float((d - date(1899, 12, 30)).days)


@pytest.mark.parametrize("declared", ["date", "datetime", "serial"])
@pytest.mark.parametrize(
    "form",
    [
        lambda d: d,  # the memory backend: date
        lambda d: datetime(d.year, d.month, d.day),  # xlsx: a datetime at midnight
    ],
)
def test_dates_in_each_backends_form(form, declared):
    """Whatever form the backend declares (Snapshot.date_cells), a date cell in any form
    is compared by its date: the declared one is only the quick first look."""
    other = date(2026, 3, 5)
    t = column(
        [form(DAY), form(other), "2026-03-04", datetime(2026, 3, 4, 10, 30), None, "soon"],
        header="In stage since",
        date_cells=declared,
    )
    want = pd.Series(pd.to_datetime([DAY] * 6), index=t.index)
    got = differs(t, "In stage since", want, "date")
    assert list(got) == [False, True, False, False, True, True]


@pytest.mark.parametrize(
    ("declared", "same"), [("serial", True), ("date", False), ("datetime", False)]
)
def test_a_number_is_the_date_only_where_the_backend_hands_dates_over_as_numbers(declared, same):
    """On Google a serial number is the date; elsewhere a number in a date column is a
    typo that sheetpipe overwrites with the date."""
    t = column([_serial(DAY), 46085], header="In stage since", date_cells=declared)
    want = pd.Series(pd.to_datetime([DAY] * 2), index=t.index)
    assert list(differs(t, "In stage since", want, "date")) == [not same] * 2


def test_only_the_rows_asked_about_are_compared():
    t = column(["OK", "Dead", "Hot"], header="Health")
    want = pd.Series(["Hot", "Hot"], index=pd.Index([2, 4]), dtype=object)
    assert list(differs(t, "Health", want, "text")) == [True, False]
    assert list(differs(t, "Health", want, "text").index) == [2, 4]


def test_a_serial_date_with_a_time_of_day_is_the_same_day_where_dates_are_serials():
    """Google hands a date cell over as a serial number; one holding a time of day (typed
    as 2026-03-10 14:00) still is that day, so it is not rewritten."""
    from sheetpipe.core.sheet.cells import serial

    day = serial(datetime(2026, 3, 10))
    tab = Tab("Deals", [["In stage since"], [day + 0.5], [day - 1]])
    table = read_table(tab, date_cells="serial")
    desired = pd.Series(pd.to_datetime(["2026-03-10", "2026-03-10"]), index=[2, 3])
    assert list(differs(table, "In stage since", desired, "date")) == [False, True]
