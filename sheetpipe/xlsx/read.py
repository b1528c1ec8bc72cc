"""Every tab of a workbook read in one pass: values by python-calamine, formats by us.

calamine (Rust) reads each cell as people see it: a formula's value is the one the
spreadsheet last computed, a date-formatted number is a date. It is about twenty times
quicker than openpyxl here. The formats sheetpipe installed are read from each sheet's
skeleton (formats.py), which calamine does not model.
"""

from __future__ import annotations

import io

import python_calamine as calamine

from sheetpipe.core.apply import trim
from sheetpipe.model import Row, Tab
from sheetpipe.xlsx.formats import Skeleton, installed
from sheetpipe.xlsx.package import Package, PackageError
from sheetpipe.xlsx.sheet import Split

EXACT_INT = 2**53  # floats up to here are whole numbers exactly


def read_tabs(data: bytes, package: Package) -> dict[str, Tab]:
    try:
        book = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except calamine.PasswordError:
        raise PackageError("it is password-protected; save a copy without the password") from None
    except Exception as exc:  # calamine raises its own types for damaged files
        raise PackageError(f"its cells could not be read ({exc})") from exc
    tabs: dict[str, Tab] = {}
    for sheet in package.sheets:
        try:
            values = book.get_sheet_by_name(sheet.name).to_python(skip_empty_area=False)
        except Exception as exc:
            raise PackageError(f"its tab {sheet.name!r} could not be read ({exc})") from exc
        for row in values:
            _as_engine_cells(row)
        trim(values)
        formats = installed(Skeleton(Split.of(package.read(sheet.part))))
        tabs[sheet.name] = Tab(sheet.name, values, frozenset(formats))
    return tabs


def _as_engine_cells(row: Row) -> None:
    """calamine's cells as the engine takes them, in place (a 100 k-deal workbook has
    millions): empty as None, whole floats as ints."""
    for i, v in enumerate(row):
        if v == "":
            row[i] = None
        elif type(v) is float and v.is_integer() and -EXACT_INT < v < EXACT_INT:
            row[i] = int(v)
