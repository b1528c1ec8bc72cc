"""The workbook as an OPC package: its parts, their relationships, and a faithful copy.

An .xlsx file is a zip of parts (XML and binary) tied together by relationship parts.
sheetpipe models only what it must find its way (the workbook, its sheets, styles and
tables); every other part is carried over as the very bytes that were there, compressed
stream included, the way excelize keeps the parts it does not model.

Part names here are normalised ("xl/worksheets/sheet1.xml": forward slashes, no leading
slash); the zip entries keep the names the file had (some writers use backslashes).
"""

from __future__ import annotations

import posixpath
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from lxml import etree

from sheetpipe.errors import BackendError

PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
STYLES_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
# Transitional and Strict OOXML name the same things in two namespace families.
MAIN_NAMESPACES = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",
)
REL_NAMESPACES = {
    MAIN_NAMESPACES[0]: "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    MAIN_NAMESPACES[1]: "http://purl.oclc.org/ooxml/officeDocument/relationships",
}
SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
# Parts sheetpipe rewrites are compressed at zlib's fastest level: a 100 k-deal sheet is
# ~130 MB of XML, which level 6 takes seconds over, for files ~25 % smaller. (The next
# save in Excel or LibreOffice recompresses them in its own way anyway.)
REWRITE_LEVEL = 1
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an encrypted workbook is a CFB file


def normalise(name: str) -> str:
    return posixpath.normpath(name.replace("\\", "/").lstrip("/"))


