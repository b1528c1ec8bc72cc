"""`sheetpipe serve` as a website's visitors and webhooks meet it: a real uvicorn server on
loopback, raw HTTP requests, the SQLite journal on disk, and the cycles that move its
submissions into the intake tab exactly once (sheetpipe/web/serve.py, sheetpipe/web/journal.py)."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
import requests
from python_calamine import CalamineWorkbook

from sheetpipe.backends.xlsx import XlsxBackend
from sheetpipe.config import load_config
from sheetpipe.sync import SideInputs, run_cycle
from sheetpipe.web.journal import Inbox, Journal, open_inbox
from sheetpipe.web.serve import FormRules

from .helpers import free_port, tabs, write_config, write_workbook

NOW = datetime(2026, 3, 10, 9, 30)
TAB = "Web leads"


def token_of(page: str) -> str:
    return re.search(r'name="_token" value="([^"]+)"', page).group(1)


def fill(base: str, **fields) -> requests.Response:
    """What a person's browser sends: the form fetched, filled in, sent back."""
    page = requests.get(f"{base}/form", timeout=10).text
    return requests.post(f"{base}/form", data={"_token": token_of(page), **fields}, timeout=10)


def workbook(folder):
    sheets = tabs([{"Deal": "Acme", "Stage": "Contact", "Owner": "Ben"}])
    sheets["Team"] = [["Name"], ["Ana"]]
    write_workbook(folder / "pipeline.xlsx", sheets)
    return write_config(folder, extra=f'[[intake]]\ntab = "{TAB}"\n[serve]\n'
                        'journal = "journal.sqlite"\nmin_seconds = 0\n')  # fmt: skip


def sync(path, now=NOW):
    config = load_config(path)
    return run_cycle(
        XlsxBackend(config.workbook), config.names, now, side=SideInputs(inbox=open_inbox(config))
    )


def sheet(folder, tab: str) -> list[dict]:
    rows = CalamineWorkbook.from_path(str(folder / "pipeline.xlsx")).get_sheet_by_name(tab)
    header, *body = rows.to_python()
    return [dict(zip(header, r, strict=False)) for r in body]


# ---- a visitor fills in the form, a cycle makes the deal -------------------------------------


