"""The formatting sheetpipe installs on a worksheet, found again and put in place.

These live in the worksheet part around its rows (sheetViews, conditionalFormatting,
dataValidations). They are read and changed on the part's skeleton, the part with its
rows left out, so a large sheet costs no more than a small one. Rules a person made are
kept; only sheetpipe's own (matched by their exact shape) are replaced.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import singledispatch

from lxml import etree

from sheetpipe.colours import colour_rules, due_colours, is_due_rule
from sheetpipe.core.sheet.cells import a1_range, col_index, col_letter, parse_range
from sheetpipe.model import (
    HEALTH_FILLS,
    CellLink,
    DueColours,
    FormatSpec,
    FrozenHeader,
    HealthColours,
    ListDropdown,
    Row,
    marked_cells,
)
from sheetpipe.xlsx.package import parse_xml, to_xml
from sheetpipe.xlsx.sheet import Split
from sheetpipe.xlsx.styles import Styles

LAST_ROW = 1048576  # Excel's last row: rules and lists cover every future deal
HEALTH_RULE = re.compile(r'^\$([A-Z]+)2="(Dead|Stalled|At risk|Hot)"$')
COLUMN_RANGE = re.compile(rf"^\$?([A-Z]+)\$?2:\$?([A-Z]+)\$?{LAST_ROW}$")
# CT_Worksheet's children, in the order the schema requires (Excel refuses others).
ORDER = ("sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData",
         "sheetCalcPr", "sheetProtection", "protectedRanges", "scenarios", "autoFilter",
         "sortState", "dataConsolidate", "customSheetViews", "mergeCells", "phoneticPr",
         "conditionalFormatting", "dataValidations", "hyperlinks", "printOptions",
         "pageMargins", "pageSetup", "headerFooter", "rowBreaks", "colBreaks",
         "customProperties", "cellWatches", "ignoredErrors", "smartTags", "drawing",
         "legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls",
         "webPublishItems", "tableParts", "extLst")  # fmt: skip


class Skeleton:
    """A worksheet part without its rows, parsed."""

    def __init__(self, split: Split):
        self.split = split
        self.root = parse_xml(split.head + split.tail, "a worksheet")
        self.ns = etree.QName(self.root).namespace or ""

    def q(self, name: str) -> str:
        return f"{{{self.ns}}}{name}"

    def children(self, name: str) -> list[etree._Element]:
        return self.root.findall(self.q(name))

    def child(self, name: str) -> etree._Element:
        """The child `name`, made and put in its schema place when missing."""
        found = self.root.find(self.q(name))
        if found is not None:
            return found
        return self.insert(etree.Element(self.q(name)))

    def insert(self, element: etree._Element) -> etree._Element:
        """Put `element` after every sibling the schema orders before or with it."""
        rank = ORDER.index(etree.QName(element).localname)
        at = 0
        for index, child in enumerate(self.root):
            name = etree.QName(child).localname if isinstance(child.tag, str) else None
            if name in ORDER and ORDER.index(name) <= rank:
                at = index + 1
        self.root.insert(at, element)
        return element

    def write_back(self) -> None:
        """Serialise into the split's head and tail, around the rows as they are."""
        xml = to_xml(self.root)
        p = self.split.prefix
        empty = re.search(rb"<" + re.escape(p) + rb"sheetData\b[^>]*?(/>|>\s*</" +
                          re.escape(p) + rb"sheetData>)", xml)  # fmt: skip
        if empty is None:  # lxml may pick another prefix: keep the rows' prefix in step
            raise ValueError("the worksheet's sheetData vanished when serialised")
        self.split.head = xml[: empty.start()] + b"<" + p + b"sheetData>"
        self.split.tail = b"</" + p + b"sheetData>" + xml[empty.end() :]


def installed(skeleton: Skeleton) -> list[FormatSpec]:
    found: list[FormatSpec] = []
    if _frozen_header(skeleton):
        found.append(FrozenHeader())
    colours: dict[tuple[str, str], set[str]] = {}
    for cf in skeleton.children("conditionalFormatting"):
        span = COLUMN_RANGE.match(cf.get("sqref", ""))
        formulas = [_formula(skeleton, rule) for rule in cf.findall(skeleton.q("cfRule"))]
        if not span or span.group(1) != "A":
            continue
        for formula in formulas:
            if match := HEALTH_RULE.match(formula):
                colours.setdefault((match.group(1), span.group(2)), set()).add(match.group(2))
        if due := due_colours(formulas, col_index(span.group(2))):
            found.append(due)
    for (health, last), seen in colours.items():
        if seen == set(HEALTH_FILLS):
            found.append(HealthColours(col_index(health), col_index(last)))
    for dv in _validations(skeleton):
        span = COLUMN_RANGE.match(dv.get("sqref", ""))
        formula = _formula(skeleton, dv, "formula1")
        source = parse_range(formula)
        if dv.get("type") == "list" and span and span.group(1) == span.group(2) and source:
            tab, source_col, first, last = source
            if first == 2:
                found.append(ListDropdown(col_index(span.group(1)), tab, source_col, last - 1))
    return found


