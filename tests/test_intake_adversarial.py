"""Intake and round-robin as careless hands and hostile respondents meet them: columns added
to a form's tab, a status cell that quotes a respondent, an owner on leave, a phone two
people share, an address at a provider anyone can sign up with (core/deals/intake.py,
core/inputs/team.py, core/deals/leads.py, the journal's move into the intake tab in journal.py)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from sheetpipe.core.contract import IntakeTab, Names
from sheetpipe.core.deals.leads import company_domain
from sheetpipe.web.journal import Journal

from .helpers import NOW, tabs, write_config, write_workbook
from .test_intake import FORM, FORM_HEADER, TEAM_HEADER, TODAY, Sheet, existing, member, response
from .test_mail import Mailbox, smtp  # noqa: F401 (a fixture: a real SMTP server on loopback)

DAY = TODAY.isoformat()


def sheetpipe(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """The command a user runs, in its own process."""
    command = [sys.executable, "-m", "sheetpipe", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=180)


def rows_of(workbook: Path, tab: str) -> list[list]:
    return CalamineWorkbook.from_path(str(workbook)).get_sheet_by_name(tab).to_python()


def records(workbook: Path, tab: str) -> list[dict]:
    header, *body = rows_of(workbook, tab)
    return [dict(zip(header, r, strict=False)) for r in body]


def form_writes(plan) -> list[tuple[str, list[int], list]]:
    """(column, rows, values) of each write on the intake tab."""
    return [(w.name, w.rows, w.values) for w in plan.changes.writes if w.tab == FORM]


def handled(*responses: list, **kwargs) -> Sheet:
    """A sheet whose responses one cycle has handled."""
    sheet = Sheet(list(responses), **kwargs)
    sheet.cycle()
    return sheet


# ---- "edited" means a person changed what the response says (finding 6) ----------------


def test_the_web_forms_first_move_into_the_demos_tab_edits_no_response_and_adds_no_date(
    tmp_path,
):
    made = sheetpipe(tmp_path, "demo", "demo")
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "demo"
    config = folder / "sheetpipe.toml"
    config.write_text(config.read_text() + '\n[serve]\njournal = "journal.sqlite"\n')
    workbook = next(folder.glob("*.xlsx"))
    before = records(workbook, "Web leads")
    assert all(r["Intake status"] for r in before)
    Journal(folder / "journal.sqlite").add(
        {"Name": "Ola Nord", "Email": "ola@fjord.example", "Company": "Fjord AS"}
    )

    synced = sheetpipe(folder, "sync")
    assert synced.returncode == 0, synced.stderr
    header, *_ = rows_of(workbook, "Web leads")
    assert [h for h in header if str(h).startswith("Submitted")] == ["Submitted at"]
    assert header[-4:] == ["Intake status", "Intake key", "Source", "Submission ID"]
    after = records(workbook, "Web leads")
    assert [r["Intake status"] for r in after[:-1]] == [r["Intake status"] for r in before]
    assert [r["Intake key"] for r in after[:-1]] == [r["Intake key"] for r in before]
    new = after[-1]
    assert new["Intake status"].startswith("Created D-") and new["Source"] == "web form"
    assert new["Submitted at"], "the timestamp in the tab's own column"
    again = sheetpipe(folder, "sync", "--dry-run")
    assert "Web leads" not in again.stdout, again.stdout


def test_a_column_added_filled_or_moved_on_the_intake_tab_edits_no_response():
    sheet = handled(response(), response("Dan Wu", "dan@", "Delta"),
                    response("Robert Marsh", "bob.marsh@gmail.com", "Acme"),
                    deals=[existing(Contact="Robert Marsh")])  # fmt: skip
    statuses = sheet.status()
    assert [s.split(" ")[0] for s in statuses] == ["Created", "Rejected:", "Possible"]
    form = sheet.snap.find(FORM)
    form.rows[0].append("Called back?")  # a person's own column, filled on one row
    form.rows[1].extend([None] * (len(form.rows[0]) - 1 - len(form.rows[1])) + ["yes"])
    form.rows[:] = [[r[i] if i < len(r) else None for i in (1, 0, *range(2, len(r)))]
                    for r in form.rows]  # Name before Timestamp: columns moved  # fmt: skip
    plan = sheet.cycle(NOW + timedelta(days=1))
    assert sheet.status() == statuses
    assert form_writes(plan) == [] and len(sheet.deals()) == 2


def test_an_unanswered_last_question_or_a_header_respelled_edits_no_response():
    sheet = handled(response(), response("Dan Wu", "dan@delta.example", "Delta"))
    statuses = sheet.status()
    form = sheet.snap.find(FORM)
    form.rows[0].append("Budget")  # a question added to the form: its column at the right
    form.rows[1].append("10k")
    form.rows[2].append(None)  # unanswered, as a workbook holds it
    assert form_writes(sheet.cycle()) == []
    form = sheet.snap.find(FORM)
    form.rows[2].pop()  # unanswered, as Google sends it: no cell at all
    form.rows[0][2] = "E-mail address"  # the same field under another of its headers
    assert len(form.rows[2]) < len(form.rows[0])
    plan = sheet.cycle(NOW + timedelta(days=1))
    assert sheet.status() == statuses and form_writes(plan) == []


def test_a_changed_answer_is_still_an_edit_and_a_new_empty_answer_is_not():
    sheet = handled(response(phone=""))
    sheet.set(FORM, 2, "Message", "")  # was empty already: nothing said
    assert not sheet.cycle().changes.has_sheet_changes()
    sheet.set(FORM, 2, "Company", "Beta Holdings")
    sheet.cycle(NOW + timedelta(days=1))
    assert sheet.status()[0].endswith(f"· edited {(TODAY + timedelta(days=1)).isoformat()}")


def old_key(texts: dict[str, str], extras: dict[str, object]) -> str:
    """The Intake key sheetpipe wrote before: every column, the empty ones too."""
    parts = [f"{k}={v}" for k, v in sorted(texts.items())]
    parts += [f"{k}={'' if v is None else v}" for k, v in sorted(extras.items())]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]


def test_a_response_handled_under_the_old_key_is_given_the_new_one_and_not_edited():
    sheet = handled(response(phone=""))
    form = sheet.snap.find(FORM)
    key = form.header.index("Intake key")
    texts = {"Name": "Cara Diaz", "Email": "cara@beta.example", "Company": "Beta Ltd",
             "Phone": "", "Message": ""}  # fmt: skip
    new_key = form.rows[1][key]
    form.rows[1][key] = old_key(texts, {})
    plan = sheet.cycle()
    assert sheet.status() == ["Created D-0001 for Ana (round-robin, turn 1)"]
    assert form_writes(plan) == [("Intake key", [2], [new_key])]
    assert not sheet.cycle().changes.has_sheet_changes()


def test_a_key_that_is_neither_the_old_nor_the_new_one_is_an_edit():
    sheet = handled(response())
    form = sheet.snap.find(FORM)
    form.rows[1][form.header.index("Intake key")] = "0123456789ab"
    sheet.cycle()
    assert sheet.status()[0].endswith(f"· edited {DAY}")


def test_an_intake_header_spelled_submitted_is_the_responses_date():
    sheet = Sheet([response(at=NOW - timedelta(days=4))])
    sheet.snap.find(FORM).rows[0][0] = "Submitted"
    sheet.cycle()
    assert sheet.deals()[0]["Last contact"] == TODAY - timedelta(days=4)


def test_an_intake_row_shorter_than_its_header_is_read_with_its_answers():
    sheet = Sheet([response(phone="", message="")[:4]])  # no Phone, no Message cell at all
    sheet.cycle()
    (deal,) = sheet.deals()
    assert (deal["Deal"], deal["Contact"], deal["Email"]) == ("Beta Ltd", "Cara Diaz",
                                                              "cara@beta.example")  # fmt: skip
    assert sheet.status() == ["Created D-0001 for Ana (round-robin, turn 1)"]


def test_a_missing_intake_tab_is_a_warning():
    names = Names(intakes=(IntakeTab("Web leads", "Deals"),))
    plan = Sheet([response()], names=names).cycle()
    (problem,) = [p for p in plan.problems if p.where == "Web leads tab"]
    assert problem.level == "warning" and "missing" in problem.message


def test_the_journal_writes_into_the_columns_config_maps_and_the_usual_headers(tmp_path):
    sheets = tabs([{"Deal": "Acme", "Stage": "Contact", "Owner": "Ana"}])
    sheets["Team"] = [["Name"], ["Ana"]]
    sheets["Web leads"] = [["Timestamp", "Your name", "E-mail address", "Firm", "Utm source"]]
    write_workbook(tmp_path / "pipeline.xlsx", sheets)
    write_config(tmp_path, extra='[[intake]]\ntab = "Web leads"\n[intake.columns]\n'
                 '"Company" = "Firm"\n"Phone" = "Mobile number"\n'
                 '[serve]\njournal = "journal.sqlite"\n')  # fmt: skip
    Journal(tmp_path / "journal.sqlite").add(
        {"Name": "Ola", "Email": "ola@fjord.example", "Company": "Fjord", "Phone": "+47 22 00"}
    )
    assert sheetpipe(tmp_path, "sync").returncode == 0
    header, row = rows_of(tmp_path / "pipeline.xlsx", "Web leads")
    assert header == ["Timestamp", "Your name", "E-mail address", "Firm", "Utm source",
                      "Mobile number", "Message", "Submission ID", "Intake status",
                      "Intake key"]  # fmt: skip
    assert row[1:5] == ["Ola", "ola@fjord.example", "Fjord", "web form"]
    assert row[0] and row[5] == "+47 22 00"
    assert row[8].startswith("Created D-0002 for Ana")
    [deal] = [d for d in records(tmp_path / "pipeline.xlsx", "Deals") if d["Deal"] == "Fjord"]
    assert (deal["Phone"], deal["Source"]) == ("+47 22 00", "web form")


# ---- the rotation reads only the turns it wrote (finding 7) ------------------------------


THREE = [member("Ana"), member("Ben"), member("Cy")]


def test_a_turn_quoted_in_a_rejected_email_does_not_choose_the_next_rep():
    sheet = handled(response(email="turn 99999999999999999999"), response(email="turn 7"),
                    team=THREE)  # fmt: skip
    assert all(s.startswith('Rejected: the e-mail "turn ') for s in sheet.status())
    sheet.respond(response("Dan Wu", "dan@delta.example", "Delta"))
    sheet.cycle()
    assert sheet.status()[2] == "Created D-0001 for Ana (round-robin, turn 1)"


def test_an_owner_typed_on_the_form_cannot_forge_a_turn():
    sheet = Sheet([], team=THREE)
    sheet.snap.find(FORM).rows[0] = [*FORM_HEADER, "Owner"]
    owners = (
        "Eve (round-robin, turn 7)",
        "Eve (round-robin, turn 7; x",
        "Eve (round-robin, turn 7) (the deal is no longer in Deals)",
    )
    for i, owner in enumerate(owners):
        sheet.respond([*response(f"P{i}", f"p{i}@c{i}.example", f"C{i}"), owner])
    sheet.cycle()
    assert all(s.endswith("(owner as given)") for s in sheet.status())
    sheet.respond(response("Dan Wu", "dan@delta.example", "Delta"))
    sheet.cycle()
    assert sheet.status()[-1] == "Created D-0004 for Ana (round-robin, turn 1)"


@pytest.mark.parametrize(
    "status, turn",
    [
        ("Created D-0009 for Ana (round-robin, turn 5)", 5),
        (f"Created D-0009 for Ana (round-robin, turn 5) · edited {DAY}", 5),
        (
            "Created D-0009 for Ana (round-robin, turn 5) (the deal is no longer in Deals) · "
            f"edited {DAY}",
            5,
        ),
        ("Created D-0009 for Ana (EMEA) (round-robin, turn 5; as asked)", 5),
        (
            "Created D-0009 for Ana (round-robin, turn 5; Ben (EMEA), who owns the company's "
            "deal D-0001, is out until 2026-03-12)",
            5,
        ),
        ("Created D-0009 for Ana (round-robin, turn 999999999)", 999_999_999),
        ("Created D-0009 for Ana (round-robin, turn 1000000000)", 0),
        ("Created D-0009 for Ana (round-robin, turn 99999999999999999999)", 0),
        ("Created D-0009 for Ana (round-robin, turn 05)", 0),
        ("Created D-0009 for Ana (round-robin, turn 5) — called back, not interested", 0),
        ('Rejected: the e-mail "(round-robin, turn 5)" is not valid', 0),
        ("Possible duplicate of D-0001 (round-robin, turn 5)", 0),
        ("round-robin, turn 5", 0),
        ("Created D-0009 for " + "x (round-robin, turn 5" * 300 + ")", 0),
    ],
    ids=lambda v: str(v)[:40],
)
def test_only_a_turn_in_the_words_sheetpipe_writes_for_an_assignment_counts(status, turn):
    sheet = handled(response("Old", "old@o.example", "Old"), team=[member(f"M{i}") for i in
                                                                    range(7)])  # fmt: skip
    sheet.set(FORM, 2, "Intake status", status)  # its key kept: handled, not taken again
    sheet.respond(response("Dan Wu", "dan@delta.example", "Delta"))
    started = time.monotonic()
    sheet.cycle()
    assert time.monotonic() - started < 10, "a long hostile cell is not a regex bomb"
    assert sheet.status()[1].endswith(f"(round-robin, turn {turn + 1})")


def test_the_turn_of_a_won_deal_dealt_out_is_read_from_history_in_its_own_words():
    sheet = Sheet([response()], team=THREE)
    history = sheet.snap.find("History").rows
    history.append([NOW, "C-0001", "Won one", "Customers", None, "Onboarding", None, None,
                    "sheetpipe (from D-0007; round-robin, turn 4)"])  # fmt: skip
    history.append([NOW, "D-0002", "Other", "Deals", "Contact", "Proposal", None, None,
                    "Ana (round-robin, turn 40)"])  # a person's words: no turn  # fmt: skip
    sheet.cycle()
    assert sheet.status()[0].endswith(" for Ben (round-robin, turn 5)")


def test_a_team_member_removed_gets_no_more_leads_and_the_turns_count_on():
    sheet = handled(*(response(f"P{i}", f"p{i}@c{i}.example", f"C{i}") for i in range(2)),
                    team=THREE)  # fmt: skip
    sheet.snap.find("Team").rows.pop(2)  # Ben left
    sheet.respond(*(response(f"Q{i}", f"q{i}@d{i}.example", f"D{i}") for i in range(3)))
    sheet.cycle()
    assert [d["Owner"] for d in sheet.deals()] == ["Ana", "Ben", "Ana", "Cy", "Ana"]
    assert sheet.status()[-1].endswith("(round-robin, turn 5)")


def test_a_turn_on_a_second_line_of_a_status_is_no_turn():
    sheet = handled(response("Old", "old@o.example", "Old"), team=THREE)
    sheet.set(FORM, 2, "Intake status", "Created D-0001 for Ana\n(round-robin, turn 50)")
    sheet.respond(response("Dan Wu", "dan@delta.example", "Delta"))
    sheet.cycle()
    assert sheet.status()[1] == "Created D-0002 for Ana (round-robin, turn 1)"


# ---- a company keeps its owner when they can take it (finding 8) ------------------------


@pytest.mark.parametrize(
    "ben, why",
    [
        (
            {"Out from": TODAY - timedelta(1), "Out until": TODAY + timedelta(2)},
            f"is out until {(TODAY + timedelta(2)).isoformat()}",
        ),
        ({"Out from": TODAY - timedelta(1)}, "is out"),
        ({"Capacity": 1}, "is at capacity: 1 open deal, Capacity 1"),
        ({"Pipelines": "Customers"}, "does not work on Deals"),
        ({"Active": "No"}, "is not active in Team"),
    ],
    ids=["on leave", "gone on leave", "at capacity", "other pipeline", "inactive"],
)
def test_a_company_owner_who_cannot_take_the_lead_is_passed_over_and_the_status_says_why(ben, why):
    sheet = Sheet([response("Zoe Park", "zoe@acme.example", "Acme")],
                  team=[member("Ana"), member("Ben", **ben)], deals=[existing(Owner="Ben")])  # fmt: skip
    sheet.cycle()
    assert sheet.deals()[1]["Owner"] == "Ana"
    assert sheet.status() == [
        f"Created D-0002 for Ana (round-robin, turn 1; Ben, who owns the company's deal D-0001, "
        f"{why})"
    ]


def test_a_company_owner_back_from_leave_keeps_the_company():
    ben = member("Ben", **{"Out from": TODAY - timedelta(9), "Out until": TODAY - timedelta(1)})
    sheet = handled(response("Zoe Park", "zoe@acme.example", "Acme"), team=[member("Ana"), ben],
                    deals=[existing(Owner="Ben")])  # fmt: skip
    assert sheet.status() == ["Created D-0002 for Ben (owns the company's deal D-0001)"]


def test_another_owner_of_the_company_who_can_take_it_keeps_it_before_the_rotation():
    deals = [existing(Owner="Ben"), existing(ID="D-0002", Owner="Cy", Email="al@acme.example")]
    team = [member("Ana"), member("Ben", Active="No"), member("Cy")]
    sheet = handled(response("Zoe Park", "zoe@acme.example", "Acme"), team=team, deals=deals)
    assert sheet.status() == ["Created D-0003 for Cy (owns the company's deal D-0002)"]


def test_a_company_owner_who_left_the_team_is_said_so_and_the_next_turn_counts_on():
    sheet = handled(response("Zoe Park", "zoe@acme.example", "Acme"),
                    deals=[existing(Owner="Zed {ex}")])  # fmt: skip
    assert sheet.status() == [
        "Created D-0002 for Ana (round-robin, turn 1; Zed {ex}, who owns the company's deal "
        "D-0001, is not in Team)"
    ]
    sheet.respond(response("Dan Wu", "dan@delta.example", "Delta"))
    sheet.cycle()
    assert sheet.status()[1] == "Created D-0003 for Ben (round-robin, turn 2)"


def test_a_company_owner_at_capacity_only_after_this_cycles_leads_is_passed_over():
    deals = [existing(Owner="Ben")]
    team = [member("Ana"), member("Ben", Capacity=2)]
    sheet = handled(*(response(f"P{i}", f"p{i}@acme.example", "Acme") for i in range(3)),
                    team=team, deals=deals)  # fmt: skip
    assert [d["Owner"] for d in sheet.deals()] == ["Ben", "Ben", "Ana", "Ana"]
    assert sheet.status()[0] == "Created D-0002 for Ben (owns the company's deal D-0001)"
    assert sheet.status()[1].endswith("is at capacity: 2 open deals, Capacity 2)")


def test_a_closed_deal_or_one_without_an_owner_decides_nothing_about_the_company():
    deals = [existing(Stage="Lost", Owner="Ben"), existing(ID="D-0002", Owner=None,
                                                           Email="al@acme.example")]  # fmt: skip
    sheet = handled(response("Zoe Park", "zoe@acme.example", "Acme"), deals=deals)
    assert sheet.status() == ["Created D-0003 for Ana (round-robin, turn 1)"]


def team_workbook(folder: Path, ben_out: bool) -> Path:
    today = date.today()  # the command runs today
    sheets = tabs([{"Deal": "Acme", "Stage": "Contact", "Owner": "Ben Ode", "ID": "D-0001",
                    "Email": "bob@acme.example", "Company": "Acme", "Last contact": today}])  # fmt: skip
    away = [today - timedelta(1), today + timedelta(6)] if ben_out else [None, None]
    sheets["Team"] = [TEAM_HEADER,
                      ["Ana Ruiz", "ana@sales.example", None, "Yes", None, None, 1, None],
                      ["Ben Ode", "ben@sales.example", None, "Yes", *away, 1, None]]  # fmt: skip
    sheets[FORM] = [FORM_HEADER, response("Zoe Park", "zoe@acme.example", "Acme")]
    return write_workbook(folder / "pipeline.xlsx", sheets)


@pytest.mark.parametrize("ben_out", [True, False], ids=["owner away", "owner in"])
def test_the_new_lead_email_goes_to_whoever_can_take_the_companys_lead(tmp_path, smtp, ben_out):  # noqa: F811
    team_workbook(tmp_path, ben_out)
    write_config(tmp_path, extra=f'[[intake]]\ntab = "{FORM}"\n[smtp]\nhost = "127.0.0.1"\n'
                 f'port = {smtp.port}\nsecurity = "none"\n'
                 'sender = "Pipeline <pipeline@sales.example>"\n')  # fmt: skip
    synced = sheetpipe(tmp_path, "sync")
    assert synced.returncode == 0, synced.stderr
    deal = records(tmp_path / "pipeline.xlsx", "Deals")[1]
    assert deal["Owner"] == ("Ana Ruiz" if ben_out else "Ben Ode")
    to = "ana@sales.example" if ben_out else "ben@sales.example"
    assert [r for r in smtp.recipients] == [[to]]
    status = records(tmp_path / "pipeline.xlsx", FORM)[0]["Intake status"]
    assert ("Ben Ode, who owns the company's deal D-0001, is out until" in status) is ben_out


# ---- a shared phone is no proof of one person (finding 9) -------------------------------


SWITCHBOARD = "+44 20 7946 0958"


def phone_sheet(*responses: list) -> Sheet:
    deals = [existing(Contact="Robert Marsh", Phone=SWITCHBOARD, Owner="Ben")]
    return Sheet(list(responses), deals=deals, settings={"Phone region": "GB"})


def test_a_shared_phone_with_another_email_is_a_question_and_create_gives_the_person_a_deal():
    sheet = phone_sheet(response("Zed Ames", "zed@zeta.example", "Zeta", "020 7946 0958"))
    sheet.cycle()
    assert sheet.status() == [
        "Possible duplicate of D-0001 (same phone, another e-mail). Write create here for a "
        "new deal, or merge to add it to D-0001."
    ]
    assert len(sheet.deals()) == 1 and sheet.deals()[0]["Email"] == "bob@acme.example"
    sheet.set(FORM, 2, "Intake status", "create")
    sheet.cycle()
    new = sheet.deals()[1]
    assert (new["Email"], new["Company"], new["Contact"]) == ("zed@zeta.example", "Zeta",
                                                              "Zed Ames")  # fmt: skip


def test_a_shared_phone_merged_by_a_person_puts_the_other_email_and_company_on_the_task():
    sheet = phone_sheet(response("Zed Ames", "zed@zeta.example", "Zeta", "020 7946 0958", "Hi"))
    sheet.cycle()
    sheet.set(FORM, 2, "Intake status", "merge")
    sheet.cycle()
    assert sheet.status() == [f"Merged into D-0001 (as asked, {DAY})"]
    tasks = [r for r in sheet.snap.find("Tasks").rows[1:] if r[5] == "returning"]
    assert [t[0] for t in tasks] == [
        "Returning lead: Zed Ames got in touch again through Form Responses 1 (not on the "
        "deal: contact Zed Ames, email zed@zeta.example, company Zeta): Hi"
    ]
    assert sheet.deals()[0]["Email"] == "bob@acme.example", "what the deal holds stays"


def test_a_merge_lists_nothing_the_deal_already_says_in_other_case_spacing_or_format():
    deals = [existing(Contact="Robert Marsh", Phone=SWITCHBOARD)]
    sheet = Sheet([response("robert  MARSH", "BOB@acme.example", "ACME", "020 7946 0958")],
                  deals=deals, settings={"Phone region": "GB"})  # fmt: skip
    sheet.cycle()
    tasks = [r for r in sheet.snap.find("Tasks").rows[1:] if r[5] == "returning"]
    assert [t[0] for t in tasks] == [
        "Returning lead: robert  MARSH got in touch again through Form Responses 1."
    ]


@pytest.mark.parametrize(
    "email, status",
    [
        ("", f"Merged into D-0001 (same phone, {DAY})"),
        ("BOB@acme.example ", f"Merged into D-0001 (same e-mail, {DAY})"),
    ],
    ids=["no e-mail given", "same e-mail, other case and a space"],
)
def test_a_shared_phone_without_a_conflicting_email_is_still_a_merge(email, status):
    sheet = phone_sheet(response("Bob", email, "Acme", "020 7946 0958"))
    sheet.cycle()
    assert sheet.status() == [status]


def test_a_deal_without_an_email_takes_the_new_one_on_a_phone_match():
    deals = [existing(Email=None, Phone=SWITCHBOARD)]
    sheet = Sheet([response("Bob", "bob@acme.example", "Acme", "020 7946 0958")], deals=deals,
                  settings={"Phone region": "GB"})  # fmt: skip
    sheet.cycle()
    assert sheet.status() == [f"Merged into D-0001 (same phone, {DAY})"]
    assert sheet.deals()[0]["Email"] == "bob@acme.example"


def test_a_shared_phone_on_a_closed_deal_with_another_email_is_a_new_deal_not_a_returning_one():
    deals = [existing(Stage="Lost", Phone=SWITCHBOARD)]
    sheet = Sheet([response("Zed", "zed@zeta.example", "Zeta", "020 7946 0958")], deals=deals,
                  settings={"Phone region": "GB"})  # fmt: skip
    sheet.cycle()
    assert sheet.status() == ["Created D-0002 for Ana (round-robin, turn 1)"]


def test_two_people_sharing_a_phone_in_one_cycle_are_one_deal_and_one_question():
    sheet = Sheet([response("Ann Lee", "ann@acme.example", "Acme", "+1 202 555 0101"),
                   response("Ben Ode", "ben@acme.example", "Acme", "+1 (202) 555-0101")])  # fmt: skip
    sheet.cycle()
    assert sheet.status()[1].startswith("Possible duplicate of D-0001 (same phone, another")


# ---- free and disposable mail says nothing of a company (finding 10) ---------------------


@pytest.mark.parametrize("domain", ["comcast.net", "outlook.es", "mailinator.com",
                                    "GMAIL.com"])  # fmt: skip
def test_a_free_or_disposable_mail_domain_says_nothing_of_the_company(domain):
    assert company_domain(f"x@{domain.lower()}") is None
    sheet = handled(response("Zoe Park", f"zoe@{domain}", "Zeta"),
                    deals=[existing(Owner="Ben", Email=f"bob@{domain.lower()}")])  # fmt: skip
    assert sheet.status() == ["Created D-0002 for Ana (round-robin, turn 1)"]


def test_two_people_with_similar_names_at_one_free_mail_domain_are_two_leads():
    deals = [existing(Contact="Maria Garcia", Company="Sol SL", Email="maria.g@outlook.es")]
    sheet = handled(response("Mario Garcia", "mgarcia77@outlook.es", "Luna SA"), deals=deals)
    assert sheet.status()[0].startswith("Created D-0002")


def test_a_company_domain_still_finds_the_company():
    assert company_domain("ana@acme.example") == "acme.example"
    sheet = handled(response("Zoe Park", "zoe@acme.example", ""), deals=[existing(Owner="Ben")])
    assert sheet.status() == ["Created D-0002 for Ben (owns the company's deal D-0001)"]
