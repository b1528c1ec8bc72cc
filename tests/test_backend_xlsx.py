"""The xlsx backend: the shared contract, plus what only a file on disk can get wrong.

Every test writes a real workbook with openpyxl and reads the saved file back.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import date, timedelta

import openpyxl
import pytest

from sheetpipe.backends.xlsx import XlsxBackend
from sheetpipe.core.cycle import plan_cycle
from sheetpipe.core.sheet.cells import parse_cell
from sheetpipe.errors import AlreadyRunning, BackendError, SheetChanged, SheetNotFound, WorkbookBusy
from sheetpipe.model import ChangeSet
from sheetpipe.sync import run_cycle

from .backend_contract import HEADER_FILL, BackendContract, Layout, deals
from .helpers import NAMES, NOW, tabs, write_workbook


class TestXlsxBackend(BackendContract):
    @pytest.fixture
    def backend(self, tmp_path):
        def make(sheets):
            return XlsxBackend(write_workbook(tmp_path / "pipeline.xlsx", sheets))

        return make

    def layout(self, sheet, tab):
        ws = openpyxl.load_workbook(sheet.path)[tab]
        widths = {
            openpyxl.utils.column_index_from_string(letter): dim.width
            for letter, dim in ws.column_dimensions.items()
            if dim.customWidth
        }
        bold = all(cell.font.b for cell in ws[1] if cell.value is not None)
        wrapped = (
            {cell.column for cell in ws[2] if cell.alignment.wrap_text} if ws.max_row > 1 else set()
        )
        return Layout(
            widths, bold, ws.freeze_panes == "A2", ws.auto_filter.ref is not None, wrapped
        )

    def style_header(self, sheet, tab):
        wb = openpyxl.load_workbook(sheet.path)
        for cell in wb[tab][1]:
            cell.font = openpyxl.styles.Font(bold=True)
            cell.fill = openpyxl.styles.PatternFill("solid", fgColor="FF" + HEADER_FILL)
        wb.save(sheet.path)

    def header_fills(self, sheet, tab):
        ws = openpyxl.load_workbook(sheet.path)[tab]
        return [
            cell.fill.fgColor.rgb[-6:] if cell.fill.fill_type == "solid" else None
            for cell in ws[1]
            if cell.value is not None
        ]

    def fills(self, sheet, tab):
        ws = openpyxl.load_workbook(sheet.path)[tab]
        return {
            cell.coordinate: cell.fill.fgColor.rgb[-6:]
            for row in ws.iter_rows()
            for cell in row
            if cell.fill is not None and cell.fill.fill_type == "solid"
        }

    def row_rules(self, sheet, tab):
        ws = openpyxl.load_workbook(sheet.path)[tab]
        return [
            (
                str(span.sqref).replace("1048576", ""),
                rule.formula[0],
                rule.dxf.fill.bgColor.rgb[-6:],
            )
            for span in ws.conditional_formatting
            for rule in span.rules
        ]

    def links(self, sheet, tab):
        ws = openpyxl.load_workbook(sheet.path)[tab]
        return {
            cell.coordinate: parse_cell(cell.hyperlink.location)
            for row in ws.iter_rows()
            for cell in row
            if cell.hyperlink is not None
        }


@pytest.fixture
def workbook(tmp_path):
    return write_workbook(tmp_path / "pipeline.xlsx", tabs(deals()))


def sheet_rows(path, name):
    wb = openpyxl.load_workbook(path)
    return [list(r) for r in wb[name].iter_rows(values_only=True)]


def test_formula_text_is_stored_as_a_string_cell_with_quote_prefix(workbook):
    backend = XlsxBackend(workbook)
    snap = backend.read()
    text = '=HYPERLINK("http://evil.example","click")'
    row = len(snap.find("History").rows) + 1
    backend.apply(ChangeSet(appends=[("History", row, [[NOW, "D-9", text]])]), "Status")
    cell = openpyxl.load_workbook(workbook)["History"].cell(row, 3)
    assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", True)


def test_colour_rules_are_whole_row_keyed_on_health(workbook):
    run_cycle(XlsxBackend(workbook), NAMES, NOW)
    ws = openpyxl.load_workbook(workbook)["Deals"]
    header = [c.value for c in ws[1]]
    health = openpyxl.utils.get_column_letter(header.index("Health") + 1)
    last = openpyxl.utils.get_column_letter(len(header))
    rules = {
        (str(cf.sqref), rule.formula[0], rule.dxf.fill.fgColor.rgb[-6:])
        for cf in ws.conditional_formatting
        for rule in cf.rules
    }
    assert rules == {
        (f"A2:{last}1048576", f'${health}2="Dead"', "F4CCCC"),
        (f"A2:{last}1048576", f'${health}2="Stalled"', "FCE5CD"),
        (f"A2:{last}1048576", f'${health}2="At risk"', "FFF2CC"),
        (f"A2:{last}1048576", f'${health}2="Hot"', "D9EAD3"),
    }
    assert ws.freeze_panes == "A2"
    lists = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}
    assert lists == {"B2:B1048576": "Lists!$A$2:$A$7"}
    choices = [c.value for c in openpyxl.load_workbook(workbook)["Lists"]["A"]]
    assert choices == [
        "Deals stage", "Discovery", "Qualification", "Contact", "Proposal", "Won", "Lost"
    ]  # fmt: skip
    done = openpyxl.load_workbook(workbook)["Tasks"].data_validations.dataValidation
    assert [(str(dv.sqref), dv.formula1) for dv in done] == [("E2:E1048576", "Lists!$C$2:$C$3")]


def test_colour_rules_stay_single_and_keep_a_persons_own_rules(workbook):
    wb = openpyxl.load_workbook(workbook)
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import PatternFill

    mine = CellIsRule(
        operator="greaterThan", formula=["5000"], fill=PatternFill("solid", start_color="0000FF")
    )
    wb["Deals"].conditional_formatting.add("F2:F100", mine)
    wb.save(workbook)
    for i in range(3):
        run_cycle(XlsxBackend(workbook), NAMES, NOW + timedelta(days=i))
    # A new column moves the colour range; the old rules are replaced, not piled up.
    wb = openpyxl.load_workbook(workbook)
    wb["Deals"].cell(1, wb["Deals"].max_column + 1).value = "Notes"
    wb.save(workbook)
    run_cycle(XlsxBackend(workbook), NAMES, NOW + timedelta(days=4))
    ws = openpyxl.load_workbook(workbook)["Deals"]
    formulas = [r.formula[0] for cf in ws.conditional_formatting for r in cf.rules]
    assert len(formulas) == 5 and "5000" in formulas


def test_save_is_atomic_and_keeps_one_backup(workbook):
    before = workbook.read_bytes()
    run_cycle(XlsxBackend(workbook), NAMES, NOW)
    backup = workbook.with_name("pipeline.xlsx.bak")
    assert backup.read_bytes() == before
    assert [p.name for p in workbook.parent.iterdir() if p.name.endswith(".tmp")] == []
    middle = workbook.read_bytes()
    run_cycle(XlsxBackend(workbook), NAMES, NOW + timedelta(days=1))
    assert backup.read_bytes() == middle


def test_a_kill_during_save_leaves_the_old_or_the_new_workbook(tmp_path):
    """SIGKILL a sync at many moments; every time the workbook opens and is whole."""
    path = write_workbook(tmp_path / "pipeline.xlsx", tabs(deals(400)))
    script = textwrap.dedent(
        f"""
        from datetime import datetime
        from sheetpipe.backends.xlsx import XlsxBackend
        from sheetpipe.core.contract import Names
        from sheetpipe.sync import run_cycle
        import itertools
        for day in itertools.count(1):
            run_cycle(XlsxBackend({str(path)!r}), Names(), datetime(2026, 3, day % 28 + 1, 9))
        """
    )
    delays = [0.3, 0.5, 0.7, 0.9, 1.1, 1.4, 1.7, 2.0, 2.5, 3.0]
    killed = 0
    for delay in delays:
        proc = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            killed += 1
        assert proc.returncode == -9, proc.stderr.read().decode()  # killed, not crashed
        wb = openpyxl.load_workbook(path)  # raises if the file is corrupt
        assert wb["Deals"].cell(401, 1).value == "Deal 400"
    # The syncs really ran between the kills: the workbook holds their work.
    history = openpyxl.load_workbook(path)["History"]
    assert killed == len(delays) and history.max_row > 400
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    # A killed save may leave its temporary file behind; it is never the workbook itself.
    assert all(name.startswith(".pipeline.xlsx.") for name in leftovers)


@pytest.mark.parametrize("lock_name", ["~$pipeline.xlsx", ".~lock.pipeline.xlsx#"])
def test_an_open_workbook_is_not_overwritten(workbook, lock_name):
    (workbook.parent / lock_name).write_text("someone")
    before = workbook.read_bytes()
    with pytest.raises(WorkbookBusy, match="open in Excel or LibreOffice"):
        run_cycle(XlsxBackend(workbook), NAMES, NOW)
    assert workbook.read_bytes() == before


def test_a_second_sheetpipe_is_refused(workbook):
    first = XlsxBackend(workbook)
    with first.session(), pytest.raises(AlreadyRunning, match="another sheetpipe"):
        run_cycle(XlsxBackend(workbook), NAMES, NOW)


def test_a_save_by_someone_else_during_the_cycle_writes_nothing(workbook):
    backend = XlsxBackend(workbook)
    with backend.session():
        snap = backend.read()
        plan = plan_cycle(snap, NAMES, NOW)
        wb = openpyxl.load_workbook(workbook)
        wb["Deals"]["A2"] = "Renamed by a person"
        wb.save(workbook)
        os.utime(workbook, ns=(1, 1))
        with pytest.raises(SheetChanged):
            backend.apply(plan.changes, "Status")
    assert sheet_rows(workbook, "Deals")[1][0] == "Renamed by a person"


def test_missing_and_damaged_workbooks_get_one_clear_error(tmp_path):
    with pytest.raises(SheetNotFound, match="sheetpipe init --xlsx"):
        XlsxBackend(tmp_path / "nope.xlsx").read()
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(BackendError, match="could not be read as an .xlsx workbook"):
        XlsxBackend(broken).read()


def test_dates_typed_as_text_and_as_dates_both_work(tmp_path):
    rows = [
        {"Deal": "Real date", "Stage": "Discovery", "Last contact": date(2026, 2, 20)},
        {"Deal": "ISO text", "Stage": "Discovery", "Last contact": "2026-02-20"},
        {"Deal": "Typed DMY", "Stage": "Discovery", "Last contact": "20/02/2026"},
        {"Deal": "Nonsense", "Stage": "Discovery", "Last contact": "last Tuesday"},
        # A typo for 2030: a real date cell, but past pandas' range (2262); no crash.
        {"Deal": "Typo year", "Stage": "Discovery", "Last contact": date(3000, 2, 20)},
        # 2026-02-20 as a serial day number, in a cell not formatted as a date: Excel
        # shows 46073, so it is no date here (on Google a date cell is handed over so).
        {"Deal": "A number", "Stage": "Discovery", "Last contact": 46073},
    ]
    path = write_workbook(tmp_path / "pipeline.xlsx", tabs(rows, weights=[]))
    report = run_cycle(XlsxBackend(path), NAMES, NOW)
    why = report.plan.pipelines[0].desired["Why"].tolist()
    assert why == ["no contact for 18 days"] * 3 + ["", "", ""]  # unreadable counts as empty
    assert [str(p) for p in report.plan.problems] == [
        'Deals!H5: "last Tuesday" is not a date; type it like 2026-11-26 or 26/11/2026 '
        "(Date order DMY). Until then it counts as empty.",
        'Deals!H6: "3000-02-20" is outside the years 1900–2199 (a typo?); correct the year. '
        "Until then it counts as empty.",
        'Deals!H7: "46073" is not a date; type it like 2026-11-26 or 26/11/2026 '
        "(Date order DMY). Until then it counts as empty.",
    ]


def test_formula_cells_are_read_by_their_cached_value(tmp_path):
    """A person's formula column (as Excel saves it, with cached values) feeds the rules."""
    path = write_workbook(
        tmp_path / "pipeline.xlsx", tabs(deals(2), weights=[["Value", ">", "5000", 20, "", ""]])
    )
    wb = openpyxl.load_workbook(path)
    ws = wb["Deals"]
    ws["F2"] = "=3000*3"
    wb.save(path)
    _add_cached_value(path, "Deals", "F2", 9000)
    report = run_cycle(XlsxBackend(path), NAMES, NOW)
    assert report.plan.pipelines[0].desired["Score"].tolist()[0] >= 20
    assert openpyxl.load_workbook(path)["Deals"]["F2"].value == "=3000*3"  # formula kept


