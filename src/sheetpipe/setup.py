"""`sheetpipe init`: write sheetpipe.toml from its commented template, lay out the sheet.

The config is the template with the sheet's keys set through tomlkit, so every comment
that explains a setting stays in the file a person later edits, and any path or URL is
quoted and escaped as TOML requires.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import tomlkit
from tomlkit import TOMLDocument
from tomlkit.items import String, Table

from sheetpipe.backends import Backend
from sheetpipe.config import DEFAULT_CONFIG, load_config
from sheetpipe.layout import init_sheet, template_text


def xlsx_config(workbook: str) -> str:
    """The template for a workbook at `workbook` (relative to the config's folder)."""
    doc, sheet = _template()
    sheet["path"] = workbook  # an assignment keeps the line's comment
    return tomlkit.dumps(doc)


def with_intake(config: str, tab: str, pipeline: str) -> str:
    """The config with an [[intake]] block for `tab`, comments kept."""
    doc = tomlkit.parse(config)
    intake = tomlkit.table()
    intake.add("tab", tab)
    intake.add("pipeline", pipeline)
    blocks = tomlkit.aot()
    blocks.append(intake)
    doc.add("intake", blocks)
    return tomlkit.dumps(doc)


def google_config(spreadsheet: str, credentials: str = "") -> str:
    """The template for a Google spreadsheet, with its key file if one was given."""
    doc, sheet = _template()
    sheet["backend"] = "google"
    del sheet["path"]
    if credentials:
        sheet.add("spreadsheet", _commented(spreadsheet, "the spreadsheet's URL or key"))
        sheet.add("credentials", _commented(credentials, "the service account's key"))
    else:
        hint = 'its URL or key; credentials = "KEY.json", else GOOGLE_APPLICATION_CREDENTIALS'
        sheet.add("spreadsheet", _commented(spreadsheet, hint))
    return tomlkit.dumps(doc)


def _template() -> tuple[TOMLDocument, Table]:
    doc = tomlkit.parse(template_text(DEFAULT_CONFIG))
    sheet = doc["sheet"]
    assert isinstance(sheet, Table)  # the template's [sheet] section
    return doc, sheet


def _commented(value: str, comment: str) -> String:
    item = tomlkit.string(value)
    item.comment(comment)
    return item


@dataclass
class InitResult:
    sheet: str  # the workbook or the spreadsheet, as the messages name it
    config: Path
    config_written: bool  # False: an existing sheetpipe.toml was used as it is
    added: list[str] = field(default_factory=list)  # the tabs added

    def lines(self) -> list[str]:
        config = (
            f"Wrote {self.config}." if self.config_written else f"Using the existing {self.config}."
        )
        if self.added:
            done = f"Added to {self.sheet}: {', '.join(self.added)}."
        else:
            done = f"{self.sheet} already has every tab; nothing changed."
        return [config, done, "Next: add deals to the pipeline tabs, then run `sheetpipe sync`."]


def init_xlsx(workbook: Path, config_path: Path | None = None) -> InitResult:
    """Create `workbook` (or add the tabs it lacks) and its config, by default beside it."""
    from sheetpipe.backends.xlsx import XlsxBackend

    config_path = config_path or workbook.parent / DEFAULT_CONFIG
    text = xlsx_config(relative(workbook, config_path.parent))
    return _init(XlsxBackend(workbook), config_path, text)


def init_google(spreadsheet: str, credentials: Path | None, config_path: Path) -> InitResult:
    """Add the missing tabs to an existing Google spreadsheet; write its config."""
    from sheetpipe.backends.google import GoogleBackend
    from sheetpipe.backends.google_auth import find_key

    # The key is looked up first, so a missing key stops before any file is written.
    key = find_key(str(credentials or ""), Path.cwd())
    shown = relative(credentials, config_path.parent) if credentials else ""
    text = google_config(spreadsheet, shown)
    return _init(GoogleBackend(spreadsheet, key), config_path, text)


def _init(backend: Backend, config_path: Path, text: str) -> InitResult:
    """Write the config unless there is one (its tab names then rule), then lay out."""
    written = not config_path.exists()
    if written:
        config_path.parent.mkdir(parents=True, exist_ok=True)
        config_path.write_text(text, encoding="utf-8")
    added = init_sheet(backend, load_config(config_path).names)
    # Described once laid out: a Google spreadsheet's title is known after the first read.
    return InitResult(backend.describe(), config_path, written, added)


def relative(path: Path, folder: Path) -> str:
    """`path` as the config names it: relative to the config's folder where it can be."""
    try:
        return str(path.resolve().relative_to(folder.resolve()))
    except ValueError:
        return str(path.resolve())
