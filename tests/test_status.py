"""The Status tab: rewritten when what it says changes or the heartbeat is due, never idly."""

from datetime import timedelta

import pytest

from sheetpipe.backends.memory import MemoryBackend
from sheetpipe.core.tabs.status import headline
from sheetpipe.sync import run_cycle

from .helpers import NAMES, NOW, snapshot


def status(backend: MemoryBackend) -> dict[str, list]:
    return {row[0]: row[1:] for row in backend.snapshot.find("Status").rows if row and row[0]}


def test_status_reports_the_cycle_and_idles_quietly_until_the_heartbeat():
    backend = MemoryBackend(snapshot(deals=[{"Deal": "Acme", "Stage": "Discovery"}]))
    first = run_cycle(backend, NAMES, NOW, next_run="2026-03-10 09:35 UTC (every 300s)")
    assert first.applied
    shown = status(backend)
    assert shown["Last run"][0] == "2026-03-10 09:30"
    assert shown["Next run"][0] == "2026-03-10 09:35 UTC (every 300s)"
    assert shown["Last change"][0] == "2026-03-10 09:30"
    assert shown["Last change"][1].startswith(
        "6 cells, 3 rows appended (2 tasks, 1 history); 1 read, 1 write"
    )
    assert shown["Deals"][0] == 1
    # Idle for 59 minutes: nothing at all is written.
    for minutes in (5, 30, 59):
        assert not run_cycle(backend, NAMES, NOW + timedelta(minutes=minutes)).applied
    # The heartbeat: Last run moves on, Last change stays.
    beat = run_cycle(backend, NAMES, NOW + timedelta(minutes=61))
    assert beat.applied and not beat.plan.changes.has_sheet_changes()
    shown = status(backend)
    assert (shown["Last run"][0], shown["Last change"][0]) == (
        "2026-03-10 10:31",
        "2026-03-10 09:30",
    )


def test_a_new_problem_is_reported_at_once():
    backend = MemoryBackend(snapshot(deals=[{"Deal": "Acme", "Stage": "Discovery"}]))
    run_cycle(backend, NAMES, NOW)
    backend.snapshot.find("Weights").rows.append(["Value", ">", "lots", 5, None, None])
    report = run_cycle(backend, NAMES, NOW + timedelta(minutes=5))
    assert report.applied and not report.plan.changes.has_sheet_changes()
    shown = status(backend)
    assert shown["Problems"][:2] == [1, "1 errors, 0 warnings"]
    assert shown["Weights!C16"][0].startswith('value "lots" is not a number')


def test_status_counts_each_health_and_names_the_deals_per_tab():
    from datetime import date

    rows = [
        {"Deal": "Quiet", "Stage": "Discovery", "Last contact": date(2026, 1, 1)},  # Dead
        {"Deal": "Fresh", "Stage": "Discovery", "Last contact": NOW.date()},
    ]
    backend = MemoryBackend(snapshot(deals=rows))
    report = run_cycle(backend, NAMES, NOW)
    shown = status(backend)
    for health in ("Hot", "At risk", "Stalled", "Dead"):
        assert shown[health] == [report.plan.count(health), ""], health
    assert shown["Dead"][0] == 1


def test_the_first_id_of_a_new_pipeline_is_number_one():
    backend = MemoryBackend(snapshot(deals=[{"Deal": "Acme", "Stage": "Discovery"}]))
    run_cycle(backend, NAMES, NOW)
    deals = backend.snapshot.find("Deals")
    assert deals.rows[1][deals.header.index("ID")] == "D-0001"


@pytest.mark.parametrize(
    ("errors", "warnings", "said"),
    [
        (0, 0, "All good"),
        (1, 0, "1 problem: 1 error"),
        (0, 1, "1 problem: 1 warning"),
        (1, 2, "3 problems: 1 error, 2 warnings"),
        (2, 0, "2 problems: 2 errors"),
        (10, 11, "21 problems: 10 errors, 11 warnings"),
    ],
)
def test_the_headline_counts_problems_in_words(errors, warnings, said):
    assert headline(errors, warnings) == said