def rels_name(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", base + ".rels")


def parse_xml(data: bytes, where: str) -> etree._Element:
    try:
        return etree.fromstring(data, SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        raise PackageError(f"its part {where} is not well-formed XML ({exc})") from exc


def to_xml(root: etree._Element) -> bytes:
    """A part's XML as Office writes it: UTF-8, with a standalone declaration."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


class PackageError(BackendError):
    """The file is not a workbook sheetpipe can change safely; says why."""


@dataclass(frozen=True)
class Relationship:
    id: str
    type: str
    target: str  # a normalised part name, or the raw target when external
    external: bool


@dataclass(frozen=True)
class SheetRef:
    name: str
    sheet_id: int
    rel_id: str
    part: str


class Package:
    """A read view of one workbook file, opened once per read or write."""

    def __init__(self, handle: BinaryIO):
        head = handle.read(8)
        handle.seek(0)
        if head == CFB_MAGIC:
            raise PackageError(
                "it is encrypted (saved with a password to open); sheetpipe cannot open it. "
                "Save a copy without the password (Excel: File → Info → Protect Workbook → "
                "Encrypt with Password, clear it) and point sheetpipe at that copy"
            )
        try:
            self.zip = zipfile.ZipFile(handle)
        except zipfile.BadZipFile as exc:
            raise PackageError(f"it is not an .xlsx package ({exc})") from exc
        self.entries = {normalise(info.filename): info for info in self.zip.infolist()}
        self.workbook_part = self._main_part()
        self.workbook = parse_xml(self.read(self.workbook_part), self.workbook_part)
        self.main_ns = etree.QName(self.workbook).namespace or ""
        if self.main_ns not in MAIN_NAMESPACES:
            raise PackageError(f"its workbook part uses an unknown namespace {self.main_ns!r}")
        self.rel_ns = REL_NAMESPACES[self.main_ns]
        self.workbook_rels = self.rels(self.workbook_part)
        self.sheets = self._sheets()
        pr = self.workbook.find(f"{{{self.main_ns}}}workbookPr")
        self.date1904 = pr is not None and pr.get("date1904", "0").lower() in ("1", "true")

    def has(self, part: str) -> bool:
        return part in self.entries

    def read(self, part: str) -> bytes:
        try:
            return self.zip.read(self.entries[part])
        except KeyError:
            raise PackageError(f"it lacks the part {part} that another part points to") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise PackageError(f"its part {part} is damaged ({exc})") from exc

    def rels(self, part: str) -> list[Relationship]:
        name = rels_name(part)
        if name not in self.entries:
            return []
        found = []
        for rel in parse_xml(self.read(name), name):
            if not isinstance(rel.tag, str) or etree.QName(rel).localname != "Relationship":
                continue
            external = rel.get("TargetMode") == "External"
            target = rel.get("Target", "")
            if not external:
                base = "" if target.startswith("/") else posixpath.dirname(part)
                target = normalise(posixpath.join(base, target))
            found.append(Relationship(rel.get("Id", ""), rel.get("Type", ""), target, external))
        return found

    def workbook_rel(self, kind: str) -> Relationship | None:
        """The workbook's first relationship whose type ends in /kind (both families)."""
        return next((r for r in self.workbook_rels if r.type.rsplit("/", 1)[-1] == kind), None)

    def _main_part(self) -> str:
        for rel in self.rels(""):
            if rel.type.endswith("/officeDocument") and not rel.external:
                return rel.target
        raise PackageError("it has no workbook part (_rels/.rels names none)")

    def _sheets(self) -> list[SheetRef]:
        by_id = {r.id: r for r in self.workbook_rels}
        sheets = []
        holder = self.workbook.find(f"{{{self.main_ns}}}sheets")
        for sheet in holder if holder is not None else []:
            rel = by_id.get(sheet.get(f"{{{self.rel_ns}}}id", ""))
            if rel is None or rel.type.rsplit("/", 1)[-1] != "worksheet":
                continue  # chart sheets and dialog sheets hold no cells
            sheets.append(
                SheetRef(sheet.get("name", ""), int(sheet.get("sheetId", "0")), rel.id, rel.target)
            )
        return sheets

    def styles_part(self) -> str | None:
        rel = self.workbook_rel("styles")
        return rel.target if rel else None


@dataclass(frozen=True)
class Compressed:
    """A part already deflated (raw stream), ready to be written as a zip entry."""

    raw: bytes
    crc: int
    size: int


Content = bytes | Compressed


def compress(pieces: list[bytes | memoryview]) -> Compressed:
    """Deflate a part piece by piece, never joining its pieces into one copy."""
    deflate = zlib.compressobj(REWRITE_LEVEL, zlib.DEFLATED, -15)
    out, crc, size = [], 0, 0
    for piece in pieces:
        out.append(deflate.compress(piece))
        crc = zlib.crc32(piece, crc)
        size += len(piece)
    out.append(deflate.flush())
    return Compressed(b"".join(out), crc, size)


def write_package(
    package: Package,
    out: BinaryIO,
    replaced: dict[str, Content],
    added: dict[str, Content],
    removed: frozenset[str] = frozenset(),
) -> None:
    """Write `package` to `out` with some parts replaced, added or removed.

    Every other entry is copied as its compressed bytes, with its name, time and
    attributes: not re-compressed, so it stays exactly what the user's tool wrote.
    """
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in package.zip.infolist():
            name = normalise(info.filename)
            if name in removed:
                continue
            if name in replaced:
                fresh = zipfile.ZipInfo(info.filename, info.date_time)
                fresh.external_attr = info.external_attr
                _write_entry(dst, fresh, replaced[name])
            else:
                _copy_raw(package.zip, info, dst)
        for name, data in added.items():
            _write_entry(dst, zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)


def _write_entry(dst: zipfile.ZipFile, info: zipfile.ZipInfo, content: Content) -> None:
    if isinstance(content, bytes):
        dst.writestr(info, content, zipfile.ZIP_DEFLATED, REWRITE_LEVEL)
        return
    info.compress_type = zipfile.ZIP_DEFLATED
    info.CRC, info.compress_size, info.file_size = content.crc, len(content.raw), content.size
    _write_raw(dst, info, content.raw)


def _copy_raw(src: zipfile.ZipFile, info: zipfile.ZipInfo, dst: zipfile.ZipFile) -> None:
    """Copy one entry's compressed stream as it is (zipfile has no public call for this)."""
    assert src.fp is not None and dst.fp is not None
    src.fp.seek(info.header_offset)
    local = src.fp.read(30)
    if local[:4] != b"PK\x03\x04":
        raise PackageError(f"its entry {info.filename} is damaged (no local header)")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    src.fp.seek(info.header_offset + 30 + name_len + extra_len)
    data = src.fp.read(info.compress_size)
    if len(data) != info.compress_size:
        raise PackageError(f"its entry {info.filename} is truncated")
    copy = zipfile.ZipInfo(info.filename, info.date_time)
    for attr in ("compress_type", "comment", "extra", "create_system", "create_version",
                 "extract_version", "internal_attr", "external_attr", "CRC",
                 "compress_size", "file_size"):  # fmt: skip
        setattr(copy, attr, getattr(info, attr))
    # Sizes and CRC go in the local header we write, so no data descriptor follows.
    copy.flag_bits = info.flag_bits & ~0x08
    _write_raw(dst, copy, data)


def _write_raw(dst: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes) -> None:
    """Append an entry whose compressed stream, CRC and sizes are already known."""
    assert dst.fp is not None
    info.header_offset = dst.fp.tell()
    zip64 = info.file_size > zipfile.ZIP64_LIMIT or info.compress_size > zipfile.ZIP64_LIMIT
    dst.fp.write(info.FileHeader(zip64))
    dst.fp.write(data)
    dst.filelist.append(info)
    dst.NameToInfo[info.filename] = info
    dst.start_dir = dst.fp.tell()
