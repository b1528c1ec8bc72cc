"""What a person sees: the demo workbook rendered by LibreOffice (to PDF), read back as
text with poppler's pdftotext. A date or number too wide for its column shows as ###;
text too wide for its column is cut where the next cell holds something, and the PDF
then holds only the part shown."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from python_calamine import CalamineWorkbook

from sheetpipe.backends.xlsx import XlsxBackend
from sheetpipe.demo import make_demo
from sheetpipe.model import DUE_FILLS, ChangeSet, ColumnWrite
from sheetpipe.sync import run_cycle

from .helpers import NAMES
from .libreoffice import convert

DEAL_ID = re.compile(r"(?<![\w/])D-\d{4,}(?!\w)")  # a deal's ID, not inside a task ID


# Tasks rows 2 to 5 as a person leaves them: (days from today it is due, Done), and the
# colour LibreOffice must show the row in, from sheetpipe's rules (None: no fill).
TASK_STATES = [(-3, "No", DUE_FILLS["overdue"]), (-3, "Yes", None),
               (0, "No", DUE_FILLS["today"]), (4, "No", None)]  # fmt: skip
WHITE = "FFFFFF"


@dataclass
class Rendered:
    text: str  # as pdftotext -layout prints it
    flowing: str  # each cell's text in the order the PDF draws it, spaces collapsed
    sheets: dict[str, list[list]]  # the workbook's cells, by tab
    pdf: Path
    task_ids: list[str] = field(default_factory=list)  # of Tasks rows 2 to 5 (the demo)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Rendered:
    """The demo as LibreOffice prints it, after a person set four tasks' Due and Done."""
    folder = tmp_path_factory.mktemp("demo")
    result = make_demo(folder, force=True, now=datetime.now(UTC))
    _set_task_states(XlsxBackend(result.workbook))
    rendered = _render(result.workbook)
    header, *rows = rendered.sheets["Tasks"]
    rendered.task_ids = [str(row[header.index("Task ID")]) for row in rows[: len(TASK_STATES)]]
    return rendered


@pytest.fixture(scope="module")
def big(tmp_path_factory, worker_id) -> Rendered:
    """10,000 deals of the public CRM data set (with their History and 14,000 tasks),
    laid out by `create` and synced once, printed on large pages (940 pages, a minute).

    Printed once per test run, not once per worker: the first worker to need it prints
    it while the others wait on a lock, then every worker reads the same print from the
    run's shared folder (conftest.py starts one of these tests first, so the print is
    made while the other worker runs the rest of the suite)."""
    import pickle

    import filelock

    from bench.workload import NOW, workload

    from .conftest import SHARED

    if not SHARED.exists():
        pytest.skip(f"shared data not found at {SHARED} (set SHEETPIPE_SHARED)")
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if worker_id != "master" else base  # xdist: one folder per worker
    cache = shared / "render-big.pickle"
    with filelock.FileLock(f"{cache}.lock"):
        if cache.exists():
            return pickle.loads(cache.read_bytes())
        path = shared / "render-big" / "pipeline.xlsx"
        path.parent.mkdir(exist_ok=True)
        snapshot = workload(10_000)
        XlsxBackend(path).create([(t.name, t.rows) for t in snapshot.tabs.values()], "Status")
        run_cycle(XlsxBackend(path), NAMES, NOW)
        rendered = _render(path, large_pages=True)
        cache.write_bytes(pickle.dumps(rendered))
        return rendered


@pytest.fixture(params=["demo", "big"])
def rendered(request) -> Rendered:
    return request.getfixturevalue(request.param)


