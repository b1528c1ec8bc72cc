"""The xlsx engine on its own: random change sets on random workbooks, and the parts of a
workbook a person made (formulas with cached values, rich text, styles, tables) that a
sync must keep.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from datetime import date, datetime, timedelta

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.worksheet.table import Table

from sheetpipe.backends.xlsx import XlsxBackend
from sheetpipe.core.sheet.apply import apply_changes
from sheetpipe.model import ChangeSet, ColumnWrite
from sheetpipe.sync import run_cycle
from sheetpipe.xlsx.package import Package, normalise

from .backend_contract import _values, deals
from .helpers import NAMES, NOW, tabs, write_workbook


def values(text: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.none(),
        st.integers(-(10**9), 10**9),
        st.floats(-1e9, 1e9, allow_nan=False).map(lambda f: round(f, 4)),
        st.booleans(),
        text,
        st.sampled_from(["=1+1", "+1", "-2", "@SUM(A1)", "_x0041_", "a & b < c", " padded "]),
        st.dates(date(1950, 1, 1), date(2150, 12, 31)),
        st.datetimes(datetime(1950, 1, 1), datetime(2150, 1, 1)).map(
            lambda d: d.replace(second=0, microsecond=0)
        ),
    )


# What sheetpipe writes may hold any character (control characters are escaped as
# _xHHHH_); what a person's tool saved (here openpyxl) holds none of those.
cell_values = values(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12))
person_values = values(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
)
grid = st.lists(st.lists(cell_values, min_size=1, max_size=6), min_size=1, max_size=8)
person_grid = st.lists(st.lists(person_values, min_size=1, max_size=6), min_size=1, max_size=8)


@st.composite
def change_sets(draw, sheets: dict[str, list[list]]) -> ChangeSet:
    names = list(sheets)
    writes = []
    for _ in range(draw(st.integers(0, 4))):
        tab = draw(st.sampled_from(names))
        col = draw(st.integers(1, 8))
        # As a plan does: writes go to rows that are there, appends come after them.
        height = len(sheets[tab])
        rows = sorted(set(draw(st.lists(st.integers(1, height), min_size=1, max_size=5))))
        values = [draw(cell_values) for _ in rows]
        writes.append(ColumnWrite(tab, col, "X", rows, values))
    appends = []
    for tab in draw(st.lists(st.sampled_from(names), max_size=2, unique=True)):
        first = len(sheets[tab]) + 1 + draw(st.integers(0, 2))
        appends.append((tab, first, draw(grid)))
    new_tabs = [("Fresh", draw(grid))] if draw(st.booleans()) else []
    status = draw(grid) if draw(st.booleans()) else None
    return ChangeSet(new_tabs=new_tabs, writes=writes, appends=appends, status=status)


def _workbook(path, sheets, date1904=False):
    book = openpyxl.Workbook()
    book.remove(book.active)
    book.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904 if date1904 else book.epoch
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for r, row in enumerate(rows, 1):
            for c, value in enumerate(row, 1):
                cell = sheet.cell(r, c, value)
                if isinstance(value, str) and value.startswith("="):
                    cell.data_type = "s"
    book["Other"]["A1"].font = openpyxl.styles.Font(bold=True)
    book.save(path)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), date1904=st.booleans())
def test_random_change_sets_read_back_exactly_and_touch_nothing_else(
    tmp_path_factory, data, date1904
):
    sheets = {
        "Data": data.draw(person_grid),
        "Other": data.draw(person_grid),
        "Status": data.draw(person_grid),
    }
    path = tmp_path_factory.mktemp("engine") / "book.xlsx"
    _workbook(path, sheets, date1904)
    backend = XlsxBackend(path)
    before = backend.read()
    changes = data.draw(change_sets(sheets))
    with backend.session():
        backend.read()
        backend.apply(changes, "Status")
    after = XlsxBackend(path).read()
    expected = apply_changes(before, changes)
    assert sorted(after.tabs) == sorted(expected.tabs)
    for name in expected.tabs:
        assert _values(after, name) == _values(expected, name), name
    # Nothing else in the package changed: the sheets not written to, the shared strings.
    touched = {w.tab for w in changes.writes} | {t for t, _, _ in changes.appends}
    touched |= {"Status"} if changes.status is not None else set()
    old_parts, new_parts = _parts(path.with_name("book.xlsx.bak")), _parts(path)
    with open(path, "rb") as handle:
        package = Package(handle)
        untouched = {s.part for s in package.sheets if s.name not in touched and s.name != "Fresh"}
    untouched.add("xl/sharedStrings.xml")
    for part in untouched & set(old_parts):
        assert old_parts[part] == new_parts[part], part


def _parts(path):
    with zipfile.ZipFile(path) as package:
        return {normalise(i.filename): package.read(i) for i in package.infolist()}


def _sheet_xml(path, name):
    with open(path, "rb") as handle:
        package = Package(io.BytesIO(handle.read()))
        return package.read(next(s.part for s in package.sheets if s.name == name)).decode()


def test_a_persons_formula_keeps_its_cached_value_and_the_score_stays_steady(tmp_path):
    """The old engine lost cached values, so a score fed by a formula flipped each cycle."""
    path = write_workbook(
        tmp_path / "pipeline.xlsx", tabs(deals(2), weights=[["Value", ">", "5000", 20, "", ""]])
    )
    book = openpyxl.load_workbook(path)
    book["Deals"]["F2"] = "=3000*3"
    book.save(path)
    from .test_backend_xlsx import _add_cached_value

    _add_cached_value(path, "Deals", "F2", 9000)
    scores = []
    for day in range(3):
        report = run_cycle(XlsxBackend(path), NAMES, NOW + timedelta(days=day))
        scores.append(report.plan.pipelines[0].desired["Score"].tolist()[0])
    assert scores[0] >= 20 and len(set(scores)) == 1
    assert '<c r="F2"><f>3000*3</f><v>9000</v></c>' in _sheet_xml(path, "Deals")


def test_rich_text_styles_and_merged_cells_of_a_person_stay_as_they_were(tmp_path):
    path = write_workbook(tmp_path / "pipeline.xlsx", tabs(deals(3)))
    book = openpyxl.load_workbook(path)
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    sheet = book["Deals"]
    sheet["E2"] = CellRichText(["plain ", TextBlock(InlineFont(b=True), "bold")])
    sheet["E3"].fill = openpyxl.styles.PatternFill("solid", start_color="FF0000")
    sheet.merge_cells("I2:J2")
    book.save(path)
    before = _sheet_xml(path, "Deals")
    rows_before = {r.split(">", 1)[0]: r for r in before.split("<row ")[2:5]}
    run_cycle(XlsxBackend(path), NAMES, NOW)
    after = _sheet_xml(path, "Deals")
    for row in rows_before.values():
        for cell in row.split("<c ")[1:]:  # every cell a person had is there, unchanged
            assert "<c " + cell.split("</c>")[0] in after
    assert '<mergeCell ref="I2:J2"/>' in after
    book = openpyxl.load_workbook(path, rich_text=True)
    assert str(book["Deals"]["E2"].value) == "plain bold"
    assert book["Deals"]["E3"].fill.start_color.rgb.endswith("FF0000")


def test_an_excel_table_over_tasks_grows_with_the_rows_appended(tmp_path):
    task = ["T-0", NOW, date(2026, 3, 11), "Ana", "D-0", "Old", "Old task", "hot", "Yes"]
    path = write_workbook(tmp_path / "pipeline.xlsx", tabs(deals(3), tasks=[task]))
    book = openpyxl.load_workbook(path)
    book["Tasks"].add_table(Table(displayName="TaskTable", ref="A1:I2"))
    book.save(path)
    report = run_cycle(XlsxBackend(path), NAMES, NOW)
    added = report.plan.tasks_added
    assert added > 0
    table = openpyxl.load_workbook(path)["Tasks"].tables["TaskTable"]
    assert table.ref == f"A1:I{2 + added}"
    assert table.autoFilter.ref == f"A1:I{2 + added}"


def test_a_date_typed_as_a_number_in_a_date_cell_is_kept_and_reported(tmp_path):
    """20261201 typed into a date-formatted cell: the old engine saved it as #VALUE!."""
    path = write_workbook(tmp_path / "pipeline.xlsx", tabs(deals(2)))
    book = openpyxl.load_workbook(path)
    book["Deals"]["H2"] = 20261201
    book["Deals"]["H2"].number_format = "yyyy-mm-dd"
    book.save(path)
    report = run_cycle(XlsxBackend(path), NAMES, NOW)
    assert any(p.where == "Deals!H2" for p in report.plan.problems)
    run_cycle(XlsxBackend(path), NAMES, NOW + timedelta(days=1))
    assert "<v>20261201</v>" in _sheet_xml(path, "Deals")


