"""Deals that move on by themselves, as careless hands and odd sheets meet them: an `Exit
when` that can do nothing, and the won deal's row in the post-sale pipeline when tabs go
missing, rows are deleted and pasted back, deals leave Won, or IDs are pasted twice
(core/inputs/stages.py, core/deals/pipeline.py, core/deals/transfer.py)."""

from __future__ import annotations

from datetime import timedelta

from sheetpipe.model import Tab

from .helpers import NOW, column
from .test_flow import STAGES, Sheet, customers, deal, won

EXIT_WHEN = 9  # the column of Exit when in STAGES (J), Next pipeline is 10 (K)


def stages_with(*changes: tuple[str, int, object]) -> list[list]:
    """STAGES with (stage, column, value) set."""
    rows = [list(r) for r in STAGES]
    for stage, col, value in changes:
        next(r for r in rows if r[0] == "Deals" and r[1] == stage)[col] = value
    return rows


def exit_problems(plan) -> dict[str, str]:
    return {p.where: p.message for p in plan.problems if "Exit when" in p.message}


# ---- an Exit when that can do nothing (finding 12) -------------------------------------


def test_playbook_done_before_a_closed_stage_is_reported_on_its_cell_and_never_wins_a_deal():
    stages = stages_with(("Proposal", 6, "Send the proposal (+1d)"))  # Proposal → Won
    sheet = Sheet([deal(Stage="Proposal")], stages=stages)
    plan = sheet.cycle()
    said = exit_problems(plan)["Stages!J4"]
    assert said.startswith('Exit when "playbook done" on Proposal does nothing: no open stage')
    assert "never closes a deal as won or lost" in said and "Empty the cell" in said
    assert next(p for p in plan.problems if p.where == "Stages!J4").level == "warning"
    sheet.tick("deals/D-0001/proposal#1/playbook-1")
    sheet.cycle(NOW + timedelta(hours=1))
    assert column(sheet.snap, "Deals", "Stage") == ["Proposal"], "a person closes a deal"
    assert customers(sheet) == []


def test_playbook_done_on_a_stage_without_a_playbook_or_on_a_closed_stage_is_reported():
    stages = stages_with(("Won", EXIT_WHEN, "playbook done"))  # Proposal has no playbook
    problems = exit_problems(Sheet([deal()], stages=stages).cycle())
    assert "no Playbook, so it is never done" in problems["Stages!J4"]
    assert "a closed stage has no next stage" in problems["Stages!J5"]
    assert "Stages!J2" not in problems  # Discovery → Qualification works: nothing to say


def test_a_working_exit_when_says_nothing():
    stages = stages_with(("Proposal", EXIT_WHEN, ""))
    assert exit_problems(Sheet([deal()], stages=stages).cycle()) == {}


# ---- won → Customers, carelessly -------------------------------------------------------


def test_a_missing_next_pipeline_tab_is_reported_and_the_row_is_made_once_it_is_back():
    sheet = Sheet([won()])
    header = sheet.snap.tabs.pop("Customers").rows[0]
    plan = sheet.cycle()
    assert any(p.where == "Customers tab" and p.level == "error" for p in plan.problems)
    assert column(sheet.snap, "Deals", "Health") == ["Won"], "Deals went on"
    sheet.snap.tabs["Customers"] = Tab("Customers", [list(header)])  # init adds it again
    sheet.cycle()
    assert [c["From deal"] for c in customers(sheet)] == ["D-0001"]


def test_a_won_deal_deleted_then_pasted_back_gets_no_second_customer_row():
    sheet = Sheet([won()])
    sheet.cycle()
    deals = sheet.snap.find("Deals")
    cut = deals.rows.pop(1)
    sheet.cycle()
    deals.rows.append(cut)  # pasted back, its ID with it
    sheet.cycle()
    assert [c["From deal"] for c in customers(sheet)] == ["D-0001"]


def test_a_deal_taken_out_of_won_keeps_its_customer_row_and_winning_again_adds_none():
    sheet = Sheet([won()])
    sheet.cycle()
    deals = sheet.snap.find("Deals")
    stage = deals.header.index("Stage")
    deals.rows[1][stage] = "Proposal"  # won by mistake
    sheet.cycle(NOW + timedelta(hours=1))
    assert [c["From deal"] for c in customers(sheet)] == ["D-0001"], "nothing is deleted"
    deals.rows[1][stage] = "Won"
    sheet.cycle(NOW + timedelta(hours=2))
    assert [c["From deal"] for c in customers(sheet)] == ["D-0001"]


def test_two_deals_won_in_one_cycle_go_to_the_next_post_sale_reps_in_turn_skipping_one_away():
    deals = [won(ID="D-0001"), won(ID="D-0002", Deal="Beta", Email="b@beta.example")]
    sheet = Sheet(deals, settings={"Post-sale owner": "round-robin"})
    away = [NOW.date() - timedelta(days=1), NOW.date() + timedelta(days=5)]
    sheet.snap.tabs["Team"] = Tab("Team", [
        ["Name", "Pipelines", "Out from", "Out until"],
        ["Cy", "Customers", *away], ["Dee", "Customers", "", ""], ["Eve", "Customers", "", ""],
    ])  # fmt: skip
    sheet.cycle()
    assert [c["Owner"] for c in customers(sheet)] == ["Dee", "Eve"]
    assert not sheet.cycle().changes.has_sheet_changes()


def test_a_customer_row_pasted_twice_makes_no_third_row_and_is_reported():
    sheet = Sheet([won()])
    sheet.cycle()
    tab = sheet.snap.find("Customers")
    tab.rows.append(list(tab.rows[1]))  # the same row, ID and all, pasted again
    plan = sheet.cycle()
    assert [c["From deal"] for c in customers(sheet)] == ["D-0001", "D-0001"]
    assert any(p.where.startswith("Customers!") and "C-0001" in p.message for p in plan.problems)
