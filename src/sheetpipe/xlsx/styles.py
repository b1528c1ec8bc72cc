"""The few styles sheetpipe needs, added to the workbook's styles part once and reused.

Existing entries keep their index (cells point at them by number): sheetpipe only looks
entries up and appends new ones at the end of their list. The part is parsed only when
a cycle writes a date, forced text or a colour rule, and rewritten only when it grew.
"""

from __future__ import annotations

import functools
import re
from copy import deepcopy

from lxml import etree

from sheetpipe.xlsx.package import parse_xml, to_xml

DATE_FORMATS = {"date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm"}
BUILTIN_DATES = set(range(14, 23)) | set(range(27, 37)) | set(range(45, 48)) | set(range(50, 59))
# A number format is a date when it has date or time codes outside quotes and brackets.
_DATE_CODE = re.compile(r"[dmyhs]", re.I)
_LITERAL = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')
# CT_Stylesheet's children, in the order the schema requires.
ORDER = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles",
         "dxfs", "tableStyles", "colors", "extLst")  # fmt: skip
EMPTY = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<styleSheet xmlns="%s"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font>'
    b'</fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill>'
    b'<patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/>'
    b'<right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf '
    b'numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="1"><xf '
    b'numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs><cellStyles '
    b'count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)


_PLAIN = {"numFmtId": "0", "fontId": "0", "fillId": "0", "borderId": "0"}


