"""Real workbooks (../shared/data/xlsx-corpus) stay their users' through init and syncs.

Each workbook is copied, laid out with `init`, given deals and synced twice. Then every
part sheetpipe had no reason to change must be byte for byte what it was (after
decompression), the parts it extends must still hold all they held, every person's cell
must read the same, the deals must be scored, and python-calamine, openpyxl and
LibreOffice must open the result.
"""

from __future__ import annotations

import io
import shutil
import warnings
import zipfile
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
import python_calamine as calamine
from lxml import etree

from sheetpipe.backends.xlsx import XlsxBackend
from sheetpipe.errors import BackendError
from sheetpipe.layout import init_sheet
from sheetpipe.model import ChangeSet
from sheetpipe.sync import run_cycle
from sheetpipe.xlsx.package import Package, normalise, rels_name

from .backend_contract import deals
from .conftest import SHARED
from .helpers import NAMES, NOW
from .libreoffice import convert, sheet_csv

CORPUS = SHARED / "xlsx-corpus"
FILES = sorted(p.name for p in CORPUS.glob("*.xls[xm]")) if CORPUS.exists() else []
# What sheetpipe refuses, with the line it says, leaving the file as it was.
REFUSED = {
    "pass_protected.xlsx": "it is encrypted (saved with a password to open)",
    "issue252.xlsx": "its part xl/_rels/workbook.xml.rels is damaged (Bad CRC-32",
}
# openpyxl cannot load these originals either (calamine and LibreOffice can), or, for
# Strict OOXML, loads the original without a single sheet.
OPENPYXL_CANNOT = {
    "empty_s_attribute.xlsx", "issue_419.xlsx", "issue_530.xlsx", "minimal_package.xlsx",
    "pivots.xlsx", "strict_iso_paths.xlsx",
}  # fmt: skip
# LibreOffice cannot load this original either (its part names use backslashes).
LIBREOFFICE_CANNOT = {"issue_530.xlsx"}
KEPT = [name for name in FILES if name not in REFUSED]
STYLE_LISTS = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "dxfs")


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as package:
        return {normalise(i.filename): package.read(i) for i in package.infolist()}


def sync_a_copy(source: Path, folder: Path) -> Path:
    """What a new user does: init the tabs into their workbook, add deals, sync twice."""
    path = folder / source.name
    shutil.copy(source, path)
    backend = XlsxBackend(path)
    init_sheet(backend, NAMES)
    with backend.session():
        tab = backend.read().find("Deals")
        rows = [[deal.get(h) for h in tab.header] for deal in deals(4)]
        backend.apply(ChangeSet(appends=[("Deals", len(tab.rows) + 1, rows)]), "Status")
    run_cycle(backend, NAMES, NOW)
    run_cycle(backend, NAMES, NOW + timedelta(days=1))
    return path


@pytest.fixture(scope="module")
def synced(tmp_path_factory) -> dict[str, Path]:
    if not CORPUS.exists():
        pytest.skip(f"the xlsx corpus is not at {CORPUS} (set SHEETPIPE_SHARED)")
    folder = tmp_path_factory.mktemp("corpus")
    return {name: sync_a_copy(CORPUS / name, folder) for name in KEPT}


def test_the_corpus_is_all_there(shared_data):
    assert len(FILES) == 69, f"expected the 69 workbooks of {CORPUS}"


@pytest.mark.parametrize("name", KEPT)
def test_parts_sheetpipe_does_not_own_come_through_unchanged(synced, name):
    before, after = parts(CORPUS / name), parts(synced[name])
    with open(CORPUS / name, "rb") as handle:
        package = Package(io.BytesIO(handle.read()))
    extended = {
        package.workbook_part,
        rels_name(package.workbook_part),
        "[Content_Types].xml",
        package.styles_part(),
    }
    assert set(before) <= set(after), "a part disappeared"
    changed = sorted(p for p in before if before[p] != after[p] and p not in extended)
    assert changed == []
    assert (
        _sheets(before[package.workbook_part])
        == _sheets(after[package.workbook_part])[: len(_sheets(before[package.workbook_part]))]
    )
    for part in extended - {package.workbook_part}:
        if part in before and part != package.styles_part():
            assert _entries(before[part]) <= _entries(after[part]), part
    if package.styles_part() in before:
        old, new = (
            _style_lists(before[package.styles_part()]),
            _style_lists(after[package.styles_part()]),
        )
        for key, items in old.items():
            assert new[key][: len(items)] == items, f"styles {key} moved"


@pytest.mark.parametrize("name", KEPT)
def test_every_persons_cell_reads_the_same_and_the_deals_are_scored(synced, name):
    before = calamine.CalamineWorkbook.from_path(str(CORPUS / name))
    after = calamine.CalamineWorkbook.from_path(str(synced[name]))
    for sheet in before.sheet_names:
        assert (
            before.get_sheet_by_name(sheet).to_python()
            == after.get_sheet_by_name(sheet).to_python()
        )
    backend = XlsxBackend(synced[name])
    deals_tab = backend.read().find("Deals")
    score = deals_tab.header.index("Score")
    assert [type(row[score]) for row in deals_tab.rows[1:]] == [int] * 4
    assert XlsxBackend(synced[name]).read().find("Tasks").rows[1:], "no tasks were added"
    with zipfile.ZipFile(synced[name]) as package:
        assert package.testzip() is None
    if name not in OPENPYXL_CANNOT:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(synced[name])
        assert book["Deals"].cell(2, 1).value == "Deal 1"


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_workbook_that_cannot_be_handled_safely_is_refused_and_left_as_it_was(
    shared_data, tmp_path, name
):
    path = tmp_path / name
    shutil.copy(CORPUS / name, path)
    with pytest.raises(BackendError) as error:
        init_sheet(XlsxBackend(path), NAMES)
    assert REFUSED[name] in str(error.value) and "Nothing was changed" in str(error.value)
    assert path.read_bytes() == (CORPUS / name).read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_libreoffice_opens_every_synced_workbook_and_sees_the_scores(synced, tmp_path):
    readable = {name: path for name, path in synced.items() if name not in LIBREOFFICE_CANNOT}
    convert(list(readable.values()), tmp_path)
    for name, path in readable.items():
        rows = sheet_csv(tmp_path, path, "Deals")
        header = rows[0]
        assert [r[0] for r in rows[1:]] == ["Deal 1", "Deal 2", "Deal 3", "Deal 4"], name
        scores = [r[header.index("Score")] for r in rows[1:]]
        assert all(s.isdigit() for s in scores), (name, scores)


def _sheets(workbook: bytes) -> list[tuple]:
    root = etree.fromstring(workbook)
    return [
        (s.get("name"), s.get("sheetId"), *[v for k, v in s.attrib.items() if k.endswith("}id")])
        for s in root.iter()
        if isinstance(s.tag, str) and etree.QName(s).localname == "sheet"
    ]


def _entries(xml: bytes) -> set[tuple]:
    """Relationships or content types as comparable tuples of their attributes."""
    return {
        tuple(sorted(e.attrib.items())) for e in etree.fromstring(xml) if isinstance(e.tag, str)
    }


def _style_lists(xml: bytes) -> dict[str, list[bytes]]:
    root = etree.fromstring(xml)
    return {
        etree.QName(holder).localname: [etree.tostring(e) for e in holder]
        for holder in root
        if isinstance(holder.tag, str) and etree.QName(holder).localname in STYLE_LISTS
    }
