"""Nurture sequences through plan_cycle (core/tabs/nurture.py, core/inputs/sequences.py,
core/inputs/window.py), with the real template engine that fills in the e-mails."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from sheetpipe.core.contract import Names
from sheetpipe.core.cycle import Plan, plan_cycle
from sheetpipe.core.inputs.window import SendWindow, Wait, parse_days, parse_hours, parse_wait
from sheetpipe.core.sheet.apply import apply_changes
from sheetpipe.mail.templates import Templates
from sheetpipe.model import Snapshot, Tab

from .helpers import column, record, set_cell, tabs

NAMES = Names(mail=True)
TUESDAY = datetime(2026, 3, 10, 9, 30)
TEAM = [["Name", "Email", "Pipelines", "Active", "Out from", "Out until", "Weight", "Capacity"],
        ["Ana", "ana@us.example", None, "Yes", None, None, None, None]]  # fmt: skip


def lead(**cells) -> dict:
    base = {"Deal": "Beta Works", "Stage": "Discovery", "Owner": "Ana",
            "Email": "cara@beta.example", "Company": "Beta Works", "Source": "web form",
            "Contact": "Cara"}  # fmt: skip
    return {**base, **cells}


class Sheet:
    """A workbook in memory, cycled as the daemon cycles it, with e-mail on."""

    def __init__(self, *deals: dict, settings: dict | None = None):
        rows = tabs(deals=list(deals) or [lead()],
                    settings={"Discount code": "SPRING15", **(settings or {})})  # fmt: skip
        rows["Team"] = [list(r) for r in TEAM]
        self.snap = Snapshot({n: Tab(n, r) for n, r in rows.items()})

    def cycle(self, now: datetime) -> Plan:
        plan = plan_cycle(self.snap, NAMES, now, Templates(None, "test sheet"))
        self.snap = apply_changes(self.snap, plan.changes)
        return plan

    def enrolments(self) -> list[dict]:
        tab = self.snap.find("Enrolments")
        return [record(self.snap, "Enrolments", r) for r in range(2, len(tab.rows) + 1)]

    def nurture_mail(self) -> list[dict]:
        tab = self.snap.find("Outbox")
        rows = [record(self.snap, "Outbox", r) for r in range(2, len(tab.rows) + 1)]
        return [r for r in rows if r["Kind"] == "nurture"]

    def set(self, tab: str, row: int, name: str, value) -> None:
        set_cell(self.snap, tab, row, name, value)

    def deliver(self) -> None:
        """What delivery records once the mail server took every queued e-mail."""
        for row, status in enumerate(column(self.snap, "Outbox", "Status"), start=2):
            if status == "queued":
                self.set("Outbox", row, "Status", "sent")


# ---- the send window ------------------------------------------------------------------


@pytest.mark.parametrize(("text", "days"), [
    ("Mon-Fri", {0, 1, 2, 3, 4}), ("mon - fri", {0, 1, 2, 3, 4}), ("Mon, Wed, Fri", {0, 2, 4}),
    ("Monday-Sunday", set(range(7))), ("Sat-Mon", {5, 6, 0}), ("Tue", {1}),
    ("Mon-Fry", None), ("", None), ("weekdays", None), ("Mon-Wed-Fri", None),
])  # fmt: skip
def test_send_days_read_as_people_write_them(text, days):
    found = parse_days(text)
    assert (set(found) if found is not None else None) == days


@pytest.mark.parametrize(("text", "hours"), [
    ("09:00-17:00", (time(9), time(17))), ("9-17", (time(9), time(17))),
    ("08:30 to 18:15", (time(8, 30), time(18, 15))), ("00:00-24:00", (time(0), time(0))),
    ("17:00-09:00", None), ("9:00-9:00", None), ("25:00-26:00", None), ("9:60-10", None),
    ("nine to five", None), ("", None),
])  # fmt: skip
def test_send_hours_read_as_people_write_them(text, hours):
    assert parse_hours(text) == hours


@pytest.mark.parametrize(("text", "wait"), [
    ("2 days", Wait(2, "days")), ("1 day", Wait(1, "days")), ("4 hours", Wait(4, "hours")),
    ("3 business days", Wait(3, "business days")), ("2 working days", Wait(2, "business days")),
    ("1.5 days", Wait(1.5, "days")), ("1.5 business days", None), ("two days", None),
    ("2 weeks", None), ("", None), ("2", None),
])  # fmt: skip
def test_waits_read_as_people_write_them(text, wait):
    assert parse_wait(text) == wait


WINDOW = SendWindow()  # Mon-Fri 09:00-17:00


@pytest.mark.parametrize(("start", "wait", "goes"), [
    (datetime(2026, 3, 10, 9, 30), Wait(2, "days"), datetime(2026, 3, 12, 9, 30)),
    (datetime(2026, 3, 12, 9, 31), Wait(2, "days"), datetime(2026, 3, 16, 9, 0)),  # Saturday
    (datetime(2026, 3, 12, 16, 0), Wait(4, "hours"), datetime(2026, 3, 13, 9, 0)),  # evening
    (datetime(2026, 3, 13, 7, 0), Wait(1, "hours"), datetime(2026, 3, 13, 9, 0)),  # morning
    (datetime(2026, 3, 12, 10, 0), Wait(2, "business days"), datetime(2026, 3, 16, 10, 0)),
    (datetime(2026, 3, 14, 10, 0), Wait(1, "business days"), datetime(2026, 3, 16, 10, 0)),
])  # fmt: skip
def test_a_step_waits_then_goes_at_the_next_opening_of_the_window(start, wait, goes):
    assert WINDOW.after(start, wait) == goes


def test_public_holidays_of_the_country_are_skipped():
    british = SendWindow(country="GB")
    # Good Friday 2026-04-03 is a holiday across the UK (Easter Monday is not in Scotland).
    assert british.next_open(datetime(2026, 4, 3, 10)) == datetime(2026, 4, 6, 9)
    assert british.after(datetime(2026, 4, 2, 10), Wait(1, "business days")) == datetime(
        2026, 4, 6, 10)  # fmt: skip
    german = SendWindow(country="DE")  # Good Friday and Easter Monday
    assert german.next_open(datetime(2026, 4, 3, 10)) == datetime(2026, 4, 7, 9)
    assert SendWindow().next_open(datetime(2026, 4, 3, 10)) == datetime(2026, 4, 3, 10)


def test_a_window_until_midnight_is_open_in_the_evening():
    late = SendWindow(frozenset(range(7)), time(18), time(0))
    assert late.is_open(datetime(2026, 3, 14, 23, 59))
    assert not late.is_open(datetime(2026, 3, 14, 17, 59))


# ---- the seed's sequence --------------------------------------------------------------


def test_a_web_lead_gets_the_invitation_after_two_days_and_the_code_two_days_later():
    sheet = Sheet()
    sheet.cycle(TUESDAY)
    [enrolled] = sheet.enrolments()
    assert enrolled["ID"] == "deals/D-0001/nurture/new-web-lead#1"
    assert (enrolled["Status"], enrolled["Step"]) == ("active", 0)
    assert enrolled["Next send"] == datetime(2026, 3, 12, 9, 30)
    sheet.cycle(TUESDAY + timedelta(days=1))
    assert not sheet.nurture_mail()
    sheet.cycle(datetime(2026, 3, 12, 9, 31))
    [invitation] = sheet.nurture_mail()
    assert (invitation["ID"], invitation["To"], invitation["Subject"]) == (
        "deals/D-0001/nurture/new-web-lead#1/1",
        "cara@beta.example",
        "A demo for Beta Works?",
    )
    assert invitation["Body"].startswith("Hi Cara,")
    assert sheet.enrolments()[0]["Next send"] == datetime(2026, 3, 16, 9)  # not on Saturday
    sheet.deliver()
    sheet.cycle(datetime(2026, 3, 16, 9, 5))
    second = sheet.nurture_mail()[1]
    assert second["Subject"] == "Beta Works: 15 % off with SPRING15"
    assert "SPRING15" in second["Body"]
    assert (sheet.enrolments()[0]["Status"], sheet.enrolments()[0]["Step"]) == ("finished", 2)
    sheet.deliver()
    sheet.cycle(datetime(2026, 3, 30, 10))
    assert len(sheet.nurture_mail()) == 2


def test_a_step_is_queued_once_however_often_the_cycle_plans_it():
    sheet = Sheet()
    sheet.cycle(TUESDAY)
    due = datetime(2026, 3, 12, 9, 31)
    before = sheet.snap
    first = plan_cycle(before, NAMES, due, Templates(None, "test sheet"))
    again = plan_cycle(before, NAMES, due, Templates(None, "test sheet"))
    assert first.changes == again.changes  # the same rows, from the same causes
    sheet.cycle(due)
    sheet.cycle(due + timedelta(minutes=5))
    assert len(sheet.nurture_mail()) == 1


def test_after_an_outage_one_step_goes_and_the_next_waits_its_whole_wait():
    sheet = Sheet()
    sheet.cycle(TUESDAY)
    back = datetime(2026, 3, 24, 11)  # ten days without a cycle
    sheet.cycle(back)
    assert len(sheet.nurture_mail()) == 1
    assert sheet.enrolments()[0]["Next send"] == datetime(2026, 3, 26, 11)
    sheet.deliver()
    sheet.cycle(back + timedelta(hours=1))
    assert len(sheet.nurture_mail()) == 1


def test_the_next_step_waits_until_the_last_one_has_left():
    sheet = Sheet()
    sheet.cycle(TUESDAY)
    sheet.cycle(datetime(2026, 3, 12, 9, 31))
    sheet.cycle(datetime(2026, 3, 17, 10))  # step 1 still queued: the server was down
    assert len(sheet.nurture_mail()) == 1


def test_a_bounced_step_ends_the_enrolment():
    sheet = Sheet()
    sheet.cycle(TUESDAY)
    sheet.cycle(datetime(2026, 3, 12, 9, 31))
    sheet.set("Outbox", 2, "Status", "failed: 550 5.1.1 no such user")
    sheet.cycle(datetime(2026, 3, 16, 10))
    [enrolled] = sheet.enrolments()
    assert (enrolled["Status"], enrolled["Exit reason"]) == (
        "exited", "step 1 failed: 550 5.1.1 no such user")  # fmt: skip
    assert len(sheet.nurture_mail()) == 1


def test_a_person_pauses_resumes_and_stops_an_enrolment():
    sheet = Sheet()
    sheet.cycle(TUESDAY)
    sheet.set("Enrolments", 2, "Status", "Paused")
    sheet.cycle(datetime(2026, 3, 12, 9, 31))
    assert not sheet.nurture_mail()
    assert sheet.enrolments()[0]["Next send"] is None
    sheet.set("Enrolments", 2, "Status", "active")
    sheet.cycle(datetime(2026, 3, 14, 12))  # a Saturday: rescheduled to Monday's opening
    assert sheet.enrolments()[0]["Next send"] == datetime(2026, 3, 16, 9)
    assert not sheet.nurture_mail()
    sheet.cycle(datetime(2026, 3, 16, 9, 1))
    assert len(sheet.nurture_mail()) == 1
    sheet.set("Enrolments", 2, "Status", "stopped")
    sheet.deliver()
    sheet.cycle(datetime(2026, 3, 20, 10))
    assert (sheet.enrolments()[0]["Status"], sheet.enrolments()[0]["Exit reason"]) == (
        "exited", "stopped by a person")  # fmt: skip
    assert len(sheet.nurture_mail()) == 1


def test_a_status_nobody_knows_is_reported_with_its_cell_and_sends_nothing():
    sheet = Sheet()
    sheet.cycle(TUESDAY)
    sheet.set("Enrolments", 2, "Status", "later please")
    plan = sheet.cycle(datetime(2026, 3, 12, 9, 31))
    assert any(str(p).startswith('Enrolments!G2: "later" is not a status') for p in plan.problems)
    assert not sheet.nurture_mail()


def test_a_stage_change_ends_it_and_re_entering_the_stage_enrols_again():
    sheet = Sheet()
    sheet.cycle(TUESDAY)
    sheet.set("Deals", 2, "Stage", "Qualification")
    sheet.cycle(TUESDAY + timedelta(days=1))
    assert (sheet.enrolments()[0]["Status"], sheet.enrolments()[0]["Exit reason"]) == (
        "exited", "stage changed to Qualification")  # fmt: skip
    sheet.set("Deals", 2, "Stage", "Discovery")
    sheet.cycle(TUESDAY + timedelta(days=2))
    assert [e["ID"] for e in sheet.enrolments()] == [
        "deals/D-0001/nurture/new-web-lead#1",
        "deals/D-0001/nurture/new-web-lead#2",
    ]
    sheet.cycle(datetime(2026, 3, 16, 10))
    assert [m["ID"] for m in sheet.nurture_mail()] == ["deals/D-0001/nurture/new-web-lead#2/1"]


@pytest.mark.parametrize(("cells", "reason"), [
    ({"Do not email": "Yes"}, "Do not email is yes"),
    ({"Email": ""}, "its Email is empty; fix it, then write active"),
    ({"Email": "cara@beta.example, boss@beta.example"},
     'its Email, "cara@beta.example, boss@beta.example", holds more than one address; an '
     "alert goes to one person; fix it, then write active"),
])  # fmt: skip
def test_a_lead_that_may_not_be_mailed_is_enrolled_as_exited_with_the_reason(cells, reason):
    sheet = Sheet(lead(**cells))
    sheet.cycle(TUESDAY)
    assert (sheet.enrolments()[0]["Status"], sheet.enrolments()[0]["Exit reason"]) == (
        "exited", reason)  # fmt: skip
    sheet.cycle(datetime(2026, 3, 16, 10))
    assert not sheet.nurture_mail()


def test_an_address_on_suppression_is_never_mailed():
    sheet = Sheet()
    sheet.cycle(TUESDAY)
    sheet.snap.find("Suppression").rows.append([" Cara@Beta.example ", "unsubscribed"])
    sheet.cycle(datetime(2026, 3, 12, 9, 31))
    assert not sheet.nurture_mail()
    assert sheet.enrolments()[0]["Exit reason"] == "cara@beta.example is on Suppression"


def test_only_deals_the_condition_holds_for_are_enrolled():
    sheet = Sheet(lead(), lead(Deal="Gamma", Email="gil@gamma.example", Source="Referral"))
    sheet.cycle(TUESDAY)
    assert [e["Deal"] for e in sheet.enrolments()] == ["Beta Works"]


def test_a_deal_that_entered_the_stage_long_ago_is_not_enrolled():
    sheet = Sheet(lead(ID="D-0001"))
    sheet.snap.find("History").rows.append(
        [TUESDAY - timedelta(days=30), "D-0001", "Beta Works", "Deals", "", "Discovery", "x"]
    )
    sheet.cycle(TUESDAY)
    assert sheet.enrolments() == []


def test_a_field_the_lead_leaves_empty_pauses_it_with_a_problem_never_half_an_email():
    sheet = Sheet(lead(Contact=""))
    sheet.cycle(TUESDAY)
    plan = sheet.cycle(datetime(2026, 3, 12, 9, 31))
    assert not sheet.nurture_mail()
    [enrolled] = sheet.enrolments()
    assert (enrolled["Status"], enrolled["Exit reason"]) == (
        "paused", "paused: step 1 cannot be made: Contact is empty on this deal")  # fmt: skip
    [problem] = [p for p in plan.problems if "cannot be made" in p.message]
    assert problem.where == "'Sequence steps'!D2"
    sheet.set("Deals", 2, "Contact", "Cara")
    sheet.set("Enrolments", 2, "Status", "active")
    sheet.cycle(datetime(2026, 3, 12, 10))
    sheet.cycle(datetime(2026, 3, 12, 10, 5))
    assert sheet.nurture_mail()[0]["Body"].startswith("Hi Cara,")


def test_an_empty_discount_code_pauses_the_second_step():
    sheet = Sheet(settings={"Discount code": ""})
    sheet.cycle(TUESDAY)
    sheet.cycle(datetime(2026, 3, 12, 9, 31))
    sheet.deliver()
    sheet.cycle(datetime(2026, 3, 16, 9, 5))
    assert sheet.enrolments()[0]["Exit reason"] == (
        "paused: step 2 cannot be made: Discount code is empty in Settings"
    )
    assert len(sheet.nurture_mail()) == 1


def test_the_daily_cap_is_shared_and_the_alerts_go_first():
    sheet = Sheet(settings={"E-mails per day": 1})
    sheet.cycle(TUESDAY)
    due = datetime(2026, 3, 12, 9, 31)
    sheet.snap.find("Outbox").rows.append(
        ["x/alert", "ana@us.example", "An alert", "hot", "queued", None, due, None, "…"]
    )
    sheet.cycle(due)
    assert not sheet.nurture_mail()  # the alert waiting takes today's only e-mail
    sheet.deliver()
    sheet.set("Outbox", 2, "Sent", due)
    sheet.cycle(due + timedelta(hours=1))
    assert not sheet.nurture_mail()  # today's one is sent
    sheet.cycle(due + timedelta(days=1))
    assert len(sheet.nurture_mail()) == 1


def test_hostile_text_in_a_lead_stays_text_and_one_line_in_the_subject():
    sheet = Sheet(lead(Company='=HYPERLINK("http://x.example")\nBcc: all@x.example',
                       Contact="<b>Cara</b>"))  # fmt: skip
    sheet.cycle(TUESDAY)
    sheet.cycle(datetime(2026, 3, 12, 9, 31))
    [mail] = sheet.nurture_mail()
    assert mail["Subject"] == 'A demo for =HYPERLINK("http://x.example") Bcc: all@x.example?'
    assert mail["Body"].startswith("Hi <b>Cara</b>,")  # plain text, as typed


def test_the_window_is_in_the_sheets_time_zone_across_a_clock_change():
    sheet = Sheet(settings={"Timezone": "Europe/London"})
    sheet.cycle(datetime(2026, 3, 24, 10))  # Tuesday before the clocks go forward (29 March)
    sheet.cycle(datetime(2026, 3, 26, 10, 5))
    sheet.deliver()
    assert sheet.enrolments()[0]["Next send"] == datetime(2026, 3, 30, 9)  # Monday, London
    from datetime import UTC

    sheet.cycle(datetime(2026, 3, 30, 7, 30, tzinfo=UTC))  # 08:30 in London: still closed
    assert len(sheet.nurture_mail()) == 1
    sheet.cycle(datetime(2026, 3, 30, 8, 5, tzinfo=UTC))  # 09:05 in London
    assert len(sheet.nurture_mail()) == 2


# ---- what managers write ----------------------------------------------------------------


@pytest.mark.parametrize(("tab", "row", "column", "value", "where", "says"), [
    ("Sequences", 2, "Pipeline", "Leads", "Sequences!B2", '"Leads" is not a pipeline tab'),
    ("Sequences", 2, "Enrol at stage", "Demo", "Sequences!C2", '"Demo" is not a stage of Deals'),
    ("Sequences", 2, "If field", "Colour", "Sequences!D2", 'no pipeline tab has a column "Colour"'),
    ("Sequences", 2, "On reply", "call them", "Sequences!G2", '"call them" must be "task"'),
    ("Sequence steps", 2, "Wait", "soon", "'Sequence steps'!C2", 'wait "soon" is not like 2 days'),
    ("Sequence steps", 3, "Step", "two", "'Sequence steps'!B3", 'step "two" is not a whole number'),
    ("Sequence steps", 2, "Subject", "", "'Sequence steps'!D2", "the step has no Subject"),
    ("Settings", None, "Value", "weekdays", None, 'Send days "weekdays" is not days like Mon-Fri'),
])  # fmt: skip
def test_a_broken_sequence_is_named_by_its_cell_and_sends_nothing(tab, row, column, value,
                                                                   where, says):  # fmt: skip
    sheet = Sheet()
    if tab == "Settings":
        settings = column_rows = sheet.snap.find("Settings").rows
        row = 1 + next(i for i, r in enumerate(column_rows[1:], start=1) if r[0] == "Send days")
        where = f"Settings!B{row}"
        del settings
    sheet.set(tab, row, column, value)
    plan = sheet.cycle(TUESDAY)
    assert any(p.where == where and says in p.message for p in plan.problems), plan.problems
    if tab != "Settings":
        sheet.cycle(datetime(2026, 3, 12, 9, 31))
        assert not sheet.nurture_mail()


def test_a_switched_off_sequence_enrols_nobody():
    sheet = Sheet()
    sheet.set("Sequences", 2, "Active", "No")
    sheet.cycle(TUESDAY)
    assert sheet.enrolments() == []


def test_a_typo_in_a_running_sequence_holds_its_enrolments_until_it_is_fixed():
    """A manager's slip in Sequences must not end every lead's sequence for good."""
    sheet = Sheet()
    sheet.cycle(TUESDAY)
    sheet.set("Sequences", 2, "Enrol at stage", "Discovey")
    plan = sheet.cycle(datetime(2026, 3, 12, 9, 31))
    assert any(p.where == "Sequences!C2" and "its enrolments wait" in p.message
               for p in plan.problems)  # fmt: skip
    assert not sheet.nurture_mail()
    assert sheet.enrolments()[0]["Status"] == "active"
    sheet.set("Sequences", 2, "Enrol at stage", "Discovery")
    sheet.cycle(datetime(2026, 3, 12, 10))
    assert len(sheet.nurture_mail()) == 1


def test_a_sequence_switched_off_ends_its_enrolments():
    sheet = Sheet()
    sheet.cycle(TUESDAY)
    sheet.set("Sequences", 2, "Active", "No")
    sheet.cycle(datetime(2026, 3, 12, 9, 31))
    [enrolled] = sheet.enrolments()
    assert (enrolled["Status"], enrolled["Exit reason"]) == (
        "exited", "its sequence is gone or switched off")  # fmt: skip
    assert not sheet.nurture_mail()


@pytest.mark.parametrize("cells", [
    {"Sequence": "", "Pipeline": "", "Enrol at stage": ""},  # its row emptied
    {"Sequence": "New web leed"},  # renamed by a slip
])  # fmt: skip
def test_a_sequence_whose_row_is_gone_holds_its_enrolments_and_says_so(cells):
    sheet = Sheet()
    sheet.cycle(TUESDAY)
    for name, value in cells.items():
        sheet.set("Sequences", 2, name, value)
    plan = sheet.cycle(datetime(2026, 3, 12, 9, 31))
    assert sheet.enrolments()[0]["Status"] == "active"
    assert not sheet.nurture_mail()
    assert any(p.where == "Enrolments" and 'name the sequence "new web lead"' in p.message
               for p in plan.problems)  # fmt: skip


def test_a_deleted_sequences_tab_holds_every_enrolment_and_says_so():
    sheet = Sheet()
    sheet.cycle(TUESDAY)
    sheet.snap = Snapshot({n: t for n, t in sheet.snap.tabs.items() if n != "Sequences"})
    plan = sheet.cycle(datetime(2026, 3, 12, 9, 31))
    assert any(p.where == "Enrolments" and "there is no Sequences tab" in p.message
               for p in plan.problems)  # fmt: skip
    assert sheet.enrolments()[0]["Status"] == "active"
    assert not sheet.nurture_mail()


def test_nothing_is_enrolled_without_email_configured():
    sheet = Sheet()
    plan = plan_cycle(sheet.snap, Names(), TUESDAY)
    assert sheet.snap.find("Enrolments") is None
    assert not any(t == "Enrolments" for t, _ in plan.changes.new_tabs)
    assert date(2026, 3, 10) == TUESDAY.date()


def test_delivery_holds_e_mails_to_leads_while_the_window_is_closed():
    """A nurture row queued inside the window but held up (the mail server was down)
    waits for the window; an alert to the team goes at any hour."""
    from sheetpipe.core.tabs import outbox

    waiting = [outbox.Outgoing(2, "a/1", "x@y.example", "S", "B", "nurture"),
               outbox.Outgoing(3, "b/hot", "ana@us.example", "S", "B", "hot")]  # fmt: skip
    state = outbox.OutboxState(waiting, [], 0, None)
    assert [m.id for m in outbox.next_batch(state, 10, window_open=False)] == ["b/hot"]
    assert [m.id for m in outbox.next_batch(state, 10, window_open=True)] == ["a/1", "b/hot"]


def test_a_step_due_while_the_window_is_closed_waits_for_it_to_open():
    sheet = Sheet()
    sheet.cycle(TUESDAY)  # step 1 due Thursday 09:30
    sheet.cycle(datetime(2026, 3, 12, 18, 0))  # the first cycle after it: evening
    assert not sheet.nurture_mail()
    sheet.cycle(datetime(2026, 3, 13, 8, 59))
    assert not sheet.nurture_mail()
    sheet.cycle(datetime(2026, 3, 13, 9, 0))
    assert len(sheet.nurture_mail()) == 1


def test_the_cap_counts_each_step_queued_in_the_same_cycle():
    sheet = Sheet(lead(), lead(Deal="Gamma", Email="gil@gamma.example"),
                  settings={"E-mails per day": 1})  # fmt: skip
    sheet.cycle(TUESDAY)
    sheet.cycle(datetime(2026, 3, 12, 9, 31))
    assert len(sheet.nurture_mail()) == 1


def test_a_reentry_recorded_in_history_ends_the_old_enrolment_and_starts_a_new_one():
    sheet = Sheet()
    sheet.cycle(TUESDAY)
    at = TUESDAY + timedelta(hours=2)
    history = sheet.snap.find("History").rows
    history.append([at, "D-0001", "Beta Works", "Deals", "Discovery", "Qualification", "Ana"])
    history.append([at, "D-0001", "Beta Works", "Deals", "Qualification", "Discovery", "Ana"])
    sheet.cycle(TUESDAY + timedelta(hours=3))
    first, second = sheet.enrolments()
    assert (first["Status"], first["Exit reason"]) == (
        "exited",
        "left Discovery and entered it again (History): a new enrolment follows",
    )
    assert (second["ID"], second["Status"]) == ("deals/D-0001/nurture/new-web-lead#2", "active")


def test_a_sequence_cannot_enrol_at_a_closed_stage():
    sheet = Sheet()
    sheet.set("Sequences", 2, "Enrol at stage", "Won")
    plan = sheet.cycle(TUESDAY)
    assert any(p.where == "Sequences!C2" and "Won is a closed stage" in p.message
               for p in plan.problems)  # fmt: skip
    assert sheet.enrolments() == []


def replies_tab(*rows: list) -> list[list]:
    from sheetpipe.core.contract import REPLIES_COLUMNS

    return [list(REPLIES_COLUMNS), *(list(r) for r in rows)]


def test_a_reply_is_matched_by_the_message_it_answers_even_from_another_address():
    sheet = Sheet()
    sheet.cycle(TUESDAY)
    sheet.cycle(datetime(2026, 3, 12, 9, 31))
    sheet.deliver()
    sheet.set("Outbox", 2, "Message-ID", "<m1@sales.example>")
    sheet.snap.tabs["Replies"] = Tab("Replies", replies_tab(
        [datetime(2026, 3, 12, 11), "boss@beta.example", "Re: demo", "reply", "Let us talk",
         "<r1@beta.example>", "<m0@x> <m1@sales.example>", "", "INBOX 1", 1, ""],
        [datetime(2026, 3, 12, 11), "stranger@else.example", "Hello", "reply", "Who?",
         "<r2@else.example>", "", "", "INBOX 1", 2, ""]))  # fmt: skip
    sheet.cycle(datetime(2026, 3, 12, 12))
    [enrolled] = sheet.enrolments()
    assert (enrolled["Status"], enrolled["Exit reason"]) == (
        "exited", 'replied 2026-03-12: "Let us talk"')  # fmt: skip
    assert column(sheet.snap, "Replies", "Acted") == [
        "deals/D-0001/nurture/new-web-lead#1 ended; a task for Ana; moved to Qualification",
        "no active enrolment matches it"]  # fmt: skip
    assert column(sheet.snap, "Deals", "Stage") == ["Qualification"]
    sheet.cycle(datetime(2026, 3, 12, 13))  # acted on once
    assert len([t for t in column(sheet.snap, "Tasks", "Kind") if t == "reply"]) == 1


def test_a_deleted_status_column_in_enrolments_is_put_back_and_nothing_is_lost():
    sheet = Sheet()
    sheet.cycle(TUESDAY)
    tab = sheet.snap.find("Enrolments")
    at = tab.header.index("Status")
    for row in tab.rows:
        del row[at]
    sheet.cycle(datetime(2026, 3, 12, 9, 31))  # no crash; the column comes back
    assert "Status" in sheet.snap.find("Enrolments").header
    sheet.cycle(datetime(2026, 3, 12, 9, 40))
    assert len(sheet.nurture_mail()) == 1
    assert sheet.enrolments()[0]["Step"] == 1


def test_a_reply_while_its_sequence_is_held_waits_and_then_ends_it():
    """A lead who answers while a manager's typo holds the sequence is never mailed the
    next step once the typo is fixed: the reply waits and is acted on then."""
    sheet = Sheet()
    sheet.cycle(TUESDAY)
    sheet.cycle(datetime(2026, 3, 12, 9, 31))
    sheet.deliver()
    sheet.set("Sequences", 2, "On reply", "call them")  # held from now on
    sheet.snap.tabs["Replies"] = Tab("Replies", replies_tab(
        [datetime(2026, 3, 12, 11), "cara@beta.example", "Re: demo", "reply", "Tuesday?",
         "<r1@beta.example>", "", "", "INBOX 1", 1, ""]))  # fmt: skip
    sheet.cycle(datetime(2026, 3, 12, 12))
    assert column(sheet.snap, "Replies", "Acted") == [""]
    sheet.set("Sequences", 2, "On reply", "task")
    sheet.cycle(datetime(2026, 3, 16, 10))  # step 2 due, the typo fixed
    assert sheet.enrolments()[0]["Status"] == "exited"
    assert len(sheet.nurture_mail()) == 1
