"""Drive v3 files: enough for gspread to create, find, open and delete spreadsheets."""

from __future__ import annotations

import re
from typing import Any

from . import fields, sheets_api
from .sheets_api import ApiError

MIME = "application/vnd.google-apps.spreadsheet"


def _file(ss) -> dict:  # noqa: ANN001
    return {
        "kind": "drive#file",
        "id": ss.id,
        "name": ss.props.get("title", ""),
        "mimeType": MIME,
        "createdTime": ss.created,
        "modifiedTime": ss.modified,
    }


def _shown(ss, query: dict) -> dict:  # noqa: ANN001
    mask = query.get("fields", ["kind,id,name,mimeType"])[0]
    return fields.select(_file(ss), fields.parse(mask))


def handle(emu, method: str, rest: str, query: dict, data: dict, user: str) -> tuple[int, Any]:  # noqa: ANN001
    from .server import now_text

    if rest == "" and method == "POST":
        if data.get("mimeType") != MIME:
            raise ApiError(400, "Only Google Sheets files can be created in this emulator.")
        sid = emu.new_id()
        ss = sheets_api.new_spreadsheet(
            sid, data.get("name", "Untitled spreadsheet"), user, now_text()
        )
        emu.files[sid] = ss
        return 200, _shown(ss, query)
    if rest == "" and method == "GET":
        q = query.get("q", [""])[0]
        name = re.search(r"name\s*=\s*'((?:[^'\\]|\\.)*)'", q) or re.search(
            r'name\s*=\s*"([^"]*)"', q
        )
        found = [
            ss
            for ss in emu.files.values()
            if ss.can_read(user) and (name is None or ss.props.get("title") == name.group(1))
        ]
        mask = query.get("fields", ["kind,incompleteSearch,files(kind,id,name,mimeType)"])[0]
        listing = {
            "kind": "drive#fileList",
            "incompleteSearch": False,
            "files": [_file(s) for s in found],
        }
        return 200, fields.select(listing, fields.parse(mask))
    m = re.fullmatch(r"/([^/]+)(/permissions)?", rest)
    if not m:
        raise ApiError(404, "Requested entity was not found.")
    ss = emu.files.get(m.group(1))
    if ss is None or not ss.can_read(user):
        raise ApiError(404, f"File not found: {m.group(1)}.")
    if m.group(2) and method == "POST":
        if ss.owner != user:
            raise ApiError(403, "The user does not have sufficient permissions for this file.")
        ss.readers.add(
            data.get("emailAddress") or ("anyone" if data.get("type") == "anyone" else "")
        )
        return 200, {"kind": "drive#permission", "id": str(len(ss.readers)), "type": data.get("type"),
                     "role": data.get("role")}  # fmt: skip
    if method == "GET":
        return 200, _shown(ss, query)
    if method == "DELETE":
        if ss.owner != user:
            raise ApiError(403, "The user does not have sufficient permissions for this file.")
        del emu.files[ss.id]
        return 204, None
    raise ApiError(404, "Requested entity was not found.")
