"""A Google Sheet through the real gspread + google-auth stack.

One cycle costs: one `values:batchGet` of every tab (the metadata, with the formatting
sheetpipe installs, is read once and cached); and, only when something changes, one
guard re-read of the touched tabs' header, ID and Deal columns, then one atomic
`spreadsheets:batchUpdate`. An idle cycle is one request; a busy one is three.

If the guard finds that rows moved (sorted, inserted, deleted) since the read, nothing
is written: SheetChanged sends the cycle back to read and plan again. A write whose
outcome is unknown (a timeout, a dropped connection, a 5xx) is never resent as it was:
it raises WriteUncertain, and the fresh read decides (task and history IDs make the
re-planned appends exactly-once).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import gspread
import requests
from google.auth import exceptions as auth_errors
from gspread.exceptions import APIError
from gspread.utils import extract_id_from_url

from sheetpipe.backends.base import Backend
from sheetpipe.backends.google_auth import TIMEOUT, load_credentials, make_session, read_retry
from sheetpipe.backends.google_requests import SheetInfo, build_requests, quote, validation
from sheetpipe.core.sheet import cells
from sheetpipe.core.sheet.cells import plural
from sheetpipe.errors import (
    BackendError,
    NotShared,
    SheetChanged,
    SheetNotFound,
    WriteUncertain,
)
from sheetpipe.model import ChangeSet, Snapshot, Tab, tab_key

META_FIELDS = (
    "properties.title,"
    "sheets(properties(sheetId,title,index,gridProperties),conditionalFormats,filterViews,"
    "data.rowData.values.dataValidation)"
)
META_MAX_AGE = 600.0  # seconds: tabs people add or rename show up within this


def spreadsheet_key(text: str) -> str:
    """The key from a spreadsheet URL, or the key itself."""
    text = text.strip()
    if text.startswith("http"):
        try:
            return extract_id_from_url(text)
        except gspread.exceptions.NoValidUrlKeyFound:
            raise SheetNotFound(
                f"{text} is not a Google Sheets URL; copy it from the address bar."
            ) from None
    return text


class GoogleBackend(Backend):
    def __init__(
        self,
        spreadsheet: str,
        key_file: Path,
        endpoint: str | None = None,
        *,
        timeout: tuple[float, float] = TIMEOUT,
        retry_backoff: float = 0.5,
        tabs: Sequence[str] = (),
    ):
        """`tabs`: the tabs the config names. When they all exist, one request lists them
        with their formats (a fresh process, as from cron, then spends 2 requests on an
        idle cycle); other tabs of the spreadsheet are then not read at all."""
        self.key = spreadsheet_key(spreadsheet)
        self.tabs = tuple(tabs)
        self.key_file = key_file
        self.credentials = load_credentials(key_file)
        session = make_session(self.credentials, endpoint, read_retry(backoff=retry_backoff))
        self.client = gspread.Client(self.credentials, session=session)
        self.client.set_timeout(timeout)
        self.http = self.client.http_client
        self.title = ""
        self._sheets: dict[str, SheetInfo] = {}
        self._meta_at = 0.0
        self._headers: dict[str, list[str]] = {}  # header row of each tab, as last read
        self._extents: dict[str, tuple[int, int]] = {}  # rows, columns of each tab, as read

    def describe(self) -> str:
        return f'Google spreadsheet "{self.title}" ({self.key})' if self.title else self.key

    # ---- reading --------------------------------------------------------------------

    def exists(self) -> bool:
        try:
            self._metadata(force=True)
        except NotShared:
            raise
        except SheetNotFound:
            return False
        return True

    def row_link(self, tab: str, row: int) -> str:
        """The spreadsheet opened at the row (from the metadata already at hand)."""
        info = self._sheets.get(tab_key(tab))
        url = f"https://docs.google.com/spreadsheets/d/{self.key}/edit"
        return f"{url}#gid={info.sheet_id}&range=A{row}" if info else url

    def calls_if_written(self, changes: ChangeSet) -> str:
        if changes.is_empty():
            return super().calls_if_written(changes)
        guard = 1 if any(changes.expect.values()) else 0
        return f"{plural(self.reads + guard, 'read')}, {plural(self.writes + 1, 'write')}"

    def create(self, tabs: list[tuple[str, list[list]]], status_tab: str = "") -> None:
        raise SheetNotFound(
            f"no spreadsheet with the key {self.key}. Create the spreadsheet in Google Sheets, "
            f"share it with {self.credentials.service_account_email} as an Editor, and give "
            "its URL to --google."
        )

    def _call(self, what: str, fn, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN001
        """One API request; any failure becomes an error a user can act on."""
        self.reads += 1  # every request but the batchUpdate is a read
        try:
            return fn(*args, **kwargs)
        except APIError as err:
            raise self._explain(err, what) from None
        except auth_errors.RefreshError as err:
            raise BackendError(
                f"Google refused the key {self.key_file} ({err.args[0] if err.args else err}); "
                "the key may be deleted or disabled: create a new key for the service account."
            ) from None
        except (requests.ConnectionError, requests.Timeout, auth_errors.TransportError) as err:
            raise BackendError(
                f"no answer from the Google Sheets API while {what} ({_network_reason(err)}); "
                "check this machine's network connection. sheetpipe tries again next cycle."
            ) from None

    def _explain(self, err: APIError, what: str) -> Exception:
        code = err.response.status_code
        message = str(err.error.get("message", "")) if isinstance(err.error, dict) else str(err)
        email = self.credentials.service_account_email
        if code == 404:
            return SheetNotFound(
                f"no spreadsheet with the key {self.key}: check [sheet] spreadsheet in "
                "sheetpipe.toml."
            )
        if code == 403 and ("has not been used" in message or "is disabled" in message):
            project = self.credentials.project_id or "your project"
            return BackendError(
                f"the Google Sheets API is not enabled for {project}: enable it at "
                f"https://console.cloud.google.com/apis/library/sheets.googleapis.com?project={project}"
            )
        if code == 403:
            return NotShared(
                f"the spreadsheet {self.key} is not shared with the service account {email}: "
                "open it in Google Sheets, click Share and add that address as an Editor."
            )
        if code == 400 and message.startswith("Unable to parse range"):
            return _StaleTabs(f"a tab was renamed or deleted while {what}: {message}")
        if code == 429:
            return BackendError(
                f"Google's API quota is used up ({message}); sheetpipe backs off and retries."
            )
        return BackendError(f"the Google Sheets API answered {code} while {what}: {message}")

    def _metadata(self, force: bool = False) -> dict[str, SheetInfo]:
        if not force and self._sheets and time.monotonic() - self._meta_at < META_MAX_AGE:
            return self._sheets
        try:
            meta = self._formats(self.tabs) if self.tabs else None
        except _StaleTabs:
            meta = None  # a tab the config names is missing or renamed: list them first
        if meta is None:
            meta = self._formats(self._titles())
        self.title = meta.get("properties", {}).get("title", "")
        self._sheets = {}
        for sheet in meta.get("sheets", []):
            props = sheet["properties"]
            grid = props.get("gridProperties", {})
            info = SheetInfo(
                props["sheetId"],
                props["title"],
                grid.get("rowCount", 0),
                grid.get("columnCount", 0),
                grid.get("frozenRowCount", 0),
                sheet.get("conditionalFormats", []),
                filter_views=sheet.get("filterViews", []),
            )
            for data in sheet.get("data", []):
                for row in data.get("rowData", [])[:1]:
                    for col, value in enumerate(
                        row.get("values", []), start=1 + data.get("startColumn", 0)
                    ):
                        condition = value.get("dataValidation", {}).get("condition", {})
                        found = validation(col, condition)
                        if found is not None:
                            info.validations[col] = found
            self._sheets[tab_key(props["title"])] = info
        self._meta_at = time.monotonic()
        return self._sheets

    def _titles(self) -> list[str]:
        first = self._call(
            "reading the spreadsheet's tabs",
            self.http.fetch_sheet_metadata,
            self.key,
            params={
                "includeGridData": "false",
                "fields": "properties.title,sheets.properties.title",
            },
        )
        return [s["properties"]["title"] for s in first.get("sheets", [])]

    def _formats(self, titles: Sequence[str]) -> dict:
        """The tabs `titles` name, with their formats. Row 2 of every tab carries the
        dropdowns and checkboxes sheetpipe installs."""
        return self._call(
            "reading the spreadsheet's formatting",
            self.http.fetch_sheet_metadata,
            self.key,
            params={"fields": META_FIELDS, "ranges": [f"{quote(t)}!2:2" for t in titles]},
        )

    def read(self, only: Collection[str] | None = None) -> Snapshot:
        sheets = self._metadata()
        wanted = {tab_key(name) for name in only} if only is not None else None
        titles = [s.title for k, s in sheets.items() if wanted is None or k in wanted]
        try:
            answer = self._batch_get(titles)
        except _StaleTabs:
            # A tab renamed or deleted since the metadata was cached: look again, once.
            sheets = self._metadata(force=True)
            titles = [s.title for k, s in sheets.items() if wanted is None or k in wanted]
            answer = self._batch_get(titles)
        tabs = {}
        self._headers, self._extents = {}, {}
        for title, value_range in zip(titles, answer.get("valueRanges", []), strict=True):
            rows = [[None if v == "" else v for v in row] for row in value_range.get("values", [])]
            tabs[title] = Tab(title, rows, sheets[tab_key(title)].formats())
            key = tab_key(title)
            self._headers[key] = _texts(rows[0] if rows else [])
            self._extents[key] = (len(rows), max((len(r) for r in rows), default=0))
        return Snapshot(
            tabs, self.describe(), date_cells="serial", checkboxes=True, filter_views=True
        )

    def _batch_get(self, ranges: list[str]) -> dict:
        return self._call(
            "reading the sheet",
            self.http.values_batch_get,
            self.key,
            [quote(r) for r in ranges],
            params={
                "valueRenderOption": "UNFORMATTED_VALUE",
                "dateTimeRenderOption": "SERIAL_NUMBER",
                "majorDimension": "ROWS",
            },
        )

    # ---- writing ----------------------------------------------------------------------

    def apply(self, changes: ChangeSet, status_tab: str) -> None:
        sheets = self._metadata()
        self._guard(changes, sheets)
        after = {k: copy.deepcopy(v) for k, v in sheets.items()}
        body = {"requests": build_requests(changes, after, status_tab, self._extents)}
        if not body["requests"]:
            return
        try:
            self.http.batch_update(self.key, body)
        except APIError as err:
            self._sheets = {}  # sizes or formats may differ from the cache: read them again
            if err.response.status_code in (400, 403, 404):
                raise self._explain(err, "writing the changes") from None
            raise WriteUncertain(
                f"the write failed ({err.response.status_code}); the sheet is read again to "
                "see what landed."
            ) from None
        except (requests.ConnectionError, requests.Timeout) as err:
            self._sheets = {}
            raise WriteUncertain(
                f"the write's answer was lost ({type(err).__name__}); reading again."
            ) from None
        self.writes += 1
        self._sheets = after  # the metadata as it now is, without asking for it

    def _guard(self, changes: ChangeSet, sheets: dict[str, SheetInfo]) -> None:
        """Re-read the header, ID and Deal columns of every tab about to get cell writes."""
        tabs = [t for t in changes.expect if changes.expect[t]]
        if not tabs:
            return
        ranges = []
        for tab in tabs:
            id_col, deal_col = changes.expect_cols[tab]
            title = sheets[tab_key(tab)].title
            ranges += [f"{quote(title)}!1:1"] + [
                f"{quote(title)}!{c}2:{c}"
                for c in (cells.col_letter(id_col), cells.col_letter(deal_col))
            ]
        answer = self._call(
            "checking the rows before writing",
            self.http.values_batch_get,
            self.key,
            ranges,
            params={
                "valueRenderOption": "UNFORMATTED_VALUE",
                "dateTimeRenderOption": "SERIAL_NUMBER",
            },
        )
        got = answer.get("valueRanges", [])
        for i, tab in enumerate(tabs):
            header, ids, deals = (got[3 * i + k].get("values", []) for k in range(3))
            expected_header = self._headers.get(tab_key(tab))  # as read this cycle
            if (
                expected_header is not None
                and _texts(header[0] if header else []) != expected_header
            ):
                raise SheetChanged(
                    f"the {tab} tab's columns changed since it was read; planning again."
                )
            for row, (want_id, want_deal) in changes.expect[tab].items():
                have_id = cells.text(_at(ids, row - 2))
                have_deal = cells.text(_at(deals, row - 2))
                if (have_id.strip(), have_deal) != (want_id.strip(), want_deal):
                    raise SheetChanged(
                        f"{tab} row {row} now holds another deal than when it was read (rows were "
                        "sorted, inserted or deleted); nothing was written, planning again."
                    )


def _network_reason(err: Exception) -> str:
    """A few words for a failed connection; requests' own text runs to several lines."""
    said = str(err).lower()
    if isinstance(err, requests.Timeout) or "timed out" in said:
        return "timed out"
    for words in ("connection refused", "name or service not known", "network is unreachable"):
        if words in said:
            return words
    return type(err).__name__


class _StaleTabs(BackendError):
    """The cached tab list no longer matches the spreadsheet."""


def _at(column: list[list], index: int) -> object:
    if 0 <= index < len(column) and column[index]:
        return column[index][0]
    return None


def _texts(row: list) -> list[str]:
    out = [cells.text(v) for v in row]
    while out and not out[-1]:
        out.pop()
    return out