def _add_cached_value(path, sheet, ref, value):
    """Write the cached value Excel would store next to a formula (openpyxl writes none)."""
    import re
    import shutil
    import zipfile

    wb = openpyxl.load_workbook(path)
    index = wb.sheetnames.index(sheet) + 1
    name = f"xl/worksheets/sheet{index}.xml"
    tmp = path.with_suffix(".rewrite")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == name:
                xml = data.decode()
                xml = re.sub(
                    rf'(<c r="{ref}"[^>]*>)<f>([^<]*)</f><v\s*(?:/>|></v>)',
                    rf"\1<f>\2</f><v>{value}</v>",
                    xml,
                )
                xml = re.sub(
                    rf'(<c r="{ref}"[^>]*>)<f>([^<]*)</f>(?!<v>)',
                    rf"\1<f>\2</f><v>{value}</v>",
                    xml,
                )
                data = xml.encode()
            dst.writestr(item, data)
    shutil.move(tmp, path)


def _save_as_a_person(path, cell, value):
    """A person's save as Excel and LibreOffice make it: a new file moved into place."""
    wb = openpyxl.load_workbook(path)
    wb["Deals"][cell] = value
    staged = path.with_name("person-save.xlsx")
    wb.save(staged)
    os.replace(staged, path)


@pytest.mark.parametrize("moment", ["after the read", "before the replace"])
def test_a_persons_save_during_a_cycle_is_never_overwritten(workbook, monkeypatch, moment):
    """The save lands at a dangerous moment; the cycle plans again and both edits stay."""
    from sheetpipe.backends import xlsx as engine

    saved = []

    def person_saves():
        if not saved:
            saved.append(True)
            _save_as_a_person(workbook, "A2", "Renamed by a person")

    if moment == "after the read":
        real_read = engine.XlsxBackend.read

        def read_then_save(self):
            snapshot = real_read(self)
            person_saves()
            return snapshot

        monkeypatch.setattr(engine.XlsxBackend, "read", read_then_save)
    else:
        real_replace = engine.replace_atomically

        def save_then_replace(path, write, backup, last_check):
            def check_after_the_save():
                person_saves()
                last_check()

            real_replace(path, write, backup, check_after_the_save)

        monkeypatch.setattr(engine, "replace_atomically", save_then_replace)
    monkeypatch.setattr("sheetpipe.sync.REPLAN_PAUSE", 0.01)
    report = run_cycle(XlsxBackend(workbook), NAMES, NOW)
    assert saved and report.applied
    deals_rows = sheet_rows(workbook, "Deals")
    header = deals_rows[0]
    assert deals_rows[1][0] == "Renamed by a person"  # the person's edit
    assert deals_rows[1][header.index("ID")] == "D-0001"  # and sheetpipe's values
    assert all(row[header.index("Health")] for row in deals_rows[1:])