def test_a_strict_workbook_is_written_in_its_own_namespaces(tmp_path, shared_data):
    path = tmp_path / "strict.xlsx"
    shutil.copy(shared_data / "xlsx-corpus" / "strict_iso_paths.xlsx", path)
    from sheetpipe.layout import init_sheet

    init_sheet(XlsxBackend(path), NAMES)
    run_cycle(XlsxBackend(path), NAMES, NOW)
    xml = _sheet_xml(path, "Tasks")
    assert 'xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main"' in xml
    assert XlsxBackend(path).read().find("Tasks").header[-1] == "Task ID"


@pytest.mark.parametrize("tab", ["Deals", "History"])
def test_writing_into_rows_without_numbers_keeps_every_cell_in_place(tmp_path, tab):
    """Some tools leave out r= on rows and cells; rows put in between must not shift them."""
    path = write_workbook(tmp_path / "pipeline.xlsx", tabs(deals(3)))
    with zipfile.ZipFile(path) as src:
        items = [(i, src.read(i)) for i in src.infolist()]
    import re

    with zipfile.ZipFile(path, "w") as dst:
        for info, data in items:
            if info.filename.startswith("xl/worksheets/"):
                data = re.sub(rb' r="[A-Z]+\d+"', b"", re.sub(rb'<row r="\d+"', b"<row", data))
            dst.writestr(info, data)
    before = XlsxBackend(path).read()
    report = run_cycle(XlsxBackend(path), NAMES, NOW)
    after = XlsxBackend(path).read()
    expected = apply_changes(before, report.plan.changes)
    assert _values(after, tab) == _values(expected, tab)


