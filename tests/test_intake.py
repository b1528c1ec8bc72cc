"""Intake tabs through plan_cycle: each response becomes a deal, a merge, a question or a
rejection, exactly once, with an owner by round-robin (core/deals/intake.py, core/inputs/team.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from sheetpipe.core.contract import IntakeTab, Names
from sheetpipe.core.cycle import Plan, plan_cycle
from sheetpipe.core.deals.leads import similar
from sheetpipe.core.inputs.team import Member, lap
from sheetpipe.core.sheet.apply import apply_changes
from sheetpipe.model import Snapshot, Tab

from .helpers import NOW, column, record, set_cell, tabs

TODAY = NOW.date()
FORM = "Form Responses 1"
FORM_HEADER = ["Timestamp", "Name", "Email", "Company", "Phone", "Message"]
TEAM_HEADER = ["Name", "Email", "Pipelines", "Active", "Out from", "Out until", "Weight",
               "Capacity"]  # fmt: skip
NAMES = Names(intakes=(IntakeTab(FORM, "Deals"),))


def member(name: str, **cells) -> list:
    row = dict.fromkeys(TEAM_HEADER)
    row.update({"Name": name, "Email": f"{name.lower()}@us.example"}, **cells)
    return [row[h] for h in TEAM_HEADER]


def response(name="Cara Diaz", email="cara@beta.example", company="Beta Ltd", phone="",
             message="", at=NOW - timedelta(hours=1)) -> list:  # fmt: skip
    return [at, name, email, company, phone, message]


class Sheet:
    """A workbook in memory, cycled as the daemon cycles it."""

    def __init__(self, responses: list[list], team=None, deals=None, settings=None, names=NAMES):
        rows = tabs(deals=deals, settings=settings)
        rows["Team"] = [TEAM_HEADER, *(team if team is not None else [member("Ana"),
                                                                      member("Ben")])]  # fmt: skip
        rows[FORM] = [list(FORM_HEADER), *(list(r) for r in responses)]
        self.snap = Snapshot({n: Tab(n, r) for n, r in rows.items()})
        self.names = names

    def cycle(self, now: datetime = NOW) -> Plan:
        plan = plan_cycle(self.snap, self.names, now)
        self.snap = apply_changes(self.snap, plan.changes)
        return plan

    def status(self) -> list[str]:
        return column(self.snap, FORM, "Intake status")

    def deals(self) -> list[dict]:
        tab = self.snap.find("Deals")
        return [record(self.snap, "Deals", r) for r in range(2, len(tab.rows) + 1)]

    def respond(self, *responses: list) -> None:
        self.snap.find(FORM).rows.extend(responses)

    def set(self, tab: str, row: int, name: str, value) -> None:
        set_cell(self.snap, tab, row, name, value)


def existing(**cells) -> dict:
    base = {"Deal": "Acme", "Stage": "Contact", "ID": "D-0001", "Owner": "Ana",
            "Email": "bob@acme.example", "Company": "Acme", "Last contact": TODAY - timedelta(9)}  # fmt: skip
    return {**base, **cells}


# ---- a new lead becomes a deal -------------------------------------------------------


def test_a_response_becomes_a_deal_in_the_first_stage_with_its_fields():
    sheet = Sheet([response(phone="+44 20 7946 0958", message="Need a demo")])
    plan = sheet.cycle()
    (deal,) = sheet.deals()
    assert deal["Deal"] == "Beta Ltd"
    assert deal["Stage"] == "Discovery"
    assert deal["Contact"] == "Cara Diaz"
    assert deal["Email"] == "cara@beta.example"
    assert deal["Company"] == "Beta Ltd"
    assert deal["Phone"] == "+44 20 7946 0958"
    assert deal["Notes"] == "Need a demo"
    assert deal["Source"] == FORM
    assert deal["Last contact"] == TODAY
    assert deal["ID"] == "D-0001"
    assert deal["Owner"] == "Ana"
    # planned in the same cycle as the rest of the pipeline: scored, assessed, tracked
    assert deal["Health"] and deal["Score"] is not None and deal["Days in stage"] == 0
    assert sheet.status() == ["Created D-0001 for Ana (round-robin, turn 1)"]
    assert [r[1] for r in sheet.snap.find("History").rows[1:]] == ["D-0001"]
    assert plan.tasks_added == 2  # Discovery's playbook, for the new owner
    assert {r[3] for r in sheet.snap.find("Tasks").rows[1:]} == {"Ana"}


def test_each_response_is_taken_once_and_a_second_cycle_plans_nothing():
    sheet = Sheet([response()])
    sheet.cycle()
    again = sheet.cycle()
    assert not again.changes.has_sheet_changes()
    assert len(sheet.deals()) == 1


def test_a_response_appended_later_is_taken_by_the_next_cycle():
    sheet = Sheet([response()])
    sheet.cycle()
    sheet.respond(response("Dan Wu", "dan@delta.example", "Delta"))
    sheet.cycle()
    assert [d["Deal"] for d in sheet.deals()] == ["Beta Ltd", "Delta"]
    assert sheet.status()[1] == "Created D-0002 for Ben (round-robin, turn 2)"


def test_the_form_timestamp_is_the_deals_last_contact():
    sheet = Sheet([response(at=datetime(2026, 3, 7, 16, 45))])
    sheet.cycle()
    assert sheet.deals()[0]["Last contact"] == date(2026, 3, 7)


def test_a_deal_is_named_after_the_person_when_no_company_is_given():
    sheet = Sheet([response(company="")])
    sheet.cycle()
    assert sheet.deals()[0]["Deal"] == "Cara Diaz"


def test_an_empty_row_is_no_lead():
    sheet = Sheet([[None] * 6, response()])
    sheet.cycle()
    assert sheet.status() == [None, "Created D-0001 for Ana (round-robin, turn 1)"]


def test_formula_like_text_is_kept_as_the_lead_typed_it():
    sheet = Sheet([response(name='=HYPERLINK("http://x")', company="+Acme", message="@SUM(1)")])
    sheet.cycle()
    deal = sheet.deals()[0]
    assert (deal["Deal"], deal["Contact"], deal["Notes"]) == ("+Acme", '=HYPERLINK("http://x")',
                                                              "@SUM(1)")  # fmt: skip


def test_columns_named_like_a_deal_column_are_copied():
    sheet = Sheet([])
    form = sheet.snap.find(FORM)
    form.rows[0] = [*FORM_HEADER, "Industry", "How did you hear of us?"]
    sheet.respond([*response(), "Software", "a friend"])
    sheet.cycle()
    deal = sheet.deals()[0]
    assert deal["Industry"] == "Software"
    assert "How did you hear of us?" not in deal


def test_columns_mapped_in_config_are_read_instead_of_the_usual_headers():
    names = Names(intakes=(IntakeTab(FORM, "Deals", {"Name": "Who", "Company": "Firm"}),))
    sheet = Sheet([], names=names)
    sheet.snap.find(FORM).rows[0] = ["Timestamp", "Who", "Email", "Firm"]
    sheet.respond([NOW, "Ivo Ng", "ivo@eta.example", "Eta"])
    sheet.cycle()
    deal = sheet.deals()[0]
    assert (deal["Deal"], deal["Contact"]) == ("Eta", "Ivo Ng")


def test_an_intake_for_customers_puts_deals_there():
    names = Names(intakes=(IntakeTab(FORM, "Customers"),))
    sheet = Sheet([response()], names=names)
    sheet.cycle()
    customers = sheet.snap.find("Customers")
    assert record(sheet.snap, "Customers", 2)["Stage"] == "Onboarding"
    assert record(sheet.snap, "Customers", 2)["ID"] == "C-0001"
    assert len(customers.rows) == 2 and sheet.deals() == []


def test_a_missing_intake_tab_is_reported_and_the_rest_runs():
    names = Names(intakes=(IntakeTab("Web leads", "Deals"),))
    sheet = Sheet([response()], names=names)
    plan = sheet.cycle()
    assert any(p.where == "Web leads tab" and "missing" in p.message for p in plan.problems)


# ---- round-robin ---------------------------------------------------------------------


def test_round_robin_takes_turns_in_team_order():
    sheet = Sheet([response(f"P{i}", f"p{i}@c{i}.example", f"C{i}") for i in range(5)])
    sheet.cycle()
    assert [d["Owner"] for d in sheet.deals()] == ["Ana", "Ben", "Ana", "Ben", "Ana"]


def test_the_rotation_continues_from_the_sheet_after_a_restart():
    sheet = Sheet([response("P0", "p0@c0.example", "C0")],
                  team=[member("Ana"), member("Ben"), member("Cy")])  # fmt: skip
    sheet.cycle()
    for i in (1, 2, 3):  # each cycle a fresh plan from the sheet alone: nothing kept
        sheet.respond(response(f"P{i}", f"p{i}@c{i}.example", f"C{i}"))
        sheet.cycle()
    assert [d["Owner"] for d in sheet.deals()] == ["Ana", "Ben", "Cy", "Ana"]
    assert sheet.status()[3].endswith("(round-robin, turn 4)")


def test_weights_give_more_leads_spread_out():
    team = [member("Ana", Weight=2), member("Ben", Weight=1)]
    sheet = Sheet([response(f"P{i}", f"p{i}@c{i}.example", f"C{i}") for i in range(6)], team=team)
    sheet.cycle()
    assert [d["Owner"] for d in sheet.deals()] == ["Ana", "Ben", "Ana"] * 2


def test_a_weight_of_zero_gets_no_leads():
    team = [member("Ana", Weight=0), member("Ben")]
    sheet = Sheet([response(f"P{i}", f"p{i}@c{i}.example", f"C{i}") for i in range(3)], team=team)
    sheet.cycle()
    assert {d["Owner"] for d in sheet.deals()} == {"Ben"}


@pytest.mark.parametrize(
    "cells",
    [
        {"Active": "No"},
        {"Out from": TODAY - timedelta(1), "Out until": TODAY + timedelta(1)},
        {"Out from": TODAY},
        {"Out until": TODAY},
        {"Pipelines": "Customers"},
        {"Capacity": 0},
    ],
    ids=[
        "inactive",
        "on leave",
        "leave starts today",
        "leave ends today",
        "other pipeline",
        "at capacity",
    ],  # fmt: skip
)
def test_who_cannot_take_a_deal_is_passed_over(cells):
    team = [member("Ana", **cells), member("Ben")]
    sheet = Sheet([response(f"P{i}", f"p{i}@c{i}.example", f"C{i}") for i in range(2)], team=team)
    sheet.cycle()
    assert [d["Owner"] for d in sheet.deals()] == ["Ben", "Ben"]


@pytest.mark.parametrize(
    "cells",
    [
        {"Out from": TODAY + timedelta(1)},
        {"Out until": TODAY - timedelta(1)},
        {"Out from": TODAY - timedelta(9), "Out until": TODAY - timedelta(2)},
        {"Pipelines": "Customers, deals"},
        {"Active": "yes"},
    ],
    ids=["leave not yet", "back from leave", "leave past", "in the pipeline", "active"],
)
def test_who_can_take_a_deal_gets_their_turn(cells):
    team = [member("Ana", **cells), member("Ben")]
    sheet = Sheet([response(f"P{i}", f"p{i}@c{i}.example", f"C{i}") for i in range(2)], team=team)
    sheet.cycle()
    assert [d["Owner"] for d in sheet.deals()] == ["Ana", "Ben"]


def test_capacity_counts_open_deals_and_those_given_this_cycle():
    deals = [existing(Owner="Ana"), existing(ID="D-0002", Deal="Won one", Stage="Won",
                                             Owner="Ana", Email="w@won.example")]  # fmt: skip
    team = [member("Ana", Capacity=2), member("Ben")]
    sheet = Sheet([response(f"P{i}", f"p{i}@c{i}.example", f"C{i}") for i in range(4)],
                  team=team, deals=deals)  # fmt: skip
    sheet.cycle()
    # Ana has one open deal (a won one does not count): one more, then she is full.
    assert [d["Owner"] for d in sheet.deals()[2:]] == ["Ana", "Ben", "Ben", "Ben"]


def test_a_company_that_has_an_owner_keeps_it():
    sheet = Sheet([response("Zoe Park", "zoe@acme.example", "ACME")],
                  deals=[existing(Owner="Ben")])  # fmt: skip
    sheet.cycle()
    new = sheet.deals()[1]
    assert new["Owner"] == "Ben"
    assert sheet.status() == ["Created D-0002 for Ben (owns the company's deal D-0001)"]


def test_a_free_mail_domain_says_nothing_of_the_company():
    sheet = Sheet([response("Zoe Park", "zoe@gmail.com", "Zeta")],
                  deals=[existing(Owner="Ben", Email="bob@gmail.com")])  # fmt: skip
    sheet.cycle()
    assert sheet.deals()[1]["Owner"] == "Ana"


def test_nobody_eligible_goes_to_the_fallback_owner_and_is_reported():
    team = [member("Ana", Active="No")]
    sheet = Sheet([response()], team=team, settings={"Fallback owner": "Sales desk"})
    plan = sheet.cycle()
    assert sheet.deals()[0]["Owner"] == "Sales desk"
    assert sheet.status() == [
        "Created D-0001 for Sales desk (fallback owner: nobody in Team could take it)"
    ]
    (problem,) = [p for p in plan.problems if "nobody in Team" in p.message]
    assert problem.where == f"'{FORM}'!A2" and "Fallback owner, Sales desk" in problem.message


def test_nobody_eligible_and_no_fallback_leaves_the_owner_empty_and_says_how_to_fix_it():
    sheet = Sheet([response()], team=[])
    plan = sheet.cycle()
    assert sheet.deals()[0]["Owner"] in (None, "")
    assert sheet.status() == ["Created D-0001, no owner (nobody in Team could take it)"]
    assert any("Set Fallback owner in Settings" in p.message for p in plan.problems)


def test_an_owner_given_in_the_response_is_kept():
    sheet = Sheet([])
    sheet.snap.find(FORM).rows[0] = [*FORM_HEADER, "Owner"]
    sheet.respond([*response(), "Dee"])
    sheet.cycle()
    assert sheet.deals()[0]["Owner"] == "Dee"
    assert sheet.status() == ["Created D-0001 for Dee (owner as given)"]


def test_bad_team_cells_are_reported_with_their_address_and_read_as_blank():
    team = [member("Ana", Weight="lots", Capacity=-1, **{"Out from": "soon", "Active": "maybe"})]
    sheet = Sheet([response()], team=team)
    plan = sheet.cycle()
    where = {p.where for p in plan.problems}
    assert {"Team!G2", "Team!H2", "Team!E2", "Team!D2"} <= where
    assert sheet.deals()[0]["Owner"] == "Ana"


def test_a_lap_spreads_each_member_by_weight():
    team = [Member(n, "", frozenset(), True, None, None, w, None) for n, w in
            (("A", 3), ("B", 1), ("C", 2))]  # fmt: skip
    assert [m.name for m in lap(team)] == ["A", "C", "A", "B", "C", "A"]


# ---- dedupe --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email, phone, why",
    [
        ("Bob@Acme.example", "", "same e-mail"),
        ("", "020 7946 0958", "same phone"),
        ("", "+44 (0)20 7946-0958", "same phone"),
    ],
)
def test_a_returning_lead_is_merged_into_its_open_deal(email, phone, why):
    deals = [existing(Phone="+44 20 7946 0958")]
    sheet = Sheet([response("Bob", email, "Acme", phone, "Back again")], deals=deals,
                  settings={"Phone region": "GB"})  # fmt: skip
    plan = sheet.cycle()
    (deal,) = sheet.deals()
    assert deal["Last contact"] == NOW.date() and deal["Owner"] == "Ana"
    assert sheet.status() == [f"Merged into D-0001 ({why}, {TODAY.isoformat()})"]
    tasks = [r for r in sheet.snap.find("Tasks").rows[1:] if r[5] == "returning"]
    assert [(t[0], t[3], t[7]) for t in tasks] == [
        (
            "Returning lead: Bob got in touch again through Form Responses 1: Back again",
            "Ana",
            "D-0001",
        )  # fmt: skip
    ]
    assert not sheet.cycle().changes.has_sheet_changes()
    assert plan.tasks_added >= 1


def test_a_merge_fills_what_the_deal_lacks_and_changes_nothing_else():
    deals = [existing(Company=None)]
    sheet = Sheet([response("Bob M", "bob@acme.example", "Acme Inc", "+1 202 555 0101")],
                  deals=deals)  # fmt: skip
    sheet.cycle()
    deal = sheet.deals()[0]
    assert (deal["Company"], deal["Phone"], deal["Contact"]) == ("Acme Inc", "+1 202 555 0101",
                                                                 "Bob M")  # fmt: skip
    assert deal["Deal"] == "Acme" and deal["Email"] == "bob@acme.example"


def test_an_older_response_does_not_move_last_contact_back():
    deals = [existing(**{"Last contact": TODAY})]
    sheet = Sheet([response("Bob", "bob@acme.example", at=NOW - timedelta(days=5))], deals=deals)
    sheet.cycle()
    assert sheet.deals()[0]["Last contact"] == TODAY


def test_a_lead_matching_a_closed_deal_gets_a_new_deal_that_says_so():
    sheet = Sheet([response("Bob", "bob@acme.example", "Acme")],
                  deals=[existing(Stage="Lost", Owner="Ben")])  # fmt: skip
    sheet.cycle()
    assert len(sheet.deals()) == 2
    assert sheet.status()[0].startswith("Created D-0002 for ")
    assert sheet.status()[0].endswith("returning: D-0001 is closed)")


def test_two_responses_of_one_person_in_one_cycle_make_one_deal():
    sheet = Sheet([response(), response(message="me again", at=NOW)])
    sheet.cycle()
    assert len(sheet.deals()) == 1
    assert sheet.status()[1] == f"Merged into D-0001 (same e-mail, {TODAY.isoformat()})"


def test_a_similar_name_at_the_same_company_is_a_question_for_a_person():
    deals = [existing(Contact="Robert Marsh", Email="r.marsh@acme.example")]
    sheet = Sheet([response("robert  MARSH", "bob.marsh@gmail.com", "Acme")], deals=deals)
    sheet.cycle()
    assert len(sheet.deals()) == 1
    assert sheet.status() == [
        "Possible duplicate of D-0001 (similar name and company). Write create here for a "
        "new deal, or merge to add it to D-0001."
    ]
    assert not sheet.cycle().changes.has_sheet_changes()  # it waits for a person


@pytest.mark.parametrize("answer, deals, status", [
    ("create", 2, "Created D-0002 for Ben (owns the company's deal D-0001; as asked)"),
    ("Merge", 1, f"Merged into D-0001 (as asked, {TODAY.isoformat()})"),
    ("merge into D-0001", 1, f"Merged into D-0001 (as asked, {TODAY.isoformat()})"),
])  # fmt: skip
def test_a_person_answers_a_possible_duplicate_in_its_status(answer, deals, status):
    sheet = Sheet([response("Robert Marsh", "bob.marsh@gmail.com", "Acme")],
                  deals=[existing(Contact="Robert Marsh", Owner="Ben")])  # fmt: skip
    sheet.cycle()
    sheet.set(FORM, 2, "Intake status", answer)
    sheet.cycle()
    assert len(sheet.deals()) == deals
    assert sheet.status() == [status]
    assert not sheet.cycle().changes.has_sheet_changes()


def test_merge_into_an_unknown_id_says_so():
    sheet = Sheet([response()], deals=[existing()])
    sheet.cycle()
    sheet.set(FORM, 2, "Intake status", "merge into D-0999")
    sheet.cycle()
    assert sheet.status()[0].startswith("Rejected: D-0999 is no deal of Deals")


def test_different_people_at_one_company_are_two_deals():
    deals = [existing(Contact="Robert Marsh")]
    sheet = Sheet([response("Anna Li", "anna@acme.example", "Acme")], deals=deals)
    sheet.cycle()
    assert len(sheet.deals()) == 2


# ---- rejected, edited, a person's note ------------------------------------------------


@pytest.mark.parametrize("email", ["cara@beta", "cara.beta.example", "cara@@beta.example"])
def test_an_invalid_email_is_rejected_with_the_reason_then_taken_once_corrected(email):
    sheet = Sheet([response(email=email)])
    sheet.cycle()
    assert sheet.deals() == []
    assert sheet.status()[0].startswith(f'Rejected: the e-mail "{email}" is not valid: ')
    assert not sheet.cycle().changes.has_sheet_changes()
    sheet.set(FORM, 2, "Email", "cara@beta.example")
    sheet.cycle()
    assert sheet.status() == ["Created D-0001 for Ana (round-robin, turn 1)"]


def test_a_response_with_nothing_to_reach_the_lead_by_is_rejected():
    sheet = Sheet([[NOW, "", "", "", "", "Hello"]])
    sheet.cycle()
    assert sheet.status() == [
        "Rejected: it holds no name, e-mail, phone or company to reach the lead by. Correct "
        "the response and sheetpipe takes it again."
    ]


def test_an_edited_response_fills_its_deal_and_is_not_taken_twice():
    sheet = Sheet([response(phone="")])
    sheet.cycle()
    sheet.set(FORM, 2, "Phone", "+1 202 555 0101")
    sheet.cycle(NOW + timedelta(days=1))
    (deal,) = sheet.deals()
    assert deal["Phone"] == "+1 202 555 0101"
    day = (TODAY + timedelta(days=1)).isoformat()
    assert sheet.status() == [f"Created D-0001 for Ana (round-robin, turn 1) · edited {day}"]
    assert not sheet.cycle(NOW + timedelta(days=1)).changes.has_sheet_changes()


def test_an_edit_never_overwrites_what_the_deal_holds():
    sheet = Sheet([response()])
    sheet.cycle()
    sheet.set("Deals", 2, "Contact", "Cara D. (corrected by Ana)")
    sheet.set(FORM, 2, "Name", "Cara Diaz-Lopez")
    sheet.cycle()
    assert sheet.deals()[0]["Contact"] == "Cara D. (corrected by Ana)"


def test_a_persons_note_in_the_status_is_left_alone():
    sheet = Sheet([response()])
    sheet.snap.find(FORM).rows[0].append("Intake status")
    sheet.snap.find(FORM).rows[1].append("spam, ignore")
    sheet.cycle()
    assert sheet.deals() == [] and sheet.status() == ["spam, ignore"]


def test_a_status_without_its_key_is_never_taken_again():
    sheet = Sheet([response()])
    sheet.cycle()
    form = sheet.snap.find(FORM)
    key = form.header.index("Intake key")
    for row in form.rows:  # a person deleted the Intake key column's values
        row[key] = None
    sheet.cycle()
    assert len(sheet.deals()) == 1


def test_names_are_alike_despite_case_order_and_a_typo_but_not_with_other_numbers():
    assert similar("robert marsh", "marsh robert")
    assert similar("robert marsh", "robert marhs")
    assert similar("acme gmbh", "acme  gmbh")
    assert not similar("acme 2", "acme 3")
    assert not similar("new co 14", "new co 4")
    assert not similar("ann lee", "anna li")


def returning_tasks(sheet) -> list[dict]:
    tab = sheet.snap.find("Tasks")
    rows = [dict(zip(tab.header, r, strict=False)) for r in tab.rows[1:]]
    return [r for r in rows if r["Kind"] == "returning"]


def test_a_returning_leads_task_is_open_due_today_on_its_deal():
    sheet = Sheet([response(), response(message="", at=NOW, name="")])
    sheet.cycle()
    (task,) = returning_tasks(sheet)
    assert task["Task"] == "Returning lead: cara@beta.example got in touch again through " \
        "Form Responses 1."  # fmt: skip
    assert (task["Deal"], task["Deal ID"], task["Owner"]) == ("Beta Ltd", "D-0001", "Ana")
    assert (task["Done"], task["Due"], task["Created"]) == ("No", TODAY, NOW)


def test_deals_made_earlier_in_the_same_cycle_are_known_to_the_later_responses():
    sheet = Sheet([
        response("Robert Marsh", "robert@acme.example", "Acme", phone="+1 202 555 0101"),
        response("Robert  marsh", "bob.marsh@gmail.com", "ACME"),
        response("Ann Lee", "ann@acme.example", "Acme"),
        response("Zed", "zed@zeta.example", "Zeta", phone="+1 (202) 555-0101"),
    ])  # fmt: skip
    sheet.cycle()
    assert sheet.status() == [
        "Created D-0001 for Ana (round-robin, turn 1)",
        "Possible duplicate of D-0001 (similar name and company). Write create here for a "
        "new deal, or merge to add it to D-0001.",
        "Created D-0002 for Ana (owns the company's deal D-0001)",
        "Possible duplicate of D-0001 (same phone, another e-mail). Write create here for a "
        "new deal, or merge to add it to D-0001.",  # a shared phone: Zed is someone else
    ]


@pytest.mark.parametrize(
    "typed, same",
    [("(020) 7946-0958", True), ("0049 30 1234567", False), ("12345", False)],
)
def test_phone_numbers_without_a_region_compare_by_their_digits(typed, same):
    deals = [existing(Phone="020 7946 0958")]
    sheet = Sheet([response("Bob", "", "Other", phone=typed)], deals=deals)
    sheet.cycle()
    assert sheet.status()[0].startswith("Merged into D-0001 (same phone") is same


def test_a_few_digits_are_no_phone_number_to_match_on():
    sheet = Sheet([response("Bob", "new@other.example", "Other", phone="12345")],
                  deals=[existing(Phone="12345")])  # fmt: skip
    sheet.cycle()
    assert sheet.status()[0].startswith("Created D-0002")


def test_an_edit_of_a_response_whose_deal_was_deleted_says_so_and_makes_none():
    sheet = Sheet([response()])
    sheet.cycle()
    del sheet.snap.find("Deals").rows[1]
    sheet.set(FORM, 2, "Phone", "+1 202 555 0101")
    sheet.cycle()
    assert sheet.deals() == []
    assert sheet.status() == [
        "Created D-0001 for Ana (round-robin, turn 1) (the deal is no longer in Deals) · "
        f"edited {TODAY.isoformat()}"
    ]


def test_a_response_edited_twice_keeps_one_edited_date_and_never_moves_last_contact():
    sheet = Sheet([response(at=NOW - timedelta(days=3))])
    sheet.cycle()
    sheet.set("Deals", 2, "Last contact", TODAY - timedelta(days=10))  # a person's correction
    for day, phone in ((1, "+1 202 555 0101"), (2, "+1 202 555 0199")):
        sheet.set(FORM, 2, "Phone", phone)
        sheet.cycle(NOW + timedelta(days=day))
    later = (TODAY + timedelta(days=2)).isoformat()
    assert sheet.status() == [f"Created D-0001 for Ana (round-robin, turn 1) · edited {later}"]
    deal = sheet.deals()[0]
    assert deal["Last contact"] == TODAY - timedelta(days=10)  # an edit is no new contact
    assert deal["Phone"] == "+1 202 555 0101"  # the first one filled it: kept


def test_a_merge_on_the_day_of_the_last_contact_writes_no_date_and_adds_no_column():
    deals = [existing(**{"Last contact": TODAY, "Contact": "Bob", "Phone": "1", "Notes": "x"})]
    sheet = Sheet([response("Bob", "bob@acme.example", "Acme")], deals=deals)
    header = list(sheet.snap.find("Deals").header)
    plan = sheet.cycle()
    written = {w.name for w in plan.changes.writes if w.tab == "Deals"}
    assert written and not written & {"Last contact", "Contact", "Phone", "Notes", "Email"}
    assert sheet.snap.find("Deals").header[: len(header)] == header
    assert "" not in sheet.snap.find("Deals").header


def test_a_last_contact_typed_in_the_sheets_date_order_is_not_moved_back():
    deals = [existing(**{"Last contact": "01/03/2026"})]  # 1 March, day first (DMY)
    sheet = Sheet([response("Bob", "bob@acme.example", at=datetime(2026, 2, 15))], deals=deals)
    sheet.cycle()
    assert sheet.deals()[0]["Last contact"] == "01/03/2026"


def test_capacity_counts_each_deal_handed_out_once():
    team = [member("Ana", Capacity=3), member("Ben")]
    sheet = Sheet([response(f"P{i}", f"p{i}@c{i}.example", f"C{i}") for i in range(5)], team=team)
    sheet.cycle()
    assert [d["Owner"] for d in sheet.deals()] == ["Ana", "Ben", "Ana", "Ben", "Ana"]


def test_team_problems_are_warnings_that_say_what_is_used():
    sheet = Sheet([response()], team=[member("Ana", Weight="lots")])
    plan = sheet.cycle()
    (problem,) = [p for p in plan.problems if p.where == "Team!G2"]
    assert problem.level == "warning"
    assert problem.message == 'Weight "lots" must be a whole number from 0 to 100; using 1.'


def test_names_exactly_at_the_similarity_bar_are_alike():
    assert similar("ann leeson", "ann leesom")  # 90 of 100


@pytest.mark.parametrize(
    "fields",
    [{"name": "Cara"}, {"email": "cara@beta.example"}, {"phone": "+1 202 555 0101"},
     {"company": "Beta Ltd"}],
    ids=["name", "e-mail", "phone", "company"],
)  # fmt: skip
def test_any_one_way_to_reach_a_lead_is_enough(fields):
    blank = {"name": "", "email": "", "company": "", "phone": ""}
    sheet = Sheet([response(**{**blank, **fields})])
    sheet.cycle()
    assert sheet.status()[0].startswith("Created D-0001")
    assert sheet.deals()[0]["Deal"] == next(iter(fields.values()))


def test_a_rejection_reads_as_one_sentence_per_reason():
    sheet = Sheet([response(email="cara@beta")])
    sheet.cycle()
    assert ".." not in sheet.status()[0]
    assert sheet.status()[0].endswith(". Correct the response and sheetpipe takes it again.")


def test_the_guard_checks_each_response_by_its_email_or_else_its_name():
    plan = Sheet([response()]).cycle()
    assert plan.changes.expect_cols[FORM] == (7, 3)  # Intake status, Email
    sheet = Sheet([], names=NAMES)
    sheet.snap.find(FORM).rows[0] = ["Timestamp", "Name", "Company"]
    sheet.respond([NOW, "Cara", "Beta"])
    assert sheet.cycle().changes.expect_cols[FORM] == (4, 2)
    first = len(sheet.snap.find("Deals").rows)  # the new deal's row: nothing to guard
    assert all(row < first for row in plan.changes.expect.get("Deals", {}))


def test_without_a_contact_column_the_deal_name_is_compared_and_gaps_do_not_stop_it():
    deals = [existing(), {}, existing(ID="D-0002", Deal="Robert Marsh", Company="Zeta",
                                      Email="rm@zeta.example")]  # fmt: skip
    sheet = Sheet([response("Robert Marsh", "robert@gmail.com", "Zeta"),
                   response("Eve", "RM@zeta.example", "Zeta Inc")], deals=deals)  # fmt: skip
    sheet.cycle()
    status = sheet.status()
    assert status[0].startswith("Possible duplicate of D-0002")
    assert status[1].startswith("Merged into D-0002 (same e-mail")


def test_a_deals_phone_typed_without_plus_is_read_in_the_phone_region():
    deals = [existing(Phone="020 7946 0958")]
    sheet = Sheet([response("Bob", "", "X", phone="+44 20 7946 0958")],
                  deals=deals, settings={"Phone region": "GB"})  # fmt: skip
    sheet.cycle()
    assert sheet.status()[0].startswith("Merged into D-0001 (same phone")


def test_the_company_domain_alone_finds_the_company():
    deals = [existing(Contact="Robert Marsh", Owner="Ben")]
    sheet = Sheet([response("Robert Marsh", "robert@acme.example", ""),
                   response("Ann Lee", "ann@acme.example", "")], deals=deals)  # fmt: skip
    sheet.cycle()
    assert sheet.status()[0].startswith("Possible duplicate of D-0001")
    assert sheet.status()[1] == "Created D-0002 for Ben (owns the company's deal D-0001)"


def test_a_company_whose_owner_left_the_team_gets_the_next_in_turn():
    deals = [existing(Owner="Ben")]
    team = [member("Ana"), member("Ben", Active="No")]
    sheet = Sheet([response("Ann Lee", "ann@acme.example", "Acme")], deals=deals, team=team)
    sheet.cycle()
    assert sheet.status() == [
        "Created D-0002 for Ana (round-robin, turn 1; Ben, who owns the company's deal D-0001, "
        "is not active in Team)"
    ]


def test_merge_with_nothing_similar_says_what_to_write():
    sheet = Sheet([response()])
    sheet.snap.find(FORM).rows[0].append("Intake status")
    sheet.snap.find(FORM).rows[1].append("merge")
    sheet.cycle()
    assert sheet.status() == [
        "Rejected: no similar open deal to merge into; write create, or merge into followed "
        "by a deal ID."
    ]


def test_an_id_column_on_the_form_never_sets_the_deals_id_and_braces_stay_text():
    sheet = Sheet([], team=[member("Ana {Sales}")], deals=[existing(Owner="Ben")])
    sheet.snap.find(FORM).rows[0] = [*FORM_HEADER, "ID"]
    sheet.respond([*response(), "D-9999"])
    sheet.cycle()
    assert sheet.deals()[1]["ID"] == "D-0002"
    assert sheet.status() == ["Created D-0002 for Ana {Sales} (round-robin, turn 1)"]