def test_a_problem_links_to_its_cell_and_the_rest_stay_text():
    backend = MemoryBackend(snapshot(deals=[{"Deal": "Acme", "Stage": "Discovery"}]))
    backend.snapshot.find("Weights").rows.append(["Value", ">", "lots", 5, None, None])
    del backend.snapshot.tabs["Customers"]  # a problem that names a tab, not a cell
    run_cycle(backend, NAMES, NOW)
    rows = backend.snapshot.find("Status").rows
    wheres = {r[0]: f"A{i}" for i, r in enumerate(rows, start=1) if r and r[0]}
    assert "Customers tab" in wheres and wheres["Customers tab"] not in backend.links["status"]
    assert backend.links["status"][wheres["Weights!C16"]] == ("Weights", "C16")
    assert backend.links["status"][wheres["Weights!A14"]] == ("Weights", "A14")  # its "Seats" rule
    assert len(backend.links["status"]) == 2


def test_status_lays_out_its_rows_the_same_way_every_time():
    backend = MemoryBackend(snapshot(deals=[{"Deal": "Acme", "Stage": "Discovery"}]))
    backend.snapshot.find("Weights").rows.append(["Value", ">", "lots", 5, None, None])
    run_cycle(backend, NAMES, NOW, next_run="2026-03-10 09:35 UTC (every 300s)")
    rows = backend.snapshot.find("Status").rows
    assert rows[0] == ["Item", "Value", "Detail"]
    assert rows[3] == ["Next run", "2026-03-10 09:35 UTC (every 300s)", ""]
    assert rows[5] == ["Deals", 1, "Deals 1 · Customers 0"]
    at = [r[0] for r in rows].index("Where")
    assert rows[at - 1] == ["", "", ""] and rows[at] == ["Where", "Problem", "Level"]
    assert rows[at + 1][0] == "Weights!C16" and rows[at + 1][2] == "error"


def test_a_status_without_its_last_change_says_never_until_something_changes():
    backend = MemoryBackend(snapshot(deals=[{"Deal": "Acme", "Stage": "Discovery"}]))
    run_cycle(backend, NAMES, NOW)
    tab = backend.snapshot.find("Status")
    tab.rows = [r for r in tab.rows if r[0] != "Last change"]  # a person deleted the row
    run_cycle(backend, NAMES, NOW + timedelta(minutes=5))
    assert status(backend)["Last change"] == ["never", ""]


def _set_status_cell(backend: MemoryBackend, label: str, values: list) -> None:
    rows = backend.snapshot.find("Status").rows
    at = next(i for i, row in enumerate(rows) if row and row[0] == label)
    rows[at] = [label, *values]


def test_the_heartbeat_is_due_at_exactly_its_minutes():
    backend = MemoryBackend(snapshot(deals=[{"Deal": "Acme", "Stage": "Discovery"}]))
    run_cycle(backend, NAMES, NOW)
    assert not run_cycle(backend, NAMES, NOW + timedelta(minutes=59, seconds=59)).applied
    assert run_cycle(backend, NAMES, NOW + timedelta(minutes=60)).applied


def test_a_last_run_written_with_seconds_or_rows_trimmed_by_the_backend_are_not_rewritten():
    """Google hands rows back without their trailing empty cells, and a tool may write
    the time with seconds: neither is a reason to write Status on an idle cycle."""
    backend = MemoryBackend(snapshot(deals=[{"Deal": "Acme", "Stage": "Discovery"}]))
    run_cycle(backend, NAMES, NOW)
    _set_status_cell(backend, "Last run", ["2026-03-10 09:30:15"])
    assert not run_cycle(backend, NAMES, NOW + timedelta(minutes=5)).applied
    _set_status_cell(backend, "Last change", [])  # a person cleared it: its cells trimmed
    assert run_cycle(backend, NAMES, NOW + timedelta(minutes=61)).applied
    assert backend.snapshot.find("Status").rows[4][:3] == ["Last change", "", ""]
    _set_status_cell(backend, "Last run", ["not a time"])
    assert run_cycle(backend, NAMES, NOW + timedelta(minutes=62)).applied, "unreadable: rewritten"


def test_as_many_errors_as_warnings_is_still_a_problem():
    assert headline(1, 1) == "2 problems: 1 error, 1 warning"
