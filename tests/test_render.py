"""What a person sees: the demo workbook rendered by LibreOffice (to PDF), read back as
text with poppler's pdftotext. A date or number too wide for its column shows as ###;
text too wide for its column is cut where the next cell holds something, and the PDF
then holds only the part shown."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from datetime import UTC, datetime

import pytest
from python_calamine import CalamineWorkbook

from sheetpipe.demo import make_demo

from .libreoffice import convert

DEAL_ID = re.compile(r"(?<![\w/])D-\d{4}(?!\w)")  # a deal's ID, not inside a task ID


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[str, dict[str, list[list]]]:
    """The demo's text as LibreOffice prints it, and the workbook's cells."""
    folder = tmp_path_factory.mktemp("demo")
    result = make_demo(folder, force=True, now=datetime.now(UTC))
    convert([result.workbook], folder / "pdf", "pdf")
    pdf = folder / "pdf" / (result.workbook.stem + ".pdf")
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext is needed: run the README's test command (poppler-utils)"
    text = subprocess.run(
        [pdftotext, "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    book = CalamineWorkbook.from_path(str(result.workbook))
    sheets = {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}
    return text, sheets


def test_no_date_or_number_shows_as_hashes(rendered):
    text, _ = rendered
    lines = [line for line in text.splitlines() if "###" in line]
    assert not lines, f"{len(lines)} lines with ###, first: {lines[:3]}"


def test_every_deal_id_shows_whole(rendered):
    text, sheets = rendered
    cells = [str(v) for rows in sheets.values() for row in rows for v in row]
    written = Counter(m for value in cells for m in DEAL_ID.findall(value))
    shown = Counter(DEAL_ID.findall(text))
    missing = {i: n - shown[i] for i, n in written.items() if shown[i] < n}
    assert written and not missing, f"IDs cut or missing (id: times): {missing}"


def test_every_deal_name_shows_whole(rendered):
    """Deal names are the longest text people scan, in every tab that shows them
    (Deals, Customers, Tasks, History): each shows as often as the tabs hold it."""
    text, sheets = rendered
    names: Counter[str] = Counter()
    for header, *rows in sheets.values():
        if "Deal" in header:
            at = header.index("Deal")
            names.update(str(row[at]) for row in rows if row[at])
    cut = {name: n - text.count(name) for name, n in names.items() if text.count(name) < n}
    assert len(names) > 40 and not cut, f"{len(cut)} deal names cut, e.g. {list(cut)[:3]}"