def test_the_form_is_served_with_its_fields_a_hidden_trap_and_a_token(serve):
    base, _ = serve()
    page = requests.get(f"{base}/form", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for name in ("Name", "Email", "Company", "Phone", "Message"):
        assert f'name="{name}"' in page.text
    assert 'class="trap" aria-hidden="true"' in page.text
    assert 'name="sp_hp_url_confirm"' in page.text, "a name no real form uses"
    assert re.fullmatch(r"\d+\.[0-9a-f]{16}\.[0-9a-f]{64}", token_of(page.text))


def test_a_submission_is_journaled_before_the_answer_and_becomes_one_deal(tmp_path, serve):
    path = workbook(tmp_path)
    base, _ = serve(journal=Journal(tmp_path / "journal.sqlite"))
    answer = fill(base, Name="Cara Diaz", Email="cara@beta.example", Company="Beta Ltd",
                  Message="Call me")  # fmt: skip
    assert answer.status_code == 200 and "Thank you" in answer.text
    # On disk, in another connection, the moment the answer came:
    [waiting] = Journal(tmp_path / "journal.sqlite").waiting()
    assert waiting.fields == {"Name": "Cara Diaz", "Email": "cara@beta.example",
                              "Company": "Beta Ltd", "Message": "Call me"}  # fmt: skip
    sync(path)
    [lead] = sheet(tmp_path, TAB)
    assert lead["Submission ID"] == waiting.id and lead["Source"] == "web form"
    assert lead["Intake status"] == "Created D-0002 for Ana (round-robin, turn 1)"
    deals = sheet(tmp_path, "Deals")
    assert [(d["Deal"], d["Contact"], d["Owner"]) for d in deals] == [
        ("Acme", "", "Ben"), ("Beta Ltd", "Cara Diaz", "Ana")]  # fmt: skip
    assert Journal(tmp_path / "journal.sqlite").waiting() == []
    sync(path)
    assert len(sheet(tmp_path, TAB)) == 1 and len(sheet(tmp_path, "Deals")) == 2


class CrashAfterTheAppend(Journal):
    """The process dies right after the intake tab's write, before the journal knows."""

    def mark_moved(self, ids):
        raise SystemExit("killed")


def test_a_crash_between_the_append_and_the_journal_never_lands_a_submission_twice(tmp_path):
    path = workbook(tmp_path)
    journal = Journal(tmp_path / "journal.sqlite")
    journal.add({"Name": "Cara", "Email": "cara@beta.example"})
    config = load_config(path)
    crashing = Inbox(CrashAfterTheAppend(tmp_path / "journal.sqlite"), TAB)
    with pytest.raises(SystemExit):
        run_cycle(XlsxBackend(config.workbook), config.names, NOW, side=SideInputs(inbox=crashing))
    assert len(journal.waiting()) == 1 and len(sheet(tmp_path, TAB)) == 1
    sync(path)
    assert len(sheet(tmp_path, TAB)) == 1, "found by its Submission ID, not appended again"
    assert journal.waiting() == []
    assert [d["Deal"] for d in sheet(tmp_path, "Deals")] == ["Acme", "Cara"]


def test_google_unreachable_for_hours_then_every_submission_lands_once(tmp_path, emulator):
    from sheetpipe.core.contract import IntakeTab, Names
    from sheetpipe.errors import SheetpipeError

    from . import google_helpers as gh

    sheets = tabs([{"Deal": "Acme", "Stage": "Contact", "Owner": "Ben"}])
    sheets["Team"] = [["Name"], ["Ana"]]
    sid = gh.spreadsheet(emulator, sheets)
    key = gh.key_file(emulator, tmp_path)
    names = Names(intakes=(IntakeTab(TAB, "Deals"),))
    inbox = Inbox(Journal(tmp_path / "journal.sqlite"), TAB)
    from sheetpipe.backends.google import GoogleBackend

    unreachable = GoogleBackend(sid, key, f"http://127.0.0.1:{free_port()}", retry_backoff=0.01)
    for n in range(3):  # cycles while the API is out of reach, submissions arriving
        inbox.journal.add({"Name": f"Lead {n}", "Email": f"lead{n}@c{n}.example"})
        with pytest.raises(SheetpipeError):
            run_cycle(unreachable, names, NOW, side=SideInputs(inbox=inbox))
    assert len(inbox.journal.waiting()) == 3
    backend = gh.backend(emulator, sid, key)
    run_cycle(backend, names, NOW, side=SideInputs(inbox=inbox))
    run_cycle(backend, names, NOW, side=SideInputs(inbox=inbox))
    header, *rows = emulator.values(sid, TAB)
    assert [r[header.index("Name")] for r in rows] == ["Lead 0", "Lead 1", "Lead 2"]
    deals = emulator.values(sid, "Deals")
    assert [r[0] for r in deals[1:]] == ["Acme", "Lead 0", "Lead 1", "Lead 2"]
    assert inbox.journal.waiting() == []


# ---- spam and abuse -----------------------------------------------------------------------


def test_a_bot_filling_the_hidden_field_is_thanked_and_forgotten(serve):
    base, journal = serve()
    answer = fill(base, Name="Bot", Email="bot@spam.example", sp_hp_url_confirm="http://x.example")
    assert answer.status_code == 200 and "Thank you" in answer.text
    assert journal.waiting() == []


def test_a_form_sent_back_faster_than_a_person_types_is_refused(serve):
    base, journal = serve(FormRules(min_seconds=30))
    answer = fill(base, Name="Fast", Email="fast@x.example")
    assert answer.status_code == 400 and "came back too quickly" in answer.text
    forged = requests.post(f"{base}/form", data={"_token": "1.00", "Email": "a@b.example"},
                           timeout=10)  # fmt: skip
    assert forged.status_code == 400
    assert journal.waiting() == []


def test_one_address_gets_a_few_submissions_a_minute(serve):
    base, journal = serve(FormRules(min_seconds=0, per_minute=2))
    codes = [fill(base, Email=f"p{i}@x.example").status_code for i in range(3)]
    assert codes == [200, 200, 429]
    assert len(journal.waiting()) == 2


def test_a_submission_over_the_size_limit_is_refused_unread(serve):
    base, journal = serve()
    answer = fill(base, Email="big@x.example", Message="x" * 20_000)
    assert answer.status_code == 413
    api = requests.post(f"{base}/api/leads", json={"Email": "a@b.example", "Message": "y" * 20_000},
                        timeout=10)  # fmt: skip
    assert api.status_code == 413 and "at most 16384 bytes" in api.json()["error"]
    assert journal.waiting() == []


def test_hostile_text_is_escaped_in_the_page_and_stays_text_in_the_sheet(tmp_path, serve):
    base, journal = serve(journal=Journal(tmp_path / "journal.sqlite"))
    answer = fill(base, Name="<script>alert(1)</script>", Email="not an address")
    assert answer.status_code == 400 and "The e-mail address is not valid." in answer.text
    assert "<script>alert(1)</script>" not in answer.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in answer.text
    api = requests.post(f"{base}/api/leads", json={"Name": "=1+1", "Email": "x@formula.example",
                                                  "Company": "=HYPERLINK(\"http://e.example\")"},
                        timeout=10)  # fmt: skip
    assert api.status_code == 201
    path = workbook(tmp_path)
    sync(path)
    deals = sheet(tmp_path, "Deals")
    assert deals[-1]["Deal"] == '=HYPERLINK("http://e.example")'  # text: calamine reads no result
    assert deals[-1]["Contact"] == "=1+1"


def test_the_webhook_takes_json_or_form_fields_and_answers_without_echoing_input(serve):
    base, journal = serve()
    made = requests.post(f"{base}/api/leads", json={"email": "a@b.example", "Name": "Ann",
                                                   "source": "landing page"}, timeout=10)  # fmt: skip
    assert made.status_code == 201 and re.fullmatch(r"[0-9a-f]{32}", made.json()["id"])
    posted = requests.post(f"{base}/api/leads", data={"Phone": "+44 20 7946 0000"}, timeout=10)
    assert posted.status_code == 201
    bad = requests.post(f"{base}/api/leads", json={"Email": "<b>@x"}, timeout=10)
    assert bad.status_code == 422 and "<b>" not in bad.text
    assert requests.post(f"{base}/api/leads", json=["x"], timeout=10).status_code == 400
    assert [w.fields.get("Source") for w in journal.waiting()] == ["landing page", "webhook"]


@pytest.mark.parametrize(
    ("section", "said"),
    [
        ('[serve]\ntab = "Web leads"', "[serve] needs an [[intake]] tab"),
        ('[[intake]]\ntab = "Web leads"\n[serve]\ntab = "Other"',
         '[serve] tab = "Other" must be one of the [[intake]] tabs (Web leads)'),
        ('[[intake]]\ntab = "Web leads"\n[serve]\nport = 0', "[serve] port = 0 must be a number"),
        ('[[intake]]\ntab = "Web leads"\n[serve]\nrate = 5', "[serve] rate is not a setting"),
    ],
)  # fmt: skip
def test_a_bad_serve_section_is_reported_with_its_key(tmp_path, section, said):
    from sheetpipe.errors import ConfigError

    path = write_config(tmp_path, extra=section + "\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert said in str(err.value)