def _render(workbook: Path, large_pages: bool = False) -> Rendered:
    """`large_pages` prints a copy on A2 without margins, at full size: each cell shows
    what it shows on A4 (a smaller print scale would change the fonts' widths, and
    pdftotext's reading of the text), on a sixth of the pages LibreOffice has to lay out.
    At 10 k deals: 940 pages in about a minute, not 5,300 in nearly three."""
    folder = workbook.parent / "pdf"
    printed = _on_large_pages(workbook) if large_pages else workbook
    convert([printed], folder, "pdf")
    pdf = folder / (printed.stem + ".pdf")
    text = subprocess.run(
        [_poppler("pdftotext"), "-layout", str(pdf), "-"], check=True, capture_output=True,
        text=True,
    ).stdout  # fmt: skip
    raw = subprocess.run([_poppler("pdftotext"), "-raw", str(pdf), "-"], check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    book = CalamineWorkbook.from_path(str(workbook))
    sheets = {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}
    # A line may break after a hyphen, as in a date (2026-⏎11-24): joined without a space.
    flowing = " ".join(re.sub(r"-\n", "-", raw).split())
    return Rendered(text, flowing, sheets, pdf)


# What follows <pageMargins> and <pageSetup> in a worksheet (ECMA-376 Part 1, 18.3.1.99 CT_Worksheet).
AFTER_PAGE_SETUP = re.compile(
    rb"<(?:headerFooter|rowBreaks|colBreaks|customProperties|cellWatches|ignoredErrors"
    rb"|smartTags|drawing|legacyDrawing|legacyDrawingHF|picture|oleObjects|controls"
    rb"|webPublishItems|tableParts|extLst)\b|</worksheet>"
)


A2_WITHOUT_MARGINS = (
    b'<pageMargins left="0" right="0" top="0" bottom="0" header="0" footer="0"/>'
    b'<pageSetup paperSize="66"/>'  # 66: A2 (ECMA-376 Part 1, 18.3.1.63)
)


def _on_large_pages(workbook: Path) -> Path:
    """A copy of `workbook` whose every sheet prints on A2 paper without margins."""
    copy = workbook.with_name(f"{workbook.stem}-printed{workbook.suffix}")
    with zipfile.ZipFile(workbook) as source, zipfile.ZipFile(copy, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", item.filename):
                data = re.sub(rb"<(?:pageMargins|pageSetup)\b[^>]*/>", b"", data)
                at = AFTER_PAGE_SETUP.search(data).start()
                data = data[:at] + A2_WITHOUT_MARGINS + data[at:]
            target.writestr(item, data, zipfile.ZIP_DEFLATED)
    return copy


def _set_task_states(sheet: XlsxBackend) -> None:
    header = sheet.read().find("Tasks").header
    rows = list(range(2, 2 + len(TASK_STATES)))
    today = date.today()  # LibreOffice's TODAY() when it renders
    dues = [today + timedelta(days=days) for days, _, _ in TASK_STATES]
    due = ColumnWrite("Tasks", header.index("Due") + 1, "Due", rows, dues)
    done = ColumnWrite("Tasks", header.index("Done") + 1, "Done", rows,
                       [done for _, done, _ in TASK_STATES])  # fmt: skip
    sheet.apply(ChangeSet(writes=[due, done]), "Status")


def _poppler(tool: str) -> str:
    found = shutil.which(tool)
    assert found, f"{tool} is needed: run the README's test command (poppler-utils)"
    return found


def test_no_date_or_number_shows_as_hashes(rendered):
    text = rendered.text
    lines = [line for line in text.splitlines() if "###" in line]
    assert not lines, f"{len(lines)} lines with ###, first: {lines[:3]}"


def test_every_deal_id_shows_whole(rendered):
    text, sheets = rendered.text, rendered.sheets
    cells = [str(v) for rows in sheets.values() for row in rows for v in row]
    written = Counter(m for value in cells for m in DEAL_ID.findall(value))
    shown = Counter(DEAL_ID.findall(text))
    missing = {i: n - shown[i] for i, n in written.items() if shown[i] < n}
    assert written and not missing, f"IDs cut or missing (id: times): {missing}"


def test_every_deal_name_shows_whole(rendered):
    """Deal names are the longest text people scan, in every tab that shows them
    (Deals, Customers, Tasks, History, Today): each shows as often as the tabs hold it."""
    names = _names(rendered.sheets, "Deal")
    shown = _shown(rendered.text, names)
    cut = {name: n - shown[name] for name, n in names.items() if shown[name] < n}
    assert len(names) > 40 and not cut, f"{len(cut)} deal names cut, e.g. {list(cut)[:3]}"


def test_every_owner_shows_whole(rendered):
    """Owners are the most repeated names: wherever one begins to show, it shows whole
    (cut, "Chloe Martin" and the Done beside it read "Chloe MartiNo")."""
    cut = set()
    for name in _names(rendered.sheets, "Owner"):
        start = name[: max(len(name) // 2, 6)]  # "Team" (Today's manager lines) whole
        shown = re.findall(re.escape(start) + r"\S*(?: \S+)*?(?=\s{2,}|$)", rendered.text, re.M)
        cut |= {s for s in shown if not s.startswith(name)}
    assert not cut, f"owner names cut: {sorted(cut)[:5]}"


@pytest.mark.parametrize("column", ["Task", "Detail"])
def test_sentences_wrap_and_show_whole(rendered, column):
    """Task text and Today's and Status's details run longer than a column: in the rows
    sheetpipe makes they wrap onto more lines in a row tall enough, rather than being
    cut at the next cell. (A deal's Why is in a person's row, whose height sheetpipe
    leaves alone: it shows what its width holds, and Today's Detail the rest.)"""
    values = [" ".join(text.split()) for text in _names(rendered.sheets, column)]
    cut = [value for value in values if value not in rendered.flowing]
    assert values and not cut, f"{len(cut)} of {len(values)} cut, e.g. {cut[:2]}"


def _shown(text: str, names: Counter[str]) -> Counter[str]:
    """How often each of `names` shows in `text` (at least as often as it is written,
    or exactly). Most show as a whole cell, set off by two spaces: those are counted in
    one pass; `str.count` over the whole text is left for the rest (it took half a
    minute for every name at 10 k deals)."""
    shown = Counter(re.split(r" {2,}|\n", text))
    for name, written in names.items():
        if shown[name] < written:
            shown[name] = text.count(name)
    return shown


def _names(sheets: dict[str, list[list]], column: str) -> Counter[str]:
    """How often each value of `column` is in the tabs that have that column."""
    names: Counter[str] = Counter()
    for header, *rows in sheets.values():
        if column in header:
            at = header.index(column)
            names.update(str(row[at]) for row in rows if row[at])
    return names


def test_open_tasks_past_due_show_red_and_due_today_amber(demo, tmp_path):
    """The colours come from the workbook's own rules, evaluated by LibreOffice on the
    day it renders: a ticked task and one due later stay white."""
    seen = {task: _background(demo.pdf, task, tmp_path) for task in demo.task_ids}
    fills = [fill or WHITE for _, _, fill in TASK_STATES]
    assert seen == dict(zip(demo.task_ids, fills, strict=True))


def _background(pdf: Path, word: str, folder: Path) -> str:
    """The colour most of the box of `word`'s first characters shows on its page (glyphs
    are fewer; the word may run on past its cell)."""
    page, (x0, y0, x1, y1) = _word_box(pdf, word)
    x1 = x0 + (x1 - x0) / 4
    subprocess.run([_poppler("pdftoppm"), "-r", "72", "-f", str(page), "-l", str(page),
                    str(pdf), str(folder / "page")], check=True)  # fmt: skip
    (ppm,) = folder.glob("page*.ppm")
    pixels = _read_ppm(ppm)[int(y0) : int(y1) + 1, int(x0) : int(x1) + 1].reshape(-1, 3)
    ppm.unlink()
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    return "".join(f"{c:02X}" for c in colours[counts.argmax()])


def _word_box(pdf: Path, word: str) -> tuple[int, tuple[float, ...]]:
    """The page (1-based) and box, in points, where pdftotext finds `word` first."""
    xhtml = subprocess.run([_poppler("pdftotext"), "-bbox", str(pdf), "-"], check=True,
                           capture_output=True, text=True).stdout  # fmt: skip
    pages = re.split(r"<page\b", xhtml)[1:]
    for number, page in enumerate(pages, start=1):
        for box, text in re.findall(r"<word ([^>]*)>([^<]*)</word>", page):
            if html.unescape(text) == word:
                found = dict(re.findall(r'(\w+)="([\d.]+)"', box))
                return number, tuple(float(found[k]) for k in ("xMin", "yMin", "xMax", "yMax"))
    raise AssertionError(f"{word} is not on any page of {pdf}")


def _read_ppm(path: Path) -> np.ndarray:
    """A binary PPM (P6, as pdftoppm writes it) as rows × columns × RGB."""
    data = path.read_bytes()
    magic, width, height, _maximum, pixels = data.split(maxsplit=4)
    assert magic == b"P6"
    return np.frombuffer(pixels, np.uint8).reshape(int(height), int(width), 3)
