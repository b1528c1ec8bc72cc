"""Deals that move on by themselves: a stage left once its playbook is done, and a won
deal's row in the post-sale pipeline (core/deals/pipeline.py, core/deals/transfer.py)."""

from __future__ import annotations

from datetime import date, timedelta

from sheetpipe.core.contract import OWNED_COLUMNS
from sheetpipe.core.cycle import plan_cycle
from sheetpipe.core.sheet.apply import apply_changes
from sheetpipe.model import Tab

from .helpers import NAMES, NOW, column, record
from .helpers import snapshot as snapshot_with

STAGES = [
    ["Deals", "Discovery", 1, "", 7, "10%", "Research (+1d)\nFirst call (+2d)", "No", "",
     "playbook done", ""],
    ["Deals", "Qualification", 2, "", 10, "30%", "Qualify (+1d)", "No", "", "", ""],
    ["Deals", "Proposal", 3, "", 10, "75%", "", "No", "", "playbook done", ""],
    ["Deals", "Won", 4, "", "", "100%", "", "No", "won", "", ""],
    ["Deals", "Lost", 5, "", "", "0%", "", "No", "lost", "", ""],
    ["Customers", "Onboarding", 1, "", 14, "", "Kick-off (+2d)", "No", "", "", ""],
    ["Customers", "Adoption", 2, "", 60, "", "", "No", "", "", ""],
]  # fmt: skip


class Sheet:
    def __init__(self, deals, stages=STAGES, **kwargs):
        self.snap = snapshot_with(deals=deals, stages=stages, **kwargs)

    def cycle(self, now=NOW):
        plan = plan_cycle(self.snap, NAMES, now)
        self.snap = apply_changes(self.snap, plan.changes)
        return plan

    def tick(self, *task_ids: str) -> None:
        tab = self.snap.find("Tasks")
        at_id, at_done = tab.header.index("Task ID"), tab.header.index("Done")
        for row in tab.rows[1:]:
            if row[at_id] in task_ids:
                row[at_done] = "Yes"

    def history(self) -> list[tuple]:
        return [(r[1], r[4], r[5], r[8]) for r in self.snap.find("History").rows[1:]]


def deal(**cells):
    return {"Deal": "Acme", "Stage": "Discovery", "Owner": "Ana", "Last contact": NOW.date(),
            **cells}  # fmt: skip


# ---- exit on actions -----------------------------------------------------------------


def test_a_deal_moves_on_once_every_playbook_task_of_its_stage_is_done():
    sheet = Sheet([deal()])
    sheet.cycle()
    sheet.tick("deals/D-0001/discovery#1/playbook-1")
    assert not sheet.cycle().changes.has_sheet_changes()  # one of two done: it stays
    sheet.tick("deals/D-0001/discovery#1/playbook-2")
    later = NOW + timedelta(hours=3)
    sheet.cycle(later)
    assert column(sheet.snap, "Deals", "Stage") == ["Qualification"]
    assert sheet.history()[-1] == ("D-0001", "Discovery", "Qualification",
                                   "sheetpipe (playbook done)")  # fmt: skip
    assert record(sheet.snap, "Deals", 2)["Days in stage"] == 0
    assert "deals/D-0001/qualification#1/playbook-1" in column(sheet.snap, "Tasks", "Task ID")
    assert not sheet.cycle(later).changes.has_sheet_changes()


def test_done_words_and_checkboxes_count_and_an_untick_after_moving_changes_nothing():
    sheet = Sheet([deal()])
    sheet.cycle()
    tasks = sheet.snap.find("Tasks")
    done = tasks.header.index("Done")
    for row, value in zip(tasks.rows[1:], [True, "x"], strict=False):
        row[done] = value
    sheet.cycle()
    assert column(sheet.snap, "Deals", "Stage") == ["Qualification"]
    for row in tasks.rows[1:]:
        row[done] = "No"
    sheet.cycle()
    assert column(sheet.snap, "Deals", "Stage") == ["Qualification"]


def test_a_stage_without_exit_when_waits_for_a_person():
    stages = [row[:9] + ["", ""] for row in STAGES]
    sheet = Sheet([deal()], stages=stages)
    sheet.cycle()
    sheet.tick("deals/D-0001/discovery#1/playbook-1", "deals/D-0001/discovery#1/playbook-2")
    sheet.cycle()
    assert column(sheet.snap, "Deals", "Stage") == ["Discovery"]


def test_a_stage_with_no_playbook_or_no_next_stage_never_moves_a_deal_on():
    sheet = Sheet([deal(Stage="Proposal")])  # Proposal exits on a playbook it lacks
    sheet.cycle()
    sheet.cycle()
    assert column(sheet.snap, "Deals", "Stage") == ["Proposal"]


def test_coming_back_to_a_stage_needs_that_stays_playbook_done_again():
    history = [[NOW - timedelta(days=20), "D-0001", "Acme", "Deals", "", "Discovery", "Ana"],
               [NOW - timedelta(days=15), "D-0001", "Acme", "Deals", "Discovery",
                "Qualification", "Ana"]]  # fmt: skip
    done = [["Research", "Acme", NOW.date(), "Ana", "Yes", "playbook", NOW, "D-0001",
             f"deals/D-0001/discovery#1/playbook-{i}"] for i in (1, 2)]  # fmt: skip
    sheet = Sheet([deal(ID="D-0001", Stage="Discovery")], history=history, tasks=done)
    sheet.cycle()  # back in Discovery: its second stay, whose tasks are not done
    assert column(sheet.snap, "Deals", "Stage") == ["Discovery"]
    assert "deals/D-0001/discovery#2/playbook-1" in column(sheet.snap, "Tasks", "Task ID")