def test_the_workbook_keeps_its_mode_and_killed_runs_leave_no_temp_files(workbook):
    os.chmod(workbook, 0o664)
    leftover = workbook.with_name(".pipeline.xlsx.abc123.tmp")
    leftover.write_bytes(b"half a workbook from a killed run")
    run_cycle(XlsxBackend(workbook), NAMES, NOW)
    assert oct(workbook.stat().st_mode & 0o777) == "0o664"
    assert not leftover.exists()


def test_text_written_is_never_a_formula_whatever_it_starts_with(workbook):
    backend = XlsxBackend(workbook)
    snap = backend.read()
    texts = ['=HYPERLINK("http://evil.example","x")', "+1", "-2", "@SUM(1)", "=1+1"]
    texts += ["\t=1+1", "\t@SUM(1)", "plain"]  # CR-led: in the contract (openpyxl keeps _x000D_)
    first = len(snap.find("History").rows) + 1
    backend.apply(
        ChangeSet(appends=[("History", first, [[NOW, "D-9", t] for t in texts])]), "Status"
    )
    ws = openpyxl.load_workbook(workbook)["History"]
    cells = [ws.cell(first + i, 3) for i in range(len(texts))]
    assert [c.value for c in cells] == texts
    assert {c.data_type for c in cells} == {"s"}
    assert [c.quotePrefix for c in cells] == [True] * 7 + [False]
    from sheetpipe.xlsx.package import Package

    with open(workbook, "rb") as handle:
        package = Package(handle)
        part = next(s.part for s in package.sheets if s.name == "History")
        history = package.read(part)
    assert b"<f>" not in history and b"<f " not in history and b"inlineStr" in history