def test_after_a_libreoffice_save_the_dropdowns_are_restored_not_doubled(tmp_path):
    """LibreOffice saves a whole-column list cut down to the rows in use (B2:B1049), and
    the rules' formulas in its own spelling: Tasks keeps one pair of Due colours."""
    from .libreoffice import convert

    path = write_workbook(tmp_path / "pipeline.xlsx", tabs(deals(5)))
    run_cycle(XlsxBackend(path), NAMES, NOW)
    convert([path], tmp_path / "saved", "xlsx:Calc MS Excel 2007 XML")
    shutil.copy(tmp_path / "saved" / "pipeline.xlsx", path)  # the person's save
    for day in (1, 2):
        run_cycle(XlsxBackend(path), NAMES, NOW + timedelta(days=day))
    lists = [dv for dv in openpyxl.load_workbook(path)["Deals"].data_validations.dataValidation]
    assert [(str(dv.sqref), dv.formula1) for dv in lists] == [("B2:B1048576", "Lists!$A$2:$A$7")]
    tasks = openpyxl.load_workbook(path)["Tasks"].conditional_formatting
    assert len([rule for span in tasks for rule in span.rules]) == 2
    again = run_cycle(XlsxBackend(path), NAMES, NOW + timedelta(days=2), dry_run=True)
    assert again.plan.changes.formats == []


def test_column_styles_and_widths_are_read_from_the_cols_spans():
    from sheetpipe.xlsx.sheet import column_styles, column_widths, wrapped_lines

    head = (b'<worksheet><cols><col min="1" max="2" width="41" style="7" customWidth="1"/>'
            b'<x:col min="4" max="4" width="10.5"/></cols><colBreaks/><sheetData>')  # fmt: skip
    assert column_styles(head) == {1: 7, 2: 7}
    assert column_widths(head) == {1: 41.0, 2: 41.0, 4: 10.5}
    assert column_styles(b"<worksheet><sheetData>") == {}
    # 40 characters of a 41-wide column hold 44 letters a line: 1, 2, then 3 lines.
    assert [wrapped_lines("x" * n, 41) for n in (44, 45, 89)] == [1, 2, 3]
    assert wrapped_lines(12345, 5) == wrapped_lines("", 5) == 1
