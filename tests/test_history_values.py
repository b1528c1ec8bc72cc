"""History records each deal's Value and Expected close (core/deals/history.py,
core/deals/pipeline.py): on every row sheetpipe appends, and in a row of its own when
they change while the deal stays in its stage, so the weekly review can tell what moved
from the sheet alone. Those rows change no stage: days in stage and entries hold."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sheetpipe.core.contract import Names
from sheetpipe.core.cycle import Plan, plan_cycle
from sheetpipe.core.sheet.apply import apply_changes
from sheetpipe.model import Snapshot, Tab

from .helpers import record, set_cell, tabs

NOW = datetime(2026, 3, 10, 9, 30)


class Sheet:
    def __init__(self, *deals: dict, history: list[list] | None = None):
        rows = tabs(deals=list(deals), history=history)
        self.snap = Snapshot({n: Tab(n, r) for n, r in rows.items()})

    def cycle(self, now: datetime) -> Plan:
        plan = plan_cycle(self.snap, Names(), now)
        self.snap = apply_changes(self.snap, plan.changes)
        return plan

    def history(self) -> list[dict]:
        tab = self.snap.find("History")
        return [record(self.snap, "History", r) for r in range(2, len(tab.rows) + 1)]

    def deal(self) -> dict:
        return record(self.snap, "Deals", 2)


def acme(**cells) -> dict:
    return {"Deal": "Acme", "Stage": "Contact", "Owner": "Ana", "Value": 12000,
            "Expected close": date(2026, 4, 30), "Last contact": NOW.date(), **cells}  # fmt: skip


def test_a_new_deal_and_a_stage_change_record_its_value_and_close_date():
    sheet = Sheet(acme())
    sheet.cycle(NOW)
    set_cell(sheet.snap, "Deals", 2, "Stage", "Proposal")
    sheet.cycle(NOW + timedelta(days=1))
    rows = [(h["To stage"], h["Value"], h["Expected close"], h["By"]) for h in sheet.history()]
    assert rows == [("Contact", 12000, date(2026, 4, 30), "sheetpipe"),
                    ("Proposal", 12000, date(2026, 4, 30), "sheetpipe")]  # fmt: skip


def test_a_value_raised_in_its_stage_is_one_row_and_days_in_stage_go_on():
    sheet = Sheet(acme())
    sheet.cycle(NOW)
    set_cell(sheet.snap, "Deals", 2, "Value", 15000)
    sheet.cycle(NOW + timedelta(days=3))
    sheet.cycle(NOW + timedelta(days=4))  # nothing new: the row recorded 15,000
    *_, raised = sheet.history()
    assert len(sheet.history()) == 2
    assert (raised["From stage"], raised["To stage"], raised["Value"], raised["By"]) == (
        "Contact", "Contact", 15000, "sheetpipe (value changed)")  # fmt: skip
    assert sheet.deal()["Days in stage"] == 4
    tasks = sheet.snap.find("Tasks").rows[1:]
    assert len({row[-1] for row in tasks}) == len(tasks)  # no stage entry: no task twice


def test_a_close_date_pushed_and_a_value_cleared_are_each_recorded_once():
    sheet = Sheet(acme())
    sheet.cycle(NOW)
    set_cell(sheet.snap, "Deals", 2, "Expected close", date(2026, 5, 31))
    sheet.cycle(NOW + timedelta(days=1))
    set_cell(sheet.snap, "Deals", 2, "Value", None)
    sheet.cycle(NOW + timedelta(days=2))
    sheet.cycle(NOW + timedelta(days=3))
    said = [(h["Value"], h["Expected close"], h["By"]) for h in sheet.history()[1:]]
    assert said == [(12000, date(2026, 5, 31), "sheetpipe (close date changed)"),
                    (None, date(2026, 5, 31), "sheetpipe (value changed)")]  # fmt: skip


def test_history_from_before_values_were_recorded_is_no_baseline():
    """Rows written When … By only: no row is made up for the deals they hold."""
    old = [[NOW - timedelta(days=9), "D-0001", "Acme", "Deals", "", "Contact", "Ana"]]
    sheet = Sheet(acme(ID="D-0001"), history=old)
    plan = sheet.cycle(NOW)
    assert plan.history_added == 0
    assert sheet.deal()["Days in stage"] == 9


def test_a_row_of_the_same_stage_typed_by_a_person_changes_no_stage():
    history = [[NOW - timedelta(days=9), "D-0001", "Acme", "Deals", "", "Contact", None, None,
                "Ana"],
               [NOW - timedelta(days=2), "D-0001", "Acme", "Deals", "Contact", "Contact", 9000,
                None, "Ana"]]  # fmt: skip
    sheet = Sheet(acme(ID="D-0001"), history=history)
    plan = sheet.cycle(NOW)
    assert sheet.deal()["Days in stage"] == 9  # since entering Contact, not since the fix-up
    [row] = [h for h in sheet.history()[2:]]
    assert (row["Value"], row["By"]) == (12000, "sheetpipe (value changed)")
    assert plan.history_added == 1


def test_a_history_row_dated_in_the_future_by_a_typo_records_nothing_each_cycle():
    history = [[NOW - timedelta(days=9), "D-0001", "Acme", "Deals", "", "Contact", 12000,
                date(2026, 4, 30), "Ana"],
               [NOW + timedelta(days=300), "D-0001", "Acme", "Deals", "Contact", "Contact", 9000,
                date(2026, 4, 30), "Ana"]]  # fmt: skip
    sheet = Sheet(acme(ID="D-0001"), history=history)
    assert sheet.cycle(NOW).history_added == 1  # 12,000 now, not the 9,000 typed
    assert sheet.cycle(NOW + timedelta(hours=1)).history_added == 0
    assert sheet.cycle(NOW + timedelta(hours=2)).history_added == 0
