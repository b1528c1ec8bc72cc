"""The emulator's HTTP server: routing, quotas, fault injection and the request log.

One port answers both Google hosts' paths (`/v4/spreadsheets…` for Sheets,
`/drive/v3/files…` for Drive) and `POST /token`. Requests are served one at a time
under one lock, so each is atomic, as Google's are for a single spreadsheet.
"""

from __future__ import annotations

import contextlib
import gc
import json
import random
import re
import socket
import threading
import time
import traceback
from collections import deque
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from . import drive_api, sheets_api
from .auth import UNAUTHENTICATED, Auth
from .model import Spreadsheet
from .sheets_api import ApiError

QUOTA_MESSAGE = (
    "Quota exceeded for quota metric '{kind} requests' and limit '{kind} requests per minute "
    "per user' of service 'sheets.googleapis.com' for consumer 'project_number:000000000000'."
)


def _typed_cell(value: Any, cell: type) -> Any:
    from datetime import date as _date
    from datetime import datetime as _datetime

    from .cellvalues import from_python

    if value is None or value == "":
        return None
    if isinstance(value, _datetime):
        fmt = {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm"}
        return cell({"numberValue": from_python(value)}, {"numberFormat": fmt})
    if isinstance(value, _date):
        fmt = {"type": "DATE", "pattern": "yyyy-mm-dd"}
        return cell({"numberValue": from_python(value)}, {"numberFormat": fmt})
    if isinstance(value, bool):
        return cell({"boolValue": value})
    if isinstance(value, int | float):
        return cell({"numberValue": value})
    return cell({"stringValue": str(value)})


def _from_json(value: Any) -> Any:
    from datetime import date as _date
    from datetime import datetime as _datetime

    if isinstance(value, dict) and "date" in value:
        return _date.fromisoformat(value["date"])
    if isinstance(value, dict) and "datetime" in value:
        return _datetime.fromisoformat(value["datetime"])
    return value


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Emulator:
    """State and behaviour; `serve()` puts it on a port."""

    def __init__(
        self,
        email: str = "sheetpipe-test@emulator-project.iam.gserviceaccount.com",
        freeze_gc: bool = False,
    ):
        # freeze_gc: for a server in its own process (python -m tests.emulator) only; it
        # would exempt a test process's own objects from collection too.
        self.freeze_gc = freeze_gc
        self.lock = threading.RLock()
        self.auth = Auth()
        self.account = self.auth.add_account(email)
        self.base_url = ""
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.files: dict[str, Spreadsheet] = {}
            self.log: list[dict] = []
            self.faults: list[dict] = []
            self.fault_rng = random.Random(0)
            self.quota_enabled = False
            self.quota_limit = 60
            self.quota_window = 60.0
            self.quota_hits: dict[tuple[str, str], deque] = {}
            self._ids = random.Random(42)

    # ---- set-up helpers for tests --------------------------------------------------

    @property
    def token_uri(self) -> str:
        return self.base_url + "/token"

    def key_file(self, account=None) -> dict:  # noqa: ANN001
        return self.auth.key_file(account or self.account, self.token_uri)

    def new_id(self) -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
        return "1" + "".join(self._ids.choice(alphabet) for _ in range(43))

    def create(self, title: str, owner: str | None = None, readers: tuple[str, ...] = ()) -> str:
        """A spreadsheet with one empty Sheet1, owned by `owner` (default: the test account)."""
        with self.lock:
            sid = self.new_id()
            ss = sheets_api.new_spreadsheet(sid, title, owner or self.account.email, now_text())
            ss.readers.update(readers)
            self.files[sid] = ss
            return sid

    def put_tab(self, sid: str, title: str, rows: list[list]) -> None:
        """Give a spreadsheet a tab holding these values, as a person typed them (dates as
        dates, text as text); replaces a tab of that name. For test set-up."""
        from .model import Cell, Sheet

        with self.lock:
            ss = self.files[sid]
            old = ss.by_title(title)
            if old is not None:
                ss.sheets.remove(old)
            used = {s.id for s in ss.sheets}
            sheet_id = max(used, default=0) + 1
            width = max([len(r) for r in rows] + [26])
            props = sheets_api.new_sheet_props(
                sheet_id,
                title,
                len(ss.sheets),
                {"gridProperties": {"rowCount": max(1000, len(rows)), "columnCount": width}},
            )
            sheet = Sheet(props)
            sheet.rows = [[_typed_cell(v, Cell) for v in row] for row in rows]
            ss.sheets.append(sheet)
            ss.reindex()
            if self.freeze_gc:
                gc.freeze()

    def put_cell(self, sid: str, title: str, row: int, col: int, value: Any) -> None:
        """A person types `value` into one cell (0-based row and column)."""
        from .model import Cell

        with self.lock:
            ss = self.files[sid].clone()
            ss.by_title(title).put(row, col, _typed_cell(value, Cell))
            self._commit(ss)

    def sort_rows(self, sid: str, title: str, key, reverse: bool = False) -> None:  # noqa: ANN001
        """A person sorts a tab's rows below the header by `key(row values)`."""
        with self.lock:
            ss = self.files[sid].clone()
            sheet = ss.by_title(title)
            body = sheet.rows[1:]
            plain = [[c.uev and next(iter(c.uev.values())) if c else None for c in r] for r in body]
            # As Sheets sorts: rows without values stay below the ones with values.
            filled = [i for i in range(len(body)) if any(v is not None for v in plain[i])]
            blank = [i for i in range(len(body)) if i not in set(filled)]
            order = sorted(filled, key=lambda i: key(plain[i]), reverse=reverse) + blank
            sheet.rows = sheet.rows[:1] + [body[i] for i in order]
            sheet._mine = set(range(len(sheet.rows)))
            self._commit(ss)

    def insert_row(self, sid: str, title: str, at: int, values: list) -> None:
        """A person inserts a row at 0-based `at` and types `values` into it."""
        from .model import Cell

        with self.lock:
            ss = self.files[sid].clone()
            sheet = ss.by_title(title)
            sheet.insert_rows(at, 1)
            for c, value in enumerate(values):
                sheet.put(at, c, _typed_cell(value, Cell))
            self._commit(ss)

    def delete_row(self, sid: str, title: str, at: int) -> None:
        """A person deletes the row at 0-based `at`."""
        with self.lock:
            ss = self.files[sid].clone()
            ss.by_title(title).delete_rows(at, at + 1)
            self._commit(ss)

    def values(self, sid: str, title: str) -> list[list]:
        """A tab's values as UNFORMATTED_VALUE renders them, trailing blanks trimmed."""
        from . import cellvalues

        with self.lock:
            sheet = self.files[sid].by_title(title)
            out = []
            for row in sheet.rows:
                values = [
                    cellvalues.render(c.uev, c.number_format, "UNFORMATTED_VALUE", "SERIAL_NUMBER")
                    if c
                    else None
                    for c in row
                ]
                while values and values[-1] in (None, ""):
                    values.pop()
                out.append(values)
            while out and not out[-1]:
                out.pop()
            return out

    # ---- dispatch --------------------------------------------------------------------

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any]:
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query, keep_blank_values=True)
        if path == "/token" and method == "POST":
            form = parse_qs(body.decode())
            with self.lock:
                return self.auth.grant(form, self.token_uri)
        if path.startswith("/_emulator/"):
            return self._control(method, path, body)
        user = self.auth.user(headers.get("authorization"))
        if user is None:
            return 401, ApiError(401, UNAUTHENTICATED).body()
        data = json.loads(body) if body else {}
        with self.lock:
            limited = self._quota(method, path, user)
            if limited:
                return limited
            try:
                if path.startswith("/v4/spreadsheets"):
                    return 200, self._sheets(
                        method, path[len("/v4/spreadsheets") :], query, data, user
                    )
                if path.startswith("/drive/v3/files"):
                    return drive_api.handle(
                        self, method, path[len("/drive/v3/files") :], query, data, user
                    )
                return 404, ApiError(404, "Requested entity was not found.").body()
            except ApiError as err:
                return err.code, err.body()

    def _quota(self, method: str, path: str, user: str) -> tuple[int, dict] | None:
        if not self.quota_enabled or not path.startswith("/v4/"):
            return None
        kind = "Read" if method == "GET" else "Write"
        hits = self.quota_hits.setdefault((user, kind), deque())
        now = time.monotonic()
        while hits and hits[0] <= now - self.quota_window:
            hits.popleft()
        if len(hits) >= self.quota_limit:
            err = ApiError(429, QUOTA_MESSAGE.format(kind=kind))
            body = err.body()
            body["error"]["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "RATE_LIMIT_EXCEEDED",
                    "domain": "googleapis.com",
                    "metadata": {
                        "quota_limit": f"{kind}RequestsPerMinutePerUser",
                        "quota_metric": f"sheets.googleapis.com/{kind.lower()}_requests",
                        "service": "sheets.googleapis.com",
                        "quota_limit_value": str(self.quota_limit),
                    },
                }
            ]
            return 429, body
        hits.append(now)
        return None

    def _open(self, sid: str, user: str) -> Spreadsheet:
        ss = self.files.get(sid)
        if ss is None:
            raise ApiError(404, "Requested entity was not found.")
        if not ss.can_read(user):
            raise ApiError(403, "The caller does not have permission")
        return ss

    def _commit(self, ss: Spreadsheet) -> None:
        ss.modified = now_text()
        self.files[ss.id] = ss
        # The stored cells live until the next write: keep the collector from walking
        # millions of them on every answer (it made big reads vary by 2x).
        if self.freeze_gc:
            gc.freeze()

    def _sheets(self, method: str, rest: str, query: dict, data: dict, user: str) -> Any:
        if rest == "" and method == "POST":
            sid = self.new_id()
            title = data.get("properties", {}).get("title", "Untitled spreadsheet")
            ss = sheets_api.new_spreadsheet(sid, title, user, now_text(), data)
            self.files[sid] = ss
            return sheets_api.get_spreadsheet(ss, {})
        m = re.fullmatch(r"/([^/:]+)(.*)", rest)
        if not m:
            raise ApiError(404, "Requested entity was not found.")
        sid, tail = m.group(1), m.group(2)
        ss = self._open(sid, user)
        if tail == "" and method == "GET":
            return sheets_api.get_spreadsheet(ss, query)
        work = ss.clone()  # changed privately; committed only if the whole request works
        if tail == ":batchUpdate" and method == "POST":
            out = sheets_api.batch_update(work, data)
        elif tail == "/values:batchGet" and method == "GET":
            return sheets_api.values_batch_get(ss, query)
        elif tail == "/values:batchUpdate" and method == "POST":
            out = sheets_api.values_batch_update(work, data)
        elif tail == "/values:batchClear" and method == "POST":
            out = sheets_api.values_batch_clear(work, data)
        elif tail.startswith("/values/"):
            spec = tail[len("/values/") :]
            verb = ""
            if ":" in spec and spec.rsplit(":", 1)[1] in ("append", "clear"):
                spec, verb = spec.rsplit(":", 1)
            rng = unquote(spec)
            if method == "GET" and not verb:
                return sheets_api.values_get(ss, rng, query)
            if method == "PUT" and not verb:
                out = sheets_api.values_update(work, rng, data, query)
            elif method == "POST" and verb == "append":
                out = sheets_api.values_append(work, rng, data, query)
            elif method == "POST" and verb == "clear":
                out = sheets_api.values_clear(work, rng)
            else:
                raise ApiError(404, "Requested entity was not found.")
        else:
            raise ApiError(404, "Requested entity was not found.")
        self._commit(work)
        return out

    # ---- /_emulator -------------------------------------------------------------------

    def _control(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        data = json.loads(body) if body else {}
        with self.lock:
            if path == "/_emulator/requests" and method == "GET":
                return 200, {"requests": self.log}
            if path == "/_emulator/reset" and method == "POST":
                self.reset()
                return 200, {}
            if path == "/_emulator/faults" and method == "POST":
                self.add_fault(**data)
                return 200, {"faults": self.faults}
            if path == "/_emulator/faults" and method == "DELETE":
                self.faults.clear()
                return 200, {"faults": []}
            if path == "/_emulator/quota" and method == "POST":
                self.set_quota(**data)
                return 200, {"enabled": self.quota_enabled, "limit": self.quota_limit}
            if path == "/_emulator/spreadsheets" and method == "POST":
                # tabs: {name: rows}; a date cell is {"date": "2026-03-01"} or
                # {"datetime": "2026-03-01T09:30:00"}, since JSON has no dates.
                sid = self.create(
                    data.get("title", "Untitled"), data.get("owner"), tuple(data.get("readers", ()))
                )
                for name, rows in data.get("tabs", {}).items():
                    self.put_tab(sid, name, [[_from_json(v) for v in row] for row in rows])
                return 200, {"spreadsheetId": sid}
        return 404, {"error": f"no emulator control at {method} {path}"}

    def add_fault(
        self,
        action: str = "status",
        status: int = 503,
        count: int = 1,
        rate: float = 1.0,
        method: str | None = None,
        path: str | None = None,
        delay: float = 0.0,
        retry_after: int | None = None,
        body: dict | None = None,
        seed: int | None = None,
    ) -> None:
        """Answer matching requests with a failure.

        action: "status" (answer `status` with Google's error body or `body`), "delay"
        (wait `delay` seconds, then serve), "drop_before" (close the connection without
        applying), "drop_after" (apply, then close without answering). `count` matching
        requests are hit (-1: no limit), each with probability `rate`.
        """
        if action not in ("status", "delay", "drop_before", "drop_after"):
            raise ValueError(f"unknown fault action {action!r}")
        if seed is not None:
            self.fault_rng.seed(seed)
        self.faults.append(dict(action=action, status=status, count=count, rate=rate,
                                method=method, path=path, delay=delay,
                                retry_after=retry_after, body=body))  # fmt: skip

    def set_quota(self, enabled: bool = True, limit: int = 60, window: float = 60.0) -> None:
        self.quota_enabled, self.quota_limit, self.quota_window = enabled, limit, window
        self.quota_hits.clear()

    def pick_fault(self, method: str, path: str) -> dict | None:
        with self.lock:
            if path.startswith("/_emulator/") or path == "/token":
                return None
            for fault in self.faults:
                if fault["count"] == 0:
                    continue
                if fault["method"] and fault["method"] != method:
                    continue
                if fault["path"] and fault["path"] not in path:
                    continue
                if self.fault_rng.random() >= fault["rate"]:
                    continue
                if fault["count"] > 0:
                    fault["count"] -= 1
                return fault
        return None

    def record(self, entry: dict) -> None:
        with self.lock:
            self.log.append(entry)

    # ---- serving ------------------------------------------------------------------------

    def serve(self, port: int = 0) -> ThreadingHTTPServer:
        """Listen on 127.0.0.1:`port` (0: any free port) in a background thread."""
        server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.server = server
        return server

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle's algorithm on, a keep-alive
        # client's delayed ACK would stall every answer by 40 ms.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = urlsplit(self.path).path
            fault = emulator.pick_fault(self.command, path)
            entry = {
                "method": self.command,
                "path": path,
                "query": urlsplit(self.path).query,
                "request_bytes": len(body),
                "time": time.time(),
            }
            if fault and fault["action"] == "delay":
                time.sleep(fault["delay"])
                entry["fault"] = "delay"
                fault = None
            if fault and fault["action"] in ("status", "drop_before"):
                if fault["action"] == "drop_before":
                    entry.update(status=0, response_bytes=0, fault="drop_before")
                    emulator.record(entry)
                    return self._drop()
                code = fault["status"]
                payload = fault["body"] or ApiError(code, _FAULT_MESSAGES.get(code, "Error")).body()
                entry["fault"] = f"status {code}"
                extra = {"Retry-After": str(fault["retry_after"])} if fault["retry_after"] else {}
                return self._send(code, payload, entry, extra)
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                code, payload = emulator.handle(self.command, self.path, headers, body)
            except Exception:  # a bug here answers as Google's own failures do
                traceback.print_exc()
                code, payload = 500, ApiError(500, "Internal error encountered.").body()
            if fault and fault["action"] == "drop_after":
                entry.update(status=0, response_bytes=0, fault="drop_after", applied_status=code)
                emulator.record(entry)
                return self._drop()
            self._send(code, payload, entry)

        def _send(self, code: int, payload: Any, entry: dict, extra: dict | None = None) -> None:
            # Compact JSON: Google pretty-prints, which only adds whitespace, and Python's
            # indenting encoder is too slow for the benchmarks' 100 MB answers.
            data = b"" if code == 204 else json.dumps(payload, separators=(",", ":")).encode()
            entry.update(status=code, response_bytes=len(data))
            emulator.record(entry)
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _drop(self) -> None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    return Handler


_FAULT_MESSAGES = {
    429: "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute "
    "per user' of service 'sheets.googleapis.com'.",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
}