def test_a_file_moved_into_place_is_noticed_even_with_the_same_size_and_time(workbook):
    """Sync tools (rsync, cloud drives) replace a file and keep its size and mtime."""
    backend = XlsxBackend(workbook)
    with backend.session():
        snap = backend.read()
        plan = plan_cycle(snap, NAMES, NOW)
        info = workbook.stat()
        staged = workbook.with_name("synced-copy.xlsx")
        staged.write_bytes(workbook.read_bytes())
        os.utime(staged, ns=(info.st_atime_ns, info.st_mtime_ns))
        os.replace(staged, workbook)
        with pytest.raises(SheetChanged):
            backend.apply(plan.changes, "Status")


def test_the_demo_shows_every_header_bold_with_the_columns_sheetpipe_added(tmp_path):
    from datetime import UTC, datetime

    from sheetpipe.demo import make_demo

    make_demo(tmp_path, False, datetime.now(UTC))
    book = openpyxl.load_workbook(tmp_path / "pipeline.xlsx")
    for ws in book.worksheets:
        plain = [cell.value for cell in ws[1] if cell.value is not None and not cell.font.b]
        assert plain == [], ws.title  # was: Deals' ID, Score, Health … not bold


def test_a_header_rows_own_format_goes_to_the_header_cells_sheetpipe_adds(tmp_path):
    """A row formatted whole (customFormat) gives its cells that format, as in Excel."""
    path = write_workbook(tmp_path / "pipeline.xlsx", tabs(deals()))
    book = openpyxl.load_workbook(path)
    book["Deals"].row_dimensions[1].font = openpyxl.styles.Font(italic=True)
    book.save(path)
    run_cycle(XlsxBackend(path), NAMES, NOW)
    header = openpyxl.load_workbook(path)["Deals"][1]
    added = [cell for cell in header if cell.value in ("ID", "Score", "Days in stage")]
    assert len(added) == 3 and all(cell.font.i for cell in added)
    assert not any(cell.font.i for cell in header if cell.value == "Deal"), "typed plain"
