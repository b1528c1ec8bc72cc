"""A change set turned into the few parts of a workbook package that must change.

Cells go into their worksheet parts (sheet.py); formats into the parts' skeletons
(formats.py); new tabs add a worksheet part and extend the workbook, its relationships
and the content types; styles grow only by what sheetpipe needs. An Excel table that
ends on the row above appended rows is extended over them. Everything else in the
package stays as it was.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict

from lxml import etree

from sheetpipe.core.sheet.cells import col_letter
from sheetpipe.model import (
    ChangeSet,
    FrozenHeader,
    Row,
    Shaded,
    marked_cells,
    tab_key,
    whole_tabs,
)
from sheetpipe.xlsx.formats import (
    Skeleton,
    extend_filter,
    filter_header,
    fit_filter,
    install,
    links_in,
    set_links,
    set_widths,
)
from sheetpipe.xlsx.package import (
    CONTENT_TYPES_NS,
    PKG_RELS,
    STYLES_TYPE,
    WORKSHEET_TYPE,
    Content,
    Package,
    PackageError,
    SheetRef,
    compress,
    parse_xml,
    rels_name,
    to_xml,
)
from sheetpipe.xlsx.sheet import (
    Cells,
    CellStyles,
    Rewrite,
    Split,
    column_widths,
    rows_as_cells,
    update_dimension,
)
from sheetpipe.xlsx.styles import Styles

CONTENT_TYPES = "[Content_Types].xml"
TABLE_REF = re.compile(rb"""\bref\s*=\s*["']([A-Z]+)(\d+):([A-Z]+)(\d+)["']""")


class WorkbookEdit:
    def __init__(self, package: Package):
        self.pkg = package
        self.sheets = list(package.sheets)
        self.rewrites: dict[str, Rewrite] = {}
        self.skeletons: dict[str, Skeleton] = {}
        self.added: dict[str, Content] = {}
        self.replaced: dict[str, Content] = {}
        self.removed: set[str] = set()
        self.appended: dict[str, tuple[int, int]] = {}  # part → first and last new row
        self._styles: Styles | None = None
        self._workbook_changed = False
        self._new_rels: list[tuple[str, str, str]] = []  # id, type, target (relative)
        self._new_types: dict[str, str] = {}  # part → content type
        self.formulas_dropped = False

    # ---- the change set ---------------------------------------------------------------
    def apply(self, changes: ChangeSet, status_tab: str) -> None:
        """Carry out `changes`, one worksheet part at a time: each part is loaded, changed
        and compressed before the next is loaded (a 100 k-deal sheet is ~130 MB of XML)."""
        for name, rows in changes.new_tabs:
            if self.find(name) is None:
                self.add_tab(name, rows, with_filter=tab_key(name) != tab_key(status_tab))
        whole = whole_tabs(changes, status_tab)  # Status, Today: rewritten whole
        rewritten: dict[str, list[Row]] = {}
        for name, rows in whole.items():
            if self.find(name) is None:
                self.add_tab(name, rows, with_filter=tab_key(name) != tab_key(status_tab))
            else:
                rewritten[self.part(name)] = rows
        links = {self.part(name): links_in(rows) for name, rows in whole.items()}
        cells: dict[str, Cells] = defaultdict(lambda: defaultdict(dict))
        for tab, col, header in changes.new_columns:
            cells[self.part(tab)][1][col] = header
        for write in changes.writes:
            target = cells[self.part(write.tab)]
            for row, value in zip(write.rows, write.values, strict=True):
                target[row][write.col] = value
        for tab, first, rows in changes.appends:
            target = cells[self.part(tab)]
            for row, values in rows_as_cells(rows, first).items():
                target[row].update(values)
            if rows:
                self.appended[self.part(tab)] = (first, first + len(rows) - 1)
        formats = defaultdict(list)
        for tab, spec in changes.formats:
            formats[self.part(tab)].append(spec)
        widths: dict[str, dict[int, float]] = defaultdict(dict)
        for tab, col, chars in changes.widths:
            widths[self.part(tab)][col] = chars
        wrapped: dict[str, dict[int, int]] = defaultdict(dict)
        for tab, col in changes.wrapped:
            wrapped[self.part(tab)][col] = self.styles.wrap()
        for part in dict.fromkeys([*cells, *formats, *widths, *links]):
            rewrite = self.rewrite(part)
            rewrite.column_styles |= wrapped.get(part, {})  # before the cells are made
            rewrite.wrapped = self._wrapped_widths(rewrite, widths.get(part, {}))
            rewrite.set_cells(cells.get(part, {}))
            if part in rewritten:  # last: the tab is rewritten whole
                rows = rewritten[part]
                shaded = marked_cells(rows, Shaded).items()
                fills = {at: self.styles.fill(cell.rgb) for at, cell in shaded}
                rewrite.replace_all(rows, fills)
                fit_filter(self.skeleton(part), len(rewritten[part]))
            if part in links:
                set_links(self.skeleton(part), links[part])
            for spec in formats.get(part, []):
                install(spec, self.skeleton(part), self.styles)
            if part in widths:
                set_widths(self.skeleton(part), widths[part], wrapped.get(part))
            if part in self.appended and b"autoFilter" in rewrite.split.tail:
                extend_filter(self.skeleton(part), *self.appended[part])
            self._finish(part)

    def _wrapped_widths(self, rewrite: Rewrite, new: dict[int, float]) -> dict[int, float]:
        """Width of each column of the part whose cells wrap (its style is wrap())."""
        wrap = self.styles.find_wrap() if rewrite.column_styles else None
        if wrap is None:
            return {}
        known = column_widths(rewrite.split.head) | new
        return {col: known[col] for col, style in rewrite.column_styles.items()
                if style == wrap and col in known}  # fmt: skip

    def _finish(self, part: str) -> None:
        """Write a changed worksheet part out (compressed) and let its XML go."""
        rewrite = self.rewrites.pop(part)
        skeleton = self.skeletons.pop(part, None)
        if skeleton is not None:
            skeleton.write_back()
        update_dimension(rewrite.split, rewrite.max_row, rewrite.max_col)
        self.formulas_dropped |= rewrite.formulas_dropped
        self._store(part, compress(rewrite.split.pieces()))

    def find(self, name: str) -> SheetRef | None:
        want = tab_key(name)
        return next((s for s in self.sheets if tab_key(s.name) == want), None)

    def part(self, name: str) -> str:
        sheet = self.find(name)
        if sheet is None:
            raise PackageError(f"it has no tab {name!r} (was it deleted during the cycle?)")
        return sheet.part

    # ---- parts ------------------------------------------------------------------------
    def rewrite(self, part: str) -> Rewrite:
        if part not in self.rewrites:
            data = self.added[part] if part in self.added else self.pkg.read(part)
            assert isinstance(data, bytes), f"{part} was finished already"
            self.rewrites[part] = Rewrite(Split.of(data), self._cell_styles())
        return self.rewrites[part]

    def skeleton(self, part: str) -> Skeleton:
        if part not in self.skeletons:
            self.skeletons[part] = Skeleton(self.rewrite(part).split)
        return self.skeletons[part]

    @property
    def styles(self) -> Styles:
        if self._styles is None:
            part = self.pkg.styles_part()
            data = self.pkg.read(part) if part and self.pkg.has(part) else None
            self._styles = Styles(data, self.pkg.main_ns)
        return self._styles

    def _cell_styles(self) -> CellStyles:
        return CellStyles(
            date=lambda: self.styles.date(),
            datetime=lambda: self.styles.datetime(),
            text_not_formula=lambda: self.styles.text_not_formula(),
            is_date_style=lambda index: self.styles.is_date_style(index),
            date1904=self.pkg.date1904,
        )

    # ---- new tabs ---------------------------------------------------------------------
    def add_tab(self, name: str, rows: list[Row], with_filter: bool = True) -> None:
        """A new worksheet holding `rows`, its header bold and frozen, with a filter."""
        protection = self.pkg.workbook.find(self._q("workbookProtection"))
        if protection is not None and protection.get("lockStructure") in ("1", "true"):
            raise PackageError(
                f"its structure is protected, so no tab can be added (it needs {name!r}); "
                "unprotect it (Excel: Review → Protect Workbook) or add the tab yourself"
            )
        part = self._new_part_name()
        rel_id = self._new_rel_id()
        sheet_id = max([0, *(s.sheet_id for s in self.sheets)]) + 1
        width = len(rows[0]) if rows else 0
        # Empty header cells in the bold style: the header's values are written into them
        # and keep it, as into any styled cell.
        bold = self.styles.bold() if width else 0
        header = b"".join(b'<c r="%s1" s="%d"/>' % (col_letter(c).encode(), bold)
                          for c in range(1, width + 1))  # fmt: skip
        self.added[part] = (
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="%s" '
            b'xmlns:r="%s"><dimension ref="A1"/><sheetData>%s</sheetData></worksheet>'
            % (self.pkg.main_ns.encode(), self.pkg.rel_ns.encode(),
               b'<row r="1">%s</row>' % header if header else b"")
        )  # fmt: skip
        holder = self.pkg.workbook.find(self._q("sheets"))
        if holder is None:
            raise PackageError("its workbook part lists no sheets")
        etree.SubElement(holder, self._q("sheet"), {"name": name, "sheetId": str(sheet_id),
                         f"{{{self.pkg.rel_ns}}}id": rel_id})  # fmt: skip
        self._workbook_changed = True
        target = posixpath.relpath(part, posixpath.dirname(self.pkg.workbook_part) or ".")
        self._new_rels.append((rel_id, f"{self.pkg.rel_ns}/worksheet", target))
        self._new_types[part] = WORKSHEET_TYPE
        self.sheets.append(SheetRef(name, sheet_id, rel_id, part))
        self.rewrite(part).set_cells(rows_as_cells(rows))
        if width:
            install(FrozenHeader(), self.skeleton(part), self.styles)
            if with_filter:
                filter_header(self.skeleton(part), width, max(len(rows), 1))

    def _new_part_name(self) -> str:
        folder = (
            posixpath.dirname(self.sheets[0].part)
            if self.sheets
            else posixpath.join(posixpath.dirname(self.pkg.workbook_part), "worksheets")
        )
        taken = {n.casefold() for n in (*self.pkg.entries, *self.added)}
        n = len(self.sheets) + 1
        while posixpath.join(folder, f"sheet{n}.xml").casefold() in taken:
            n += 1
        return posixpath.join(folder, f"sheet{n}.xml")

    def _new_rel_id(self) -> str:
        taken = {r.id for r in self.pkg.workbook_rels} | {r[0] for r in self._new_rels}
        n = len(taken) + 1
        while f"rId{n}" in taken:
            n += 1
        return f"rId{n}"

    def _q(self, name: str) -> str:
        return f"{{{self.pkg.main_ns}}}{name}"

    # ---- the result -------------------------------------------------------------------
    def parts(self) -> tuple[dict[str, Content], dict[str, Content], frozenset[str]]:
        """Replaced, added and removed parts."""
        for part in list(self.rewrites):
            self._finish(part)  # new tabs nothing else changed
        for part, (first, last) in self.appended.items():
            self._extend_tables(part, first, last)
        if self._styles is not None and self._styles.changed:
            self._store_styles()
        if self.formulas_dropped:
            self._drop_calc_chain()
        if self._workbook_changed:
            self._store(self.pkg.workbook_part, to_xml(self.pkg.workbook))
        if self._new_rels or self.removed:
            self._store_workbook_rels()
        if self._new_types or self.removed:
            self._store_content_types()
        return self.replaced, self.added, frozenset(self.removed)

    def _store(self, part: str, data: Content) -> None:
        if part in self.added:
            self.added[part] = data
        else:
            self.replaced[part] = data

    def _store_styles(self) -> None:
        styles = self.styles
        part = self.pkg.styles_part()
        if part is None or not self.pkg.has(part):
            part = posixpath.join(posixpath.dirname(self.pkg.workbook_part), "styles.xml")
            if part in self.pkg.entries:
                part = posixpath.join(posixpath.dirname(part), "sheetpipe-styles.xml")
            self.added[part] = b""
            target = posixpath.relpath(part, posixpath.dirname(self.pkg.workbook_part) or ".")
            if self.pkg.styles_part() is None:
                self._new_rels.append((self._new_rel_id(), f"{self.pkg.rel_ns}/styles", target))
            self._new_types[part] = STYLES_TYPE
        self._store(part, styles.to_bytes())

    def _drop_calc_chain(self) -> None:
        """A formula cell replaced by a value leaves calcChain pointing at nothing, which
        Excel reports as damage; without the part, Excel rebuilds it on load."""
        rel = self.pkg.workbook_rel("calcChain")
        if rel is not None and self.pkg.has(rel.target):
            self.removed.add(rel.target)

    def _extend_tables(self, part: str, first: int, last: int) -> None:
        source = self.added.get(part)
        rels = [] if source is not None else self.pkg.rels(part)
        for rel in rels:
            if rel.type.rsplit("/", 1)[-1] != "table" or rel.external:
                continue
            data = self.replaced.get(rel.target) or self.pkg.read(rel.target)
            assert isinstance(data, bytes)
            head = data[: data.find(b">", data.find(b"<table") if b"<table" in data else 0)]
            found = TABLE_REF.search(head)
            totals = re.search(rb"""totalsRowCount\s*=\s*["']([1-9])""", head)
            if found is None or totals or int(found.group(4)) != first - 1:
                continue
            old = found.group(0)
            new = old.replace(found.group(3) + found.group(4), found.group(3) + str(last).encode())
            self.replaced[rel.target] = data.replace(old, new)

    def _store_workbook_rels(self) -> None:
        name = rels_name(self.pkg.workbook_part)
        root = parse_xml(self.pkg.read(name), name)
        for child in list(root):
            if isinstance(child.tag, str) and self._rel_target(child) in self.removed:
                root.remove(child)
        for rel_id, kind, target in self._new_rels:
            etree.SubElement(root, f"{{{PKG_RELS}}}Relationship", Id=rel_id, Type=kind,
                             Target=target)  # fmt: skip
        self._store(name, to_xml(root))

    def _rel_target(self, rel: etree._Element) -> str:
        base = posixpath.dirname(self.pkg.workbook_part)
        target = rel.get("Target", "")
        joined = target.lstrip("/") if target.startswith("/") else posixpath.join(base, target)
        return posixpath.normpath(joined.replace("\\", "/"))

    def _store_content_types(self) -> None:
        root = parse_xml(self.pkg.read(CONTENT_TYPES), CONTENT_TYPES)
        for child in list(root):
            part = (child.get("PartName") or "").lstrip("/")
            if isinstance(child.tag, str) and part in self.removed:
                root.remove(child)
        for part, kind in self._new_types.items():
            etree.SubElement(root, f"{{{CONTENT_TYPES_NS}}}Override", PartName="/" + part,
                             ContentType=kind)  # fmt: skip
        self._store(CONTENT_TYPES, to_xml(root))
