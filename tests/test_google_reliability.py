"""The Google backend when the network, Google's quotas and people all misbehave.

Everything runs on the local Sheets API through the real gspread and google-auth code.
"""

from __future__ import annotations

import collections
import json
from datetime import timedelta

import pytest

import sheetpipe.sync
from sheetpipe.core.contract import IntakeTab, Names
from sheetpipe.sync import run_cycle
from tests.emulator import Emulator

from . import google_helpers as gh
from .backend_contract import deals
from .helpers import NAMES, NOW, tabs

FAULTS = [
    {"action": "status", "status": 429},
    {"action": "status", "status": 500},
    {"action": "status", "status": 503},
    {"action": "delay", "delay": 0.05},
    {"action": "drop_before"},
    {"action": "drop_after"},
]


@pytest.fixture
def emulator():
    emu = Emulator()
    emu.serve()
    yield emu
    emu.stop()


@pytest.fixture(autouse=True)
def quick_replans(monkeypatch):
    monkeypatch.setattr(sheetpipe.sync, "REPLAN_PAUSE", 0.005)


def header_index(emulator, sid, name):
    return emulator.values(sid, "Deals")[0].index(name)


def person_edits(emulator, sid, batch: int) -> None:
    """The scripted edits of one batch: each touches its own deal, so the order in which
    a daemon sees them does not matter."""
    stage = header_index(emulator, sid, "Stage")
    value = header_index(emulator, sid, "Value")
    row = 1 + batch  # a different deal each batch
    emulator.put_cell(sid, "Deals", row, stage, ["Contact", "Proposal", "Won"][batch % 3])
    emulator.put_cell(sid, "Deals", row, value, 500 * batch)
    if batch % 4 == 0:
        emulator.insert_row(
            sid, "Deals", len(emulator.values(sid, "Deals")), [f"New {batch}", "Discovery", "Ana"]
        )