@singledispatch
def install(spec: FormatSpec, skeleton: Skeleton, styles: Styles) -> None:
    """Install `spec` in a sheet's XML: one function per format, found by the format's
    type (a new format registers its own). A format a workbook cannot hold (filter views
    per rep, checkboxes) installs nothing."""


@install.register
def _(spec: FrozenHeader, skeleton: Skeleton, styles: Styles) -> None:
    _freeze_header(skeleton)


@install.register
def _(spec: HealthColours, skeleton: Skeleton, styles: Styles) -> None:
    _row_colours(skeleton, colour_rules(spec), spec.last_col, styles, _is_health_rule)


@install.register
def _(spec: DueColours, skeleton: Skeleton, styles: Styles) -> None:
    _row_colours(skeleton, colour_rules(spec), spec.last_col, styles, is_due_rule)


@install.register
def _(spec: ListDropdown, skeleton: Skeleton, styles: Styles) -> None:
    _dropdown(skeleton, spec)


def set_widths(
    skeleton: Skeleton, widths: dict[int, float], wrapped: dict[int, int] | None = None
) -> None:
    """A `<col>` width for each column no `<col>` covers yet: a person's widths stay.
    A column in `wrapped` also gets that style (wrapped text) for the cells made in it."""
    holder = skeleton.root.find(skeleton.q("cols"))
    spans = [] if holder is None else [_span(col) for col in holder]
    for col, chars in sorted(widths.items()):
        if any(low <= col <= high for low, high in spans):
            continue
        if holder is None:
            holder = skeleton.child("cols")
        at = sum(1 for low, _ in spans if low < col)  # <col>s are in column order
        element = etree.Element(skeleton.q("col"), min=str(col), max=str(col),
                                width=f"{chars:g}", customWidth="1")  # fmt: skip
        if wrapped and col in wrapped:
            element.set("style", str(wrapped[col]))
        holder.insert(at, element)
        spans.insert(at, (col, col))


def _span(col: etree._Element) -> tuple[int, int]:
    low = _number(col.get("min")) or 0
    return low, _number(col.get("max")) or low


def filter_header(skeleton: Skeleton, width: int, last_row: int) -> None:
    """A filter over a new tab's rows, its buttons in the header row."""
    ref = f"A1:{col_letter(width)}{last_row}"
    skeleton.insert(etree.Element(skeleton.q("autoFilter"), ref=ref))


def fit_filter(skeleton: Skeleton, rows: int) -> None:
    """A filter from A1 over a tab rewritten whole covers its new rows."""
    found = _filter(skeleton)
    if found and found[1] == "A1":
        found[0].set("ref", f"A1:{found[2]}{max(rows, 1)}")


def extend_filter(skeleton: Skeleton, first: int, last: int) -> None:
    """A filter that ends on the row above appended rows takes them in (as a table does)."""
    found = _filter(skeleton)
    if found and found[3] == first - 1:
        found[0].set("ref", f"{found[1]}:{found[2]}{last}")


def _filter(skeleton: Skeleton) -> tuple[etree._Element, str, str, int] | None:
    """The tab's autoFilter, its first cell (A1), its last column (E) and last row."""
    element = skeleton.root.find(skeleton.q("autoFilter"))
    if element is None:
        return None
    span = re.fullmatch(r"\$?([A-Z]+)\$?(\d+):\$?([A-Z]+)\$?(\d+)", element.get("ref", ""))
    if span is None:
        return None
    return element, span.group(1) + span.group(2), span.group(3), int(span.group(4))


def links_in(rows: list[Row]) -> dict[str, str]:
    """Each CellLink's cell (A14) → where it leads, as a hyperlink's location ('Deals'!D7)."""
    return {
        f"{col_letter(c)}{r}": "'" + link.tab.replace("'", "''") + "'!" + link.cell
        for (r, c), link in marked_cells(rows, CellLink).items()
    }


def set_links(skeleton: Skeleton, links: dict[str, str]) -> None:
    """The tab's links to its own workbook become `links` (Status: sheetpipe owns them all).

    Links to web pages or files (with a relationship id) are a person's, and stay."""
    holder = skeleton.root.find(skeleton.q("hyperlinks"))
    if holder is not None:
        for old in holder:
            if old.get("location") is not None and not _has_relationship(old):
                holder.remove(old)
    for ref, location in links.items():
        if holder is None:
            holder = skeleton.child("hyperlinks")
        etree.SubElement(holder, skeleton.q("hyperlink"), ref=ref, location=location)
    if holder is not None and not len(holder):
        skeleton.root.remove(holder)


