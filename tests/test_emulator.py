"""The local Sheets API itself: its small parsers, and its command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import gspread
import pytest
from google.oauth2 import service_account

from tests.emulator import a1, cellvalues, fields
from tests.emulator.a1 import GridRange

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Sheet1!A1:B2", GridRange("Sheet1", 0, 0, 2, 2)),
        ("'My tab'!C3", GridRange("My tab", 2, 2, 3, 3)),
        ("'It''s'!A:A", GridRange("It's", 0, 0, None, 1)),  # open: to the grid's last row
        ("Sheet1!2:2", GridRange("Sheet1", 1, 0, 2, None)),
        ("Sheet1!A2:C", GridRange("Sheet1", 1, 0, None, 3)),
        ("B2:A1", GridRange(None, 0, 0, 2, 2)),
        ("Sheet1", GridRange("Sheet1", None, None, None, None)),
        ("'D3'", GridRange("D3", None, None, None, None)),
        ("D3", GridRange(None, 2, 3, 3, 4)),  # not a sheet title here: a cell
    ],
)
def test_a1_ranges_parse_as_google_reads_them(text, expected):
    assert a1.parse(text, ["Sheet1", "My tab"]) == expected


@pytest.mark.parametrize("text", ["Sheet1!", "Sheet1!A1:B2:C3", "Sheet1!1A", "Sheet1!A0"])
def test_a1_rejects_what_google_cannot_parse(text):
    with pytest.raises(a1.RangeError):
        a1.parse(text, ["Sheet1"])


@pytest.mark.parametrize(
    "title, quoted",
    [("Sheet1", "Sheet1"), ("My tab", "'My tab'"), ("D3", "'D3'"), ("It's", "'It''s'")],
)
def test_returned_ranges_quote_titles_only_when_needed(title, quoted):
    assert a1.quote(title) == quoted


@pytest.mark.parametrize(
    "typed, value, kind",
    [
        ("12", {"numberValue": 12}, None),
        ("-1.5", {"numberValue": -1.5}, None),
        ("1,000", {"numberValue": 1000}, "NUMBER"),
        ("50%", {"numberValue": 0.5}, "PERCENT"),
        ("$3.50", {"numberValue": 3.5}, "CURRENCY"),
        ("TRUE", {"boolValue": True}, None),
        ("false", {"boolValue": False}, None),
        ("2026-03-04", {"numberValue": 46085}, "DATE"),
        ("3/4/2026", {"numberValue": 46085}, "DATE"),
        ("=A1+1", {"formulaValue": "=A1+1"}, None),
        ("'=A1+1", {"stringValue": "=A1+1"}, None),
        ("'007", {"stringValue": "007"}, None),
        ("hello", {"stringValue": "hello"}, None),
        ("2026-02-30", {"stringValue": "2026-02-30"}, None),
    ],
)
def test_user_entered_text_is_parsed_as_sheets_parses_typing(typed, value, kind):
    uev, fmt = cellvalues.user_entered(typed)
    assert uev == value
    assert (fmt or {}).get("type") == kind


def test_raw_input_keeps_text_as_text():
    assert cellvalues.raw("=1+1") == ({"stringValue": "=1+1"}, None)
    assert cellvalues.raw("1,000") == ({"stringValue": "1,000"}, None)


@pytest.mark.parametrize(
    "uev, fmt, option, expected",
    [
        ({"numberValue": 1000}, {"type": "NUMBER", "pattern": "#,##0"}, "FORMATTED_VALUE", "1,000"),
        ({"numberValue": 0.5}, {"type": "PERCENT", "pattern": "0%"}, "FORMATTED_VALUE", "50%"),
        (
            {"numberValue": 46085},
            {"type": "DATE", "pattern": "yyyy-mm-dd"},
            "FORMATTED_VALUE",
            "2026-03-04",
        ),
        (
            {"numberValue": 46085},
            {"type": "DATE", "pattern": "yyyy-mm-dd"},
            "UNFORMATTED_VALUE",
            46085,
        ),
        ({"numberValue": 1.5}, None, "FORMATTED_VALUE", "1.5"),
        ({"boolValue": True}, None, "FORMATTED_VALUE", "TRUE"),
        ({"formulaValue": "=4/2"}, None, "UNFORMATTED_VALUE", 2),
        ({"formulaValue": "=SUM(A1:A2)"}, None, "FORMULA", "=SUM(A1:A2)"),
        ({"formulaValue": "=SUM(A1:A2)"}, None, "FORMATTED_VALUE", ""),
    ],
)
def test_values_render_as_google_renders_them(uev, fmt, option, expected):
    assert cellvalues.render(uev, fmt, option, "SERIAL_NUMBER") == expected


def test_field_masks_select_nested_parts():
    value = {"a": {"b": 1, "c": 2}, "d": [{"e": 3, "f": 4}], "g": 5}
    assert fields.select(value, fields.parse("a.b,d(e)")) == {"a": {"b": 1}, "d": [{"e": 3}]}
    assert fields.select(value, fields.parse("d/f")) == {"d": [{"f": 4}]}
    assert fields.paths("userEnteredFormat(backgroundColor,textFormat.bold),note") == [
        ["userEnteredFormat", "backgroundColor"],
        ["userEnteredFormat", "textFormat", "bold"],
        ["note"],
    ]


def test_the_command_line_serves_and_writes_a_key_gspread_can_use(tmp_path):
    key = tmp_path / "key.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.emulator", "--port", "0", "--credentials-out", str(key)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = proc.stdout.readline()
        assert line.startswith("Sheets API emulator ready on http://127.0.0.1:")
        url = line.split(" on ")[1].split(" ")[0]
        info = json.loads(key.read_text())
        assert info["type"] == "service_account" and info["token_uri"] == f"{url}/token"
        assert oct(key.stat().st_mode & 0o777) == "0o600"
        # Real gspread, real google-auth: create a spreadsheet through Drive, write, read.
        import requests
        from google.auth.transport.requests import AuthorizedSession

        from sheetpipe.backends.google_auth import _Redirect

        creds = service_account.Credentials.from_service_account_file(
            key,
            scopes=[
                "https://www.googleapis.com/auth/spreadsheets",
                "https://www.googleapis.com/auth/drive",
            ],
        )
        session = AuthorizedSession(creds)
        adapter = _Redirect(url)
        for host in ("https://sheets.googleapis.com", "https://www.googleapis.com"):
            session.mount(host, adapter)
        client = gspread.Client(creds, session=session)
        sheet = client.create("From gspread")
        ws = sheet.sheet1
        ws.update([["Deal", "Value"], ["Acme", "1,200"]], "A1", value_input_option="USER_ENTERED")
        assert ws.get_all_records() == [{"Deal": "Acme", "Value": 1200}]
        assert client.open("From gspread").id == sheet.id
        assert requests.get(f"{url}/_emulator/requests", timeout=5).json()["requests"]
    finally:
        proc.terminate()
        proc.wait()