def run_many(emulator, sid, key, cycles: int, idle: bool = True) -> dict:
    """`cycles` cycles, a batch of edits every tenth. Without `idle`, only the two cycles
    after each batch run: the rest would plan nothing (a fault-free run converges in
    one), so the reference run costs a fifth."""
    backend = gh.backend(emulator, sid, key)
    failed = 0
    for n in range(cycles):
        if n % 10 == 0:
            person_edits(emulator, sid, n // 10)
        elif n % 10 > 1 and not idle:
            continue
        try:
            run_cycle(backend, NAMES, NOW)
        except Exception:  # noqa: BLE001 - counted as the daemon counts them
            failed += 1
    return {"failed_cycles": failed}


def owned_view(emulator, sid) -> dict:
    return {t: emulator.values(sid, t) for t in ("Deals", "Tasks", "History")}


def test_200_cycles_with_a_fifth_of_requests_failing_end_as_a_fault_free_run(emulator, tmp_path):
    key = gh.key_file(emulator, tmp_path)
    clean = gh.spreadsheet(emulator, tabs(deals(30)), "clean")
    faulty = gh.spreadsheet(emulator, tabs(deals(30)), "faulty")
    run_many(emulator, clean, key, 200, idle=False)
    mark = len(emulator.log)
    for fault in FAULTS:
        # Independent chances that add up to one request in five failing.
        emulator.add_fault(**fault, count=-1, rate=1 - 0.8 ** (1 / len(FAULTS)), seed=11)
    figures = run_many(emulator, faulty, key, 200)
    log = emulator.log[mark:]
    api = [r for r in log if r["path"].startswith("/v4/")]
    hit = collections.Counter(r.get("fault", "none") for r in api)
    figures.update(
        requests=len(api), faults=sum(v for k, v in hit.items() if k != "none"), by_kind=dict(hit)
    )
    print(json.dumps(figures))
    assert 0.15 <= figures["faults"] / figures["requests"] <= 0.25, figures
    assert owned_view(emulator, faulty) == owned_view(emulator, clean)
    header, *rows = emulator.values(faulty, "Tasks")
    tasks = [r[header.index("Task ID")] for r in rows]
    assert len(tasks) == len(set(tasks)) > 60
    history = [tuple(r) for r in emulator.values(faulty, "History")[1:]]
    assert len(history) == len(set(history)) > 30


def edit_after_first_read(backend, edit) -> list:
    """A person's edit right after the backend's first read of the sheet: between a
    cycle's read and its write. The list returned gets an entry once it happened."""
    read, done = backend.read, []

    def read_then_edit():
        snap = read()
        if not done:
            done.append(True)
            edit()
        return snap

    backend.read = read_then_edit
    return done


def edit_sort(emulator, sid):
    emulator.sort_rows(sid, "Deals", key=lambda row: str(row[0]), reverse=True)


def edit_insert(emulator, sid):
    emulator.insert_row(sid, "Deals", 1, ["Walk-in", "Discovery", "Bea", None, None, 7000])


def edit_delete(emulator, sid):
    emulator.delete_row(sid, "Deals", 3)


def edit_people_cell(emulator, sid):
    emulator.put_cell(sid, "Deals", 5, header_index(emulator, sid, "Value"), 9000)


def edit_owned_cell(emulator, sid):
    emulator.put_cell(sid, "Deals", 2, header_index(emulator, sid, "Score"), 99)


@pytest.mark.parametrize(
    "edit", [edit_sort, edit_insert, edit_delete, edit_people_cell, edit_owned_cell]
)
def test_a_person_editing_between_read_and_write_loses_nothing_and_gets_no_wrong_value(
    emulator, tmp_path, edit
):
    key = gh.key_file(emulator, tmp_path)
    sid = gh.spreadsheet(emulator, tabs(deals(9), weights=[["Value", ">", 4500, 40, "", ""]]))
    run_cycle(gh.backend(emulator, sid, key), NAMES, NOW)
    backend = gh.backend(emulator, sid, key)
    done = edit_after_first_read(backend, lambda: edit(emulator, sid))
    # Moving a deal makes the cycle busy, so a write follows the person's edit.
    emulator.put_cell(sid, "Deals", 1, header_index(emulator, sid, "Stage"), "Proposal")
    run_cycle(backend, NAMES, NOW + timedelta(minutes=5))
    assert done
    if edit is edit_owned_cell:  # a person's 99 in Score: sheetpipe's own cell, mended next
        assert deal_records(emulator, sid)[1]["Score"] == 99
        run_cycle(backend, NAMES, NOW + timedelta(minutes=10))
    # Looked at right after the cycle the person edited in: a second cycle would mend a
    # wrong value and hide that the guard let it through.
    records = deal_records(emulator, sid)
    for record in records:  # every computed value is its own deal's
        assert record["Score"] == (40 if (record.get("Value") or 0) > 4500 else 0), record
    ids = [r["ID"] for r in records]
    assert len(ids) == len(set(ids)) and all(ids)
    named = {r["Deal"]: r["ID"] for r in records}
    for entry in emulator.values(sid, "History")[1:]:  # History agrees on who is who
        if entry[2] in named:
            assert named[entry[2]] == entry[1], entry
    if edit is edit_people_cell:
        assert records[4]["Value"] == 9000  # the person's edit stands
    if edit is edit_insert:
        assert records[0]["Deal"] == "Walk-in" and records[0]["Score"] == 40
    if edit is edit_delete:
        assert "Deal 3" not in named and len(records) == 8


def deal_records(emulator, sid) -> list[dict]:
    rows = emulator.values(sid, "Deals")
    return [dict(zip(rows[0], r, strict=False)) for r in rows[1:]]


def test_deals_without_ids_sorted_between_read_and_write_get_no_value_of_another(
    emulator, tmp_path
):
    """Rows with no ID yet look alike to a guard that compares IDs only: the Deal
    column tells them apart."""
    key = gh.key_file(emulator, tmp_path)
    sid = gh.spreadsheet(emulator, tabs(deals(9), weights=[["Value", ">", 4500, 40, "", ""]]))
    backend = gh.backend(emulator, sid, key)
    done = edit_after_first_read(backend, lambda: edit_sort(emulator, sid))
    run_cycle(backend, NAMES, NOW)
    assert done
    for record in deal_records(emulator, sid):
        assert record["Score"] == (40 if record["Value"] > 4500 else 0), record
    ids = [r["ID"] for r in deal_records(emulator, sid)]
    assert len(set(ids)) == 9 and all(ids)


def test_with_quota_squeezed_the_daemon_backs_off_and_recovers_without_losing_work(
    emulator, tmp_path
):
    key = gh.key_file(emulator, tmp_path)
    clean = gh.spreadsheet(emulator, tabs(deals(12)), "clean")
    squeezed = gh.spreadsheet(emulator, tabs(deals(12)), "squeezed")
    run_cycle(gh.backend(emulator, clean, key), NAMES, NOW)
    emulator.set_quota(True, limit=2, window=1.0)
    mark = len(emulator.log)
    backend = gh.backend(emulator, squeezed, key, retry_backoff=0.3)
    for _ in range(3):
        run_cycle(backend, NAMES, NOW)
    statuses = collections.Counter(
        r["status"] for r in emulator.log[mark:] if r["path"].startswith("/v4/")
    )
    assert statuses[429] > 0, statuses  # the squeeze bit
    assert owned_view(emulator, squeezed) == owned_view(emulator, clean)


# ---- intake: form responses arriving on a shared sheet --------------------------------

FORM = "Form Responses 1"
INTAKE_NAMES = Names(intakes=(IntakeTab(FORM, "Deals"),))


def form_sheet(emulator, responses: list[list]) -> str:
    sheets = tabs(deals(3))
    sheets["Team"] = [["Name"], ["Ana"], ["Ben"]]
    sheets[FORM] = [["Timestamp", "Name", "Email", "Company"], *responses]
    return gh.spreadsheet(emulator, sheets)


def submit(emulator, sid, n: int) -> None:
    """The form appends a response below the last one, as Google Forms does."""
    rows = emulator.values(sid, FORM)
    emulator.insert_row(sid, FORM, len(rows), [46090.5 + n, f"Lead {n}", f"lead{n}@c{n}.example",
                                               f"Company {n}"])  # fmt: skip


def intake_records(emulator, sid) -> list[dict]:
    rows = emulator.values(sid, FORM)
    return [dict(zip(rows[0], r, strict=False)) for r in rows[1:]]


def test_responses_arriving_between_cycles_each_make_one_deal_with_constant_requests(
    emulator, tmp_path
):
    key = gh.key_file(emulator, tmp_path)
    sid = form_sheet(emulator, [])
    backend = gh.backend(emulator, sid, key)
    run_cycle(backend, INTAKE_NAMES, NOW)
    for n in range(1, 4):
        submit(emulator, sid, n)
        mark = len(emulator.log)
        report = run_cycle(backend, INTAKE_NAMES, NOW + timedelta(minutes=5 * n))
        calls = [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in api_calls(emulator, mark)]
        assert calls == [("GET", "values:batchGet"), ("GET", "values:batchGet"),
                         ("POST", f"{sid}:batchUpdate")], calls  # fmt: skip
        assert report.applied
    mark = len(emulator.log)
    assert not run_cycle(backend, INTAKE_NAMES, NOW + timedelta(minutes=30)).applied
    assert len(api_calls(emulator, mark)) == 1  # idle: one read, the form's tab in it
    records = deal_records(emulator, sid)
    assert [r["Contact"] for r in records[3:]] == ["Lead 1", "Lead 2", "Lead 3"]
    assert [r["Owner"] for r in records[3:]] == ["Ana", "Ben", "Ana"]
    statuses = [r["Intake status"] for r in intake_records(emulator, sid)]
    assert statuses == [f"Created D-000{3 + n} for {o} (round-robin, turn {n})"
                        for n, o in ((1, "Ana"), (2, "Ben"), (3, "Ana"))]  # fmt: skip


def api_calls(emulator, since=0):
    return [r for r in emulator.log[since:] if r["path"].startswith("/v4/")]


@pytest.mark.parametrize("edit", ["sort the form", "submit during the cycle", "add a deal"])
def test_a_sheet_changing_between_read_and_write_gets_no_status_on_a_wrong_response(
    emulator, tmp_path, edit
):
    """Each status names the deal made from its own row, right after the cycle the sheet
    changed in, and no response makes two deals."""
    key = gh.key_file(emulator, tmp_path)
    sid = form_sheet(emulator, [])
    for n in range(1, 5):
        submit(emulator, sid, n)
    backend = gh.backend(emulator, sid, key)
    actions = {
        "sort the form": lambda: emulator.sort_rows(
            sid, FORM, key=lambda r: str(r[1]), reverse=True
        ),  # fmt: skip
        "submit during the cycle": lambda: submit(emulator, sid, 5),
        "add a deal": lambda: emulator.insert_row(sid, "Deals", 4, ["Walk-in", "Discovery"]),
    }
    done = edit_after_first_read(backend, actions[edit])
    run_cycle(backend, INTAKE_NAMES, NOW)
    assert done
    contact_of = {r.get("ID"): r.get("Contact") for r in deal_records(emulator, sid)}
    made = []
    for response in intake_records(emulator, sid):
        status = response.get("Intake status")
        if status:
            deal_id = status.split()[1]
            assert contact_of[deal_id] == response["Name"], (status, response)
            made.append(deal_id)
    assert len(made) == len(set(made)) >= 4
    contacts = [c for c in contact_of.values() if c]
    assert len(contacts) == len(set(contacts))  # one deal per response
    if edit == "add a deal":  # the person's row stands; the new deals come after it
        assert [r["Deal"] for r in deal_records(emulator, sid)][3:5] == ["Walk-in", "Company 1"]