class Styles:
    def __init__(self, data: bytes | None, main_ns: str):
        self.ns = main_ns
        self._data = data if data is not None else EMPTY % main_ns.encode()
        self._root: etree._Element | None = None
        self.changed = data is None
        self._found: dict[tuple[int, bool], int] = {}  # a workbook may hold a million xfs
        self._named: dict[str, int] = {}

    @property
    def root(self) -> etree._Element:
        if self._root is None:
            self._root = parse_xml(self._data, "styles")
        return self._root

    def to_bytes(self) -> bytes:
        return to_xml(self.root)

    # ---- cell formats (cellXfs) -------------------------------------------------------
    def date(self) -> int:
        return self._xf(numfmt=self._numfmt(DATE_FORMATS["date"]))

    def datetime(self) -> int:
        return self._xf(numfmt=self._numfmt(DATE_FORMATS["datetime"]))

    def text_not_formula(self) -> int:
        """Forced text: Excel's quote prefix, so "=1+1" shows as typed and stays text."""
        return self._xf(numfmt=0, quote=True)

    def bold(self) -> int:
        """The default font in bold, for the header of a tab sheetpipe makes."""
        if "bold" not in self._named:
            fonts = self._list("fonts")
            font = deepcopy(fonts[0]) if len(fonts) else etree.Element(self._q("font"))
            for old in font.findall(self._q("b")):
                font.remove(old)
            font.insert(0, etree.Element(self._q("b")))
            self._named["bold"] = self._xf_with("fontId", self._entry("fonts", font))
        return self._named["bold"]

    def wrap(self) -> int:
        """The default format with text wrapped onto more lines."""
        found = self.find_wrap()
        if found is None:
            xfs = self._list("cellXfs")
            xf = etree.SubElement(
                xfs, self._q("xf"), {**_PLAIN, "xfId": "0", "applyAlignment": "1"}
            )
            etree.SubElement(xf, self._q("alignment"), wrapText="1")
            self._counted(xfs)
            found = self._named["wrap"] = len(xfs) - 1
        return found

    def find_wrap(self) -> int | None:
        """wrap()'s format where the workbook has it already; None (nothing added) if not."""
        if "wrap" not in self._named:
            for index, xf in enumerate(self._list("cellXfs")):
                alignment = xf.find(self._q("alignment"))
                if (len(xf) == 1 and alignment is not None and alignment.get("wrapText") == "1"
                        and all(xf.get(k, "0") == v for k, v in _PLAIN.items())):  # fmt: skip
                    self._named["wrap"] = index
        return self._named.get("wrap")

    def fill(self, rgb: str) -> int:
        """A solid background (an error in Status), on the default font."""
        if rgb not in self._named:
            fill = etree.Element(self._q("fill"))
            pattern = etree.SubElement(fill, self._q("patternFill"), patternType="solid")
            etree.SubElement(pattern, self._q("fgColor"), rgb="FF" + rgb)
            self._named[rgb] = self._xf_with("fillId", self._entry("fills", fill))
        return self._named[rgb]

    def _xf_with(self, part: str, index: int) -> int:
        """A cell format that is the default one but for its font or its fill (`part`)."""
        ids = {"numFmtId": "0", "fontId": "0", "fillId": "0", "borderId": "0", part: str(index)}
        xfs = self._list("cellXfs")
        for found, xf in enumerate(xfs):
            if len(xf) == 0 and all(xf.get(k, "0") == v for k, v in ids.items()):
                return found
        apply = {"fontId": "applyFont", "fillId": "applyFill"}[part]
        etree.SubElement(xfs, self._q("xf"), {**ids, "xfId": "0", apply: "1"})
        self._counted(xfs)
        return len(xfs) - 1

    @functools.cache  # noqa: B019 (one Styles lives for one write)
    def is_date_style(self, index: int) -> bool:
        xfs = self._list("cellXfs")
        if index >= len(xfs):
            return False
        numfmt = int(xfs[index].get("numFmtId", "0"))
        if numfmt in BUILTIN_DATES:
            return True
        code = self._codes().get(numfmt)
        return code is not None and bool(_DATE_CODE.search(_LITERAL.sub("", code)))

    def _xf(self, numfmt: int, quote: bool = False) -> int:
        if (numfmt, quote) not in self._found:
            self._found[numfmt, quote] = self._find_or_add_xf(numfmt, quote)
        return self._found[numfmt, quote]

    def _find_or_add_xf(self, numfmt: int, quote: bool) -> int:
        xfs = self._list("cellXfs")
        for index, xf in enumerate(xfs):
            plain = all(xf.get(k, "0") == "0" for k in ("fontId", "fillId", "borderId", "xfId"))
            if (plain and int(xf.get("numFmtId", "0")) == numfmt and len(xf) == 0
                    and (xf.get("quotePrefix", "0") in ("1", "true")) == quote):  # fmt: skip
                return index
        xf = etree.SubElement(xfs, self._q("xf"))
        for key, value in (("numFmtId", numfmt), ("fontId", 0), ("fillId", 0),
                           ("borderId", 0), ("xfId", 0)):  # fmt: skip
            xf.set(key, str(value))
        xf.set("applyNumberFormat" if numfmt else "quotePrefix", "1")
        self._counted(xfs)
        return len(xfs) - 1

    def _numfmt(self, code: str) -> int:
        for number, existing in self._codes().items():
            if existing == code:
                return number
        fmts = self._list("numFmts")
        number = max([163, *self._codes()]) + 1
        etree.SubElement(fmts, self._q("numFmt"), numFmtId=str(number), formatCode=code)
        self._counted(fmts)
        return number

    def _codes(self) -> dict[int, str]:
        fmts = self.root.find(self._q("numFmts"))
        if fmts is None:
            return {}
        return {int(f.get("numFmtId", "0")): f.get("formatCode", "") for f in fmts}

    # ---- differential formats (dxfs), for conditional formatting ----------------------
    def fill_dxf(self, rgb: str) -> int:
        """A solid fill in a differential format; found again rather than added twice."""
        return self._entry("dxfs", _dxf_fill(self.ns, rgb))

    # ---- the lists --------------------------------------------------------------------
    def _entry(self, name: str, want: etree._Element) -> int:
        """The index of the entry of list `name` (fonts, fills, dxfs) shaped exactly as
        `want`, appended when there is none."""
        holder = self._list(name)
        shape = etree.tostring(want)
        for index, entry in enumerate(holder):
            if etree.tostring(entry) == shape:
                return index
        holder.append(want)
        self._counted(holder)
        return len(holder) - 1

    def _list(self, name: str) -> etree._Element:
        found = self.root.find(self._q(name))
        if found is not None:
            return found
        element = etree.Element(self._q(name), count="0")
        later = ORDER[ORDER.index(name) + 1 :]
        for index, child in enumerate(self.root):
            if isinstance(child.tag, str) and etree.QName(child).localname in later:
                self.root.insert(index, element)
                break
        else:
            self.root.append(element)
        self.changed = True
        return element

    def _counted(self, holder: etree._Element) -> None:
        holder.set("count", str(len(holder)))
        self.changed = True

    def _q(self, name: str) -> str:
        return f"{{{self.ns}}}{name}"


def _dxf_fill(ns: str, rgb: str) -> etree._Element:
    dxf = etree.Element(f"{{{ns}}}dxf")
    fill = etree.SubElement(etree.SubElement(dxf, f"{{{ns}}}fill"), f"{{{ns}}}patternFill")
    fill.set("patternType", "solid")
    etree.SubElement(fill, f"{{{ns}}}fgColor", rgb="FF" + rgb)
    etree.SubElement(fill, f"{{{ns}}}bgColor", rgb="FF" + rgb)
    return dxf
