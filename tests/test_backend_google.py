"""The Google backend on the local Sheets API, through the real gspread and google-auth."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from sheetpipe.backends.google import GoogleBackend
from sheetpipe.backends.google_requests import PADDING, PIXELS_PER_CHAR
from sheetpipe.core.cycle import plan_cycle
from sheetpipe.core.sheet.cells import col_letter
from sheetpipe.errors import BackendError, ConfigError, SheetNotFound, WriteUncertain
from sheetpipe.sync import run_cycle

from . import google_helpers as gh
from .backend_contract import HEADER_FILL, BackendContract, Layout, deals
from .helpers import NAMES, NOW, column, tabs


@pytest.fixture
def key(emulator, tmp_path):
    emulator.reset()
    return gh.key_file(emulator, tmp_path)


class TestGoogleBackend(BackendContract):
    @pytest.fixture
    def backend(self, emulator, key):
        self.emulator = emulator

        def make(sheets):
            return gh.backend(emulator, gh.spreadsheet(emulator, sheets), key)

        return make

    def layout(self, sheet, tab):
        """From what the emulator stores, as Google would hold it."""
        ws = self.emulator.files[sheet.key].by_title(tab)
        widths = {c + 1: (px - PADDING) / PIXELS_PER_CHAR for c, px in ws.col_pixels.items()}
        header = [cell for cell in ws.rows[0] if cell and cell.uev] if ws.rows else []
        bold = all(((c.uef or {}).get("textFormat") or {}).get("bold") for c in header)
        frozen = ws.grid.get("frozenRowCount", 0) == 1
        second = ws.rows[1] if len(ws.rows) > 1 else []
        wrapped = {c for c, cell in enumerate(second, start=1)
                   if cell and (cell.uef or {}).get("wrapStrategy") == "WRAP"}  # fmt: skip
        return Layout(widths, bold and bool(header), frozen, ws.basic_filter is not None, wrapped)

    def style_header(self, sheet, tab):
        ws = self.emulator.files[sheet.key].by_title(tab)
        red, green, blue = (int(HEADER_FILL[i : i + 2], 16) / 255 for i in (0, 2, 4))
        look = {"textFormat": {"bold": True},
                "backgroundColor": {"red": red, "green": green, "blue": blue}}  # fmt: skip
        for c, cell in enumerate(ws.rows[0]):
            if cell is not None:
                ws.put(0, c, cell.with_(uef=look))

    def header_fills(self, sheet, tab):
        header = self.emulator.files[sheet.key].by_title(tab).rows[0]
        return [
            self._rgb((cell.uef or {}).get("backgroundColor"))
            for cell in header
            if cell and cell.uev
        ]

    @staticmethod
    def _rgb(colour: dict | None) -> str | None:
        if not colour:
            return None
        return "".join(f"{round(colour.get(k, 0) * 255):02X}" for k in ("red", "green", "blue"))

    def fills(self, sheet, tab):
        found = {}
        for r, row in enumerate(self.emulator.files[sheet.key].by_title(tab).rows, start=1):
            for c, cell in enumerate(row, start=1):
                colour = (cell.uef or {}).get("backgroundColor") if cell else None
                if colour:
                    rgb = "".join(
                        f"{round(colour.get(k, 0) * 255):02X}" for k in ("red", "green", "blue")
                    )
                    found[f"{col_letter(c)}{r}"] = rgb
        return found

    def row_rules(self, sheet, tab):
        ws = self.emulator.files[sheet.key].by_title(tab)
        found = []
        for rule in ws.conditional:
            (grid,) = rule["ranges"]
            span = f"{col_letter(grid['startColumnIndex'] + 1)}{grid['startRowIndex'] + 1}:"
            span += col_letter(grid["endColumnIndex"])
            (formula,) = rule["booleanRule"]["condition"]["values"]
            colour = rule["booleanRule"]["format"]["backgroundColor"]
            rgb = "".join(f"{round(colour[k] * 255):02X}" for k in ("red", "green", "blue"))
            found.append((span, formula["userEnteredValue"].removeprefix("="), rgb))
        return found

    def links(self, sheet, tab):
        spreadsheet = self.emulator.files[sheet.key]
        titles = {s.id: s.title for s in spreadsheet.sheets}
        found = {}
        for r, row in enumerate(spreadsheet.by_title(tab).rows, start=1):
            for c, cell in enumerate(row, start=1):
                link = ((cell.uef or {}).get("textFormat") or {}).get("link") if cell else None
                if link:
                    gid, cell_range = re.fullmatch(r"#gid=(\d+)&range=(\w+)", link["uri"]).groups()
                    found[f"{col_letter(c)}{r}"] = (titles[int(gid)], cell_range)
        return found


# ---- what only a shared, remote spreadsheet can get wrong --------------------------------


def api_calls(emulator, since=0):
    return [r for r in emulator.log[since:] if r["path"].startswith("/v4/")]


@pytest.fixture
def sheet(emulator, key):
    sid = gh.spreadsheet(emulator, tabs(deals(12)))
    return sid, gh.backend(emulator, sid, key)


def test_an_idle_cycle_is_one_read_and_a_busy_one_at_most_three_requests(emulator, sheet):
    sid, backend = sheet
    run_cycle(backend, NAMES, NOW)  # first sync: metadata, read, guard, write
    mark = len(emulator.log)
    report = run_cycle(backend, NAMES, NOW + timedelta(minutes=5))
    assert not report.applied
    assert [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in api_calls(emulator, mark)] == [
        ("GET", "values:batchGet")
    ]
    # A person moves two deals: one read, one guard read, one atomic write.
    ws = emulator.files[sid].by_title("Deals")
    stage_col = [c.uev["stringValue"] for c in ws.rows[0] if c].index("Stage")
    for r in (1, 3):  # Deal 1 (Contact) and Deal 3 (Discovery)
        emulator.put_cell(sid, "Deals", r, stage_col, "Proposal")
    mark = len(emulator.log)
    busy = run_cycle(backend, NAMES, NOW + timedelta(minutes=10))
    assert busy.applied and busy.plan.history_added == 2
    calls = [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in api_calls(emulator, mark)]
    assert calls == [
        ("GET", "values:batchGet"),
        ("GET", "values:batchGet"),
        (("POST", f"{sid}:batchUpdate")),
    ]
    assert busy.calls == "2 reads, 1 write"
    status = {r[0]: r for r in emulator.values(sid, "Status") if r}
    assert status["Last change"][2].endswith("; 2 reads, 1 write")  # what Status tells people


def test_formula_like_text_is_stored_as_text_not_as_a_formula(emulator, key):
    texts = ['=HYPERLINK("http://x","y")', "+1", "@SUM(A1)"]
    sid = gh.spreadsheet(emulator, tabs([{"Deal": t, "Stage": "Discovery"} for t in texts]))
    backend = gh.backend(emulator, sid, key)
    run_cycle(backend, NAMES, NOW)
    history = emulator.files[sid].by_title("History")
    stored = [history.cell(r, 2).uev for r in range(1, 4)]
    assert stored == [{"stringValue": t} for t in texts]  # not formulaValue


def test_rows_sorted_between_read_and_write_get_no_value_of_another_deal(emulator, key):
    """A person sorts the deals while a cycle plans: the guard sees it and nothing lands
    on a wrong row; the cycle plans again from a fresh read."""
    sid = gh.spreadsheet(emulator, tabs(deals(9)))
    backend = gh.backend(emulator, sid, key)
    run_cycle(backend, NAMES, NOW)
    # The Value column changes the scores; then the person re-sorts the rows by Deal, descending,
    # right after sheetpipe's read.
    values = {f"Deal {i}": 1000 * i for i in range(1, 10)}
    read = backend.read
    sorted_once = []

    def read_then_sort():
        snap = read()
        if not sorted_once:
            sorted_once.append(True)
            emulator.sort_rows(sid, "Deals", key=lambda row: str(row[0]), reverse=True)
        return snap

    backend.read = read_then_sort
    weights = [["Value", ">", 4500, 40, "", ""]]
    emulator.put_tab(sid, "Weights", tabs(weights=weights)["Weights"])
    mark = len(emulator.log)
    report = run_cycle(backend, NAMES, NOW + timedelta(minutes=5))
    assert report.applied and sorted_once
    calls = [r["path"].rsplit("/", 1)[-1] for r in api_calls(emulator, mark)]
    # read, guard (rows moved: nothing written), read again, guard, one write
    assert calls.count("values:batchGet") == 4 and len(calls) == 5, calls
    snap = gh.backend(emulator, sid, key).read()
    deals_tab = snap.find("Deals")
    header = deals_tab.header
    assert len(deals_tab.rows) == 10
    for row in deals_tab.rows[1:]:
        record = dict(zip(header, row, strict=False))
        assert record["Score"] == (40 if values[record["Deal"]] > 4500 else 0), record


def test_a_dropped_write_is_read_again_and_applied_exactly_once(emulator, key):
    sid = gh.spreadsheet(emulator, tabs(deals(6)))
    backend = gh.backend(emulator, sid, key)
    emulator.add_fault(action="drop_after", method="POST", path=":batchUpdate", count=1)
    report = run_cycle(backend, NAMES, NOW)
    snap = backend.read()
    task_ids = column(snap, "Tasks", "Task ID")
    assert task_ids and len(task_ids) == len(set(task_ids))
    assert len(snap.find("History").rows) - 1 == 6  # one entry per deal, not two
    assert report.plan.changes.is_empty() or not report.plan.changes.appends


def test_reads_are_retried_after_429_and_503_honouring_retry_after(emulator, key):
    sid = gh.spreadsheet(emulator, tabs(deals(3)))
    backend = gh.backend(emulator, sid, key)
    backend.read()
    emulator.add_fault(status=429, retry_after=1, method="GET", path="values:batchGet", count=1)
    emulator.add_fault(status=503, method="GET", path="values:batchGet", count=1)
    mark = len(emulator.log)
    snap = backend.read()
    assert snap.find("Deals") is not None
    statuses = [r["status"] for r in api_calls(emulator, mark)]
    assert statuses == [429, 503, 200]
    gap = emulator.log[mark + 1]["time"] - emulator.log[mark]["time"]
    assert gap >= 0.9, "Retry-After: 1 was honoured"


def test_a_failed_write_is_never_resent_blindly(emulator, key):
    sid = gh.spreadsheet(emulator, tabs(deals(3)))
    backend = gh.backend(emulator, sid, key)
    backend.read()
    emulator.add_fault(status=500, method="POST", path=":batchUpdate", count=1)
    from sheetpipe.core.cycle import plan_cycle

    plan = plan_cycle(backend.read(), NAMES, NOW)
    mark = len(emulator.log)
    with pytest.raises(WriteUncertain):
        backend.apply(plan.changes, "Status")
    posts = [r for r in api_calls(emulator, mark) if r["method"] == "POST"]
    assert len(posts) == 1


def test_a_spreadsheet_not_shared_names_the_service_account(emulator, key):
    sid = emulator.create("Someone else's", owner="ana@example.com")
    with pytest.raises(SheetNotFound) as err:
        gh.backend(emulator, sid, key).read()
    email = emulator.account.email
    assert str(err.value) == (
        f"the spreadsheet {sid} is not shared with the service account {email}: open it in "
        "Google Sheets, click Share and add that address as an Editor."
    )


def test_an_unknown_spreadsheet_and_a_disabled_api_are_one_clear_line(emulator, key):
    with pytest.raises(SheetNotFound, match="no spreadsheet with the key nope: check"):
        gh.backend(emulator, "nope", key).read()
    sid = gh.spreadsheet(emulator, tabs(deals(1)))
    disabled = {
        "error": {
            "code": 403,
            "message": "Google Sheets API has not been used in project 123 before or it is "
            "disabled. Enable it by visiting https://console.developers.google.com/apis/api/"
            "sheets.googleapis.com/overview?project=123 then retry.",
            "status": "PERMISSION_DENIED",
        }
    }
    emulator.add_fault(status=403, body=disabled, count=1)
    with pytest.raises(BackendError, match="the Google Sheets API is not enabled for emulator"):
        gh.backend(emulator, sid, key).read()


def test_missing_malformed_and_untrusted_keys(emulator, tmp_path):
    from sheetpipe.backends.google_auth import find_key

    with pytest.raises(ConfigError, match=r"\[sheet\] credentials = 'nokey.json': no key file at"):
        find_key("nokey.json", tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "authorized_user"}')
    with pytest.raises(ConfigError, match="not a service-account key"):
        GoogleBackend("x", bad, emulator.base_url)
    # A well-formed key the server does not know (deleted in the console).
    info = emulator.key_file()
    stranger = emulator.auth.add_account("gone@emulator-project.iam.gserviceaccount.com")
    info["private_key"] = stranger.private_pem
    untrusted = tmp_path / "untrusted.json"
    untrusted.write_text(json.dumps(info))
    with pytest.raises(BackendError, match="Google refused the key"):
        GoogleBackend("x", untrusted, emulator.base_url).read()


def test_requests_without_a_valid_token_get_googles_401(emulator):
    import requests

    answer = requests.get(f"{emulator.base_url}/v4/spreadsheets/x", timeout=5)
    assert answer.status_code == 401
    assert answer.json()["error"]["status"] == "UNAUTHENTICATED"


def _team_spreadsheet(emulator, tmp_path, monkeypatch) -> tuple[Path, str]:
    """A fresh emulator spreadsheet with one deal, its key in `tmp_path`, and the API
    endpoint in the environment, as the CLI tests use them."""
    monkeypatch.setenv("SHEETPIPE_GOOGLE_API_ENDPOINT", emulator.base_url)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    emulator.reset()
    key = gh.key_file(emulator, tmp_path)
    sid = emulator.create("Team pipeline")
    emulator.put_tab(sid, "Deals", [["Deal", "Stage", "Owner"], ["Acme", "Discovery", "Ana"]])
    return key, sid


def test_init_google_lays_out_the_tabs_and_sync_runs_on_the_config_it_wrote(
    emulator, tmp_path, monkeypatch
):
    from sheetpipe.layout import template_tabs

    from .test_cli import invoke

    key, sid = _team_spreadsheet(emulator, tmp_path, monkeypatch)
    url = f"https://docs.google.com/spreadsheets/d/{sid}/edit#gid=0"
    result = invoke("init", "--google", url, "--credentials", str(key), cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert 'Added to Google spreadsheet "Team pipeline"' in result.output
    assert "Deals" not in result.output.split("Added to")[1]  # it existed: untouched
    config = (tmp_path / "sheetpipe.toml").read_text()
    assert 'backend = "google"' in config and f'spreadsheet = "{url}"' in config
    assert 'credentials = "service-account.json"' in config
    titles = emulator.files[sid].titles()
    assert {name for name, _ in template_tabs(NAMES)} <= set(titles)
    assert emulator.files[sid].by_title("Deals").cell(1, 0).uev == {"stringValue": "Acme"}
    again = invoke("init", "--google", url, "--credentials", str(key), cwd=tmp_path)
    assert "already has every tab; nothing changed" in again.output

    synced = invoke("sync", "--now", "2026-03-10T09:30", cwd=tmp_path)
    assert synced.exit_code == 0, synced.output
    assert "deals=1 " in synced.output and "tasks=" in synced.output
    # The endpoint can also come from the config file instead of the environment.
    monkeypatch.delenv("SHEETPIPE_GOOGLE_API_ENDPOINT")
    config_file = tmp_path / "sheetpipe.toml"
    config_file.write_text(
        config.replace(
            'backend = "google"', f'backend = "google"\napi_endpoint = "{emulator.base_url}"'
        )
    )
    assert invoke("sync", "--now", "2026-03-10T09:35", cwd=tmp_path).exit_code == 0
    # This team's Deals tab has none of the columns some default Weights rules read:
    # check names each rule's cell, as on a workbook.
    checked = invoke("check", cwd=tmp_path)
    assert checked.exit_code == 1
    assert 'Weights!A4: no pipeline tab has a column "Employees"' in checked.output


def test_init_google_on_a_sheet_not_shared_says_whom_to_share_it_with(
    emulator, tmp_path, monkeypatch
):
    from .test_cli import invoke

    monkeypatch.setenv("SHEETPIPE_GOOGLE_API_ENDPOINT", emulator.base_url)
    emulator.reset()
    key = gh.key_file(emulator, tmp_path)
    sid = emulator.create("Private", owner="ana@example.com")
    result = invoke("init", "--google", sid, "--credentials", str(key), cwd=tmp_path)
    assert result.exit_code == 1
    assert f"is not shared with the service account {emulator.account.email}" in result.output


def test_a_tab_renamed_since_the_metadata_was_cached_is_found_again(emulator, key):
    sid = gh.spreadsheet(emulator, tabs(deals(3)))
    backend = gh.backend(emulator, sid, key)
    backend.read()
    ss = emulator.files[sid]
    ss.by_title("Team").props["title"] = "Sales team"  # a person renames a tab
    snap = backend.read()
    assert snap.find("Sales team") is not None and snap.find("Team") is None


def test_the_key_is_found_by_config_then_environment_then_gspreads_default(tmp_path, monkeypatch):
    from sheetpipe.backends.google_auth import find_key

    configured = tmp_path / "mine.json"
    env_key = tmp_path / "env.json"
    default = tmp_path / ".config" / "gspread" / "service_account.json"
    for path in (configured, env_key, default):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(env_key))
    assert find_key("mine.json", tmp_path) == configured
    assert find_key("", tmp_path) == env_key
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS")
    assert find_key("", tmp_path) == default


def test_every_request_has_a_timeout_and_a_slow_read_is_retried(emulator, key):
    sid = gh.spreadsheet(emulator, tabs(deals(2)))
    backend = gh.backend(emulator, sid, key, timeout=(2.0, 0.3))
    backend.read()
    emulator.add_fault(action="delay", delay=0.8, method="GET", path="values:batchGet", count=1)
    mark = len(emulator.log)
    snap = backend.read()  # the first answer comes too late: read timeout, then a retry
    assert snap.find("Deals") is not None
    import time

    time.sleep(0.8)  # the late answer's handler finishes and logs it
    calls = sorted(api_calls(emulator, mark), key=lambda r: r["time"])
    assert [r.get("fault") for r in calls] == ["delay", None]


def test_no_network_is_one_error_line_through_the_cli(tmp_path):
    """The API unreachable (here: an emulator of its own, stopped) reaches the user as
    one line."""
    import subprocess
    import sys

    from tests.emulator import Emulator

    emulator = Emulator()
    emulator.serve()
    key = gh.key_file(emulator, tmp_path)
    sid = gh.spreadsheet(emulator, tabs(deals()))
    config = tmp_path / "sheetpipe.toml"
    config.write_text(
        f'[sheet]\nbackend = "google"\nspreadsheet = "{sid}"\ncredentials = "{key}"\n'
        f'api_endpoint = "{emulator.base_url}"\n'
    )
    emulator.stop()
    done = subprocess.run(
        [sys.executable, "-m", "sheetpipe", "sync", "--config", str(config)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = [s for s in done.stderr.splitlines() if s.startswith("Error:")]
    assert line.startswith("Error: no answer from the Google Sheets API while ")
    assert line.endswith(
        "(connection refused); check this machine's network connection. "
        "sheetpipe tries again next cycle."
    )


def test_from_cron_a_fresh_process_spends_two_requests_idle_and_four_busy(
    emulator, tmp_path, monkeypatch
):
    """Each `run --once` is a new process with nothing cached: one request lists the
    tabs the config names with their formats, one reads their values; a busy cycle adds
    the guard's read and the write. A tab the config names that is missing costs one
    request more (the tab list first), and the cycle still runs."""
    from .test_cli import invoke

    key, sid = _team_spreadsheet(emulator, tmp_path, monkeypatch)
    emulator.put_tab(sid, "Notes", [["A person's own tab"], ["never read"]])
    made = invoke("init", "--google", sid, "--credentials", str(key), cwd=tmp_path)
    assert made.exit_code == 0, made.output

    def cron() -> list[str]:
        mark = len(emulator.log)
        result = invoke("run", "--once", cwd=tmp_path)
        assert result.exit_code == 0, result.output
        return [f"{r['method']} {r['path'].rsplit('/', 1)[-1]}" for r in api_calls(emulator, mark)]

    first = cron()  # makes Lists and Today, installs the formats
    assert first[:3] == [f"GET {sid}"] * 3 and len(first) == 6, "Lists was missing: one more"
    assert cron() == [f"GET {sid}", "GET values:batchGet"]
    ranges = [r["query"] for r in emulator.log if r["path"].endswith("values:batchGet")][-1]
    assert "Notes" not in str(ranges) and "Deals" in str(ranges)
    emulator.put_cell(sid, "Deals", 1, 1, "Qualification")  # a person moves the deal
    assert cron() == [f"GET {sid}", "GET values:batchGet", "GET values:batchGet",
                        f"POST {sid}:batchUpdate"]  # fmt: skip
    emulator.files[sid].by_title("Settings").props["title"] = "Our settings"  # renamed
    renamed = cron()  # the failed request, the tab list, the formats, the values…
    assert renamed[:4] == [f"GET {sid}"] * 3 + ["GET values:batchGet"]


def test_today_has_one_filter_view_per_rep_and_a_persons_own_views_stay(emulator, key):
    sid = gh.spreadsheet(emulator, tabs(deals(3) + [{"Deal": "Big one", "Stage": "Proposal",
                                                     "Owner": "Ben", "Value": 9000}]))  # fmt: skip
    backend = gh.backend(emulator, sid, key)
    run_cycle(backend, NAMES, NOW)
    today = emulator.files[sid].by_title("Today")
    mine = {"filterViewId": 77, "title": "Ana's hot deals", "range": {"sheetId": today.id}}
    today.filter_views.append(mine)
    reps = {row[0] for row in emulator.values(sid, "Today")[1:] if row and row[0] != "Team"}
    assert reps == {"Ana", "Ben"}
    views = {v["title"]: v for v in today.filter_views}
    assert set(views) == {"Today: Ana", "Today: Ben", "Ana's hot deals"}
    (spec,) = views["Today: Ben"]["filterSpecs"]
    assert spec["columnIndex"] == 0  # Owner
    assert spec["filterCriteria"]["condition"] == {
        "type": "TEXT_EQ",
        "values": [{"userEnteredValue": "Ben"}],
    }
    assert views["Today: Ben"]["range"] == {"sheetId": today.id}  # the whole tab, as it grows
    again = gh.backend(emulator, sid, key)  # a fresh process finds them again
    assert plan_cycle(again.read(), NAMES, NOW).changes.formats == []
    run_cycle(again, NAMES, NOW + timedelta(days=1))
    assert mine in emulator.files[sid].by_title("Today").filter_views