def test_exit_when_must_be_playbook_done_or_empty():
    stages = [list(row) for row in STAGES]
    stages[1][9] = "when ready"
    plan = Sheet([deal()], stages=stages).cycle()
    (problem,) = [p for p in plan.problems if p.where == "Stages!J3"]
    assert 'Exit when "when ready" must be playbook done or empty' in problem.message


# ---- won → the post-sale pipeline ------------------------------------------------------


def won(**cells):
    base = {"ID": "D-0001", "Stage": "Won", "Email": "bob@acme.example", "Company": "Acme",
            "Value": 12000, "Source": "Referral"}  # fmt: skip
    return deal(**{**base, **cells})


def customers(sheet) -> list[dict]:
    tab = sheet.snap.find("Customers")
    return [record(sheet.snap, "Customers", r) for r in range(2, len(tab.rows) + 1)]


def test_a_won_deal_gets_one_row_in_customers_in_its_first_stage():
    sheet = Sheet([won(), deal(ID="D-0002", Deal="Open one", Stage="Qualification")])
    plan = sheet.cycle()
    (row,) = customers(sheet)
    assert (row["Deal"], row["Stage"], row["Owner"]) == ("Acme", "Onboarding", "Ana")
    assert (row["Email"], row["Company"], row["Value"]) == ("bob@acme.example", "Acme", 12000)
    assert (row["From deal"], row["ID"]) == ("D-0001", "C-0001")
    assert "Source" not in row  # only the columns both tabs have
    assert row["Health"] and row["Days in stage"] == 0  # planned in the same cycle
    assert ("C-0001", "", "Onboarding", "sheetpipe (from D-0001)") in sheet.history()
    assert any(t[8] == "customers/C-0001/onboarding#1/playbook-1"
               for t in sheet.snap.find("Tasks").rows[1:])  # fmt: skip
    assert plan.changes.rows_appended > 0
    assert not sheet.cycle().changes.has_sheet_changes()


def test_a_deleted_customer_row_is_not_made_again():
    sheet = Sheet([won()])
    sheet.cycle()
    tab = sheet.snap.find("Customers")
    del tab.rows[1]
    sheet.cycle()
    assert customers(sheet) == []


def test_next_pipeline_none_keeps_a_won_deal_where_it_is():
    stages = [list(r) for r in STAGES]
    stages[3][10] = "none"
    sheet = Sheet([won()], stages=stages)
    sheet.cycle()
    assert customers(sheet) == []


def test_a_next_pipeline_that_is_no_pipeline_is_reported():
    stages = [list(r) for r in STAGES]
    stages[3][10] = "Renewals"
    plan = Sheet([won()], stages=stages).cycle()
    (problem,) = [p for p in plan.problems if "Next pipeline" in p.message]
    assert problem.where == "Stages!K5"


def test_post_sale_round_robin_deals_customers_out_over_the_team_and_keeps_the_turn():
    deals = [won(ID=f"D-000{i}", Deal=f"Deal {i}", Email=f"b{i}@c{i}.example") for i in (1, 2, 3)]
    sheet = Sheet(deals, settings={"Post-sale owner": "round-robin"})
    sheet.snap.tabs["Team"] = Tab("Team", [["Name", "Pipelines"], ["Cy", "Customers"],
                                           ["Dee", "Customers"], ["Ana", "Deals"]])  # fmt: skip
    sheet.cycle()
    assert [c["Owner"] for c in customers(sheet)] == ["Cy", "Dee", "Cy"]
    # Ana works on Deals only: her turn (3) passes to Cy
    assert ("C-0003", "", "Onboarding", "sheetpipe (from D-0003; round-robin, turn 4)") in (
        sheet.history()
    )
    sheet.snap.find("Deals").rows.append([None] * 0 + list(record(sheet.snap, "Deals", 2).values()))
    tab = sheet.snap.find("Deals")
    tab.rows[-1][tab.header.index("ID")] = "D-0009"
    sheet.cycle()
    assert customers(sheet)[3]["Owner"] == "Dee"  # turn 5, from the sheet alone


def test_the_customer_row_gets_only_the_from_deal_column_and_dates_read_as_dates():
    sheet = Sheet([won(**{"Expected close": "05/04/2026"}),
                   won(ID="D-0002", Deal="Beta", Email="b@beta.example")])  # fmt: skip
    before = set(sheet.snap.find("Customers").header)
    sheet.cycle()
    assert set(sheet.snap.find("Customers").header) - before - set(OWNED_COLUMNS) == {"From deal"}
    first, second = customers(sheet)
    assert first["Expected close"] == date(2026, 4, 5)  # typed day first (Date order DMY)
    assert second["Expected close"] is None


def test_round_robin_with_nobody_on_the_next_pipeline_keeps_the_deals_owner():
    sheet = Sheet([won()], settings={"Post-sale owner": "round-robin"})
    sheet.snap.tabs["Team"] = Tab("Team", [["Name", "Pipelines"], ["Ana", "Deals"]])
    sheet.cycle()
    assert customers(sheet)[0]["Owner"] == "Ana"
    assert ("C-0001", "", "Onboarding", "sheetpipe (from D-0001)") in sheet.history()