def _has_relationship(link: etree._Element) -> bool:
    return any(etree.QName(name).localname == "id" and etree.QName(name).namespace
               for name in link.attrib)  # fmt: skip


def _frozen_header(skeleton: Skeleton) -> bool:
    for view in skeleton.root.iter(skeleton.q("sheetView")):
        pane = view.find(skeleton.q("pane"))
        if (
            pane is not None
            and pane.get("state") in ("frozen", "frozenSplit")
            and _number(pane.get("ySplit")) == 1
            and _number(pane.get("xSplit")) == 0
        ):
            return True  # fmt: skip
    return False


def _freeze_header(skeleton: Skeleton) -> None:
    views = skeleton.child("sheetViews")
    view = views.find(skeleton.q("sheetView"))
    if view is None:
        view = etree.SubElement(views, skeleton.q("sheetView"), workbookViewId="0")
    for old in view.findall(skeleton.q("pane")):
        view.remove(old)
    pane = etree.Element(skeleton.q("pane"), ySplit="1", topLeftCell="A2",
                         activePane="bottomLeft", state="frozen")  # fmt: skip
    view.insert(0, pane)
    for selection in view.findall(skeleton.q("selection")):
        selection.set("pane", "bottomLeft")


def _is_health_rule(formula: str) -> bool:
    return bool(HEALTH_RULE.match(formula))


def _row_colours(
    skeleton: Skeleton,
    rules: dict[str, str],  # formula → fill
    last_col: int,
    styles: Styles,
    ours: Callable[[str], bool],
) -> None:
    """Whole-row colour rules over A2:last, replacing the ones of the same kind installed
    before (a column moved); a person's rules stay, and ours come after theirs."""
    priorities = [0]
    for cf in skeleton.children("conditionalFormatting"):
        for rule in cf.findall(skeleton.q("cfRule")):
            if ours(_formula(skeleton, rule)):
                cf.remove(rule)
            else:
                priorities.append(_number(rule.get("priority")))
        if not len(cf):
            skeleton.root.remove(cf)
    sqref = f"A2:{col_letter(last_col)}{LAST_ROW}"
    cf = etree.Element(skeleton.q("conditionalFormatting"), sqref=sqref)
    for offset, (formula, colour) in enumerate(rules.items(), start=1):
        rule = etree.SubElement(cf, skeleton.q("cfRule"), type="expression",
                                dxfId=str(styles.fill_dxf(colour)),
                                priority=str(max(priorities) + offset))  # fmt: skip
        etree.SubElement(rule, skeleton.q("formula")).text = formula
    _insert_last_of_kind(skeleton, cf)


def _dropdown(skeleton: Skeleton, spec: ListDropdown) -> None:
    letter = col_letter(spec.col)
    target = f"{letter}2:{letter}{LAST_ROW}"
    holder = skeleton.child("dataValidations")
    for dv in holder.findall(skeleton.q("dataValidation")):
        # A list on this column from row 2 is sheetpipe's, even cut short (LibreOffice
        # saves it down to the rows in use): replaced, so that no two lists overlap.
        if dv.get("type") == "list" and _own_column_span(dv.get("sqref", "")) == letter:
            holder.remove(dv)
    dv = etree.SubElement(holder, skeleton.q("dataValidation"), type="list",
                          allowBlank="1", showErrorMessage="1", sqref=target)  # fmt: skip
    source = a1_range(spec.source_tab, spec.source_col, 2, 1 + spec.count)
    etree.SubElement(dv, skeleton.q("formula1")).text = source
    holder.set("count", str(len(holder.findall(skeleton.q("dataValidation")))))


def _own_column_span(sqref: str) -> str | None:
    """The column of a one-column range from row 2 down (B2:B1049 → B), else None."""
    found = re.fullmatch(r"\$?([A-Z]+)\$?2:\$?([A-Z]+)\$?\d+", sqref.strip())
    return found.group(1) if found and found.group(1) == found.group(2) else None


def _insert_last_of_kind(skeleton: Skeleton, element: etree._Element) -> None:
    siblings = skeleton.children(etree.QName(element).localname)
    if siblings:
        siblings[-1].addnext(element)
    else:
        skeleton.insert(element)


def _validations(skeleton: Skeleton) -> list[etree._Element]:
    holder = skeleton.root.find(skeleton.q("dataValidations"))
    return [] if holder is None else holder.findall(skeleton.q("dataValidation"))


def _formula(skeleton: Skeleton, element: etree._Element, name: str = "formula") -> str:
    found = element.find(skeleton.q(name))
    return (found.text or "").strip() if found is not None else ""


def _number(value: str | None) -> int:
    try:
        return int(float(value or 0))
    except ValueError:
        return 0
