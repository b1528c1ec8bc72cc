"""The engine through plan_cycle: what a salesperson sees in the owned columns and tabs."""

from datetime import UTC, date, datetime, timedelta

import pytest

from sheetpipe.core.contract import TASKS_COLUMNS
from sheetpipe.core.cycle import plan_cycle
from sheetpipe.core.sheet.apply import apply_changes
from sheetpipe.model import ListDropdown, Tab

from .helpers import NAMES, NOW, column, record
from .helpers import plan as plan_with
from .helpers import snapshot as snapshot_with

TODAY = NOW.date()
# The template's stages, but Contact has no minimum score, so that tests of other signs
# see only the sign they test.
STAGES = [
    ["Deals", "Discovery", 1, "", 7, "10%", "Research the company (+1d)", "No", ""],
    ["Deals", "Contact", 2, "", 14, "50%", "", "No", ""],
    [
        "Deals",
        "Proposal",
        3,
        60,
        10,
        "75%",
        "Send the proposal (+1d)\nFollow up on the proposal (+5d)",
        "No",
        "",
    ],
    ["Deals", "Won", 4, "", "", "100%", "", "No", "won"],
    ["Deals", "Lost", 5, "", "", "0%", "", "No", "lost"],
    ["Customers", "Onboarding", 1, "", 14, "", "", "No", ""],
    ["Customers", "Adoption", 2, "", 60, "", "", "No", ""],
]


def plan(now=NOW, **kwargs):
    kwargs.setdefault("stages", STAGES)
    return plan_with(now, **kwargs)


def snapshot(**kwargs):
    kwargs.setdefault("stages", STAGES)
    return snapshot_with(**kwargs)


def ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


def hist(deal_id, deal, to, days, frm="", pipeline="Deals"):
    return [ago(days), deal_id, deal, pipeline, frm, to, "Ana"]


def deal(**cells):
    base = {"Deal": "Acme", "Stage": "Contact", "ID": "D-0001", "Last contact": TODAY}
    return {**base, **cells}


def health(**kwargs):
    result = plan(**kwargs)
    desired = result.pipelines[0].desired
    return list(zip(desired["Health"], desired["Why"], strict=True))


# ---- health: each dead-lead sign is a rule with its threshold in Settings or Stages ----


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        ({"Target": "No"}, "not the target audience (Target is No)"),
        ({"Budget": "No"}, "no budget"),
        ({"Budget": 0}, "no budget"),
        ({"Lost reason": "Chose HubSpot"}, "explicit no: Chose HubSpot"),
        ({"Last contact": TODAY - timedelta(days=31)}, "no contact for 31 days (dead after 30)"),
    ],
)
def test_dead_signs(cells, reason):
    got = health(deals=[deal(**cells)], history=[hist("D-0001", "Acme", "Contact", 3)])
    assert got == [("Dead", reason)]


def test_too_long_in_stage_goes_at_risk_then_stalled_then_dead():
    # Contact: Max days 14, At risk from 75 % (10.5 days), Dead after 2 × 14.
    expected = {
        10: ("OK", ""),
        11: ("At risk", "11 days in Contact (limit 14)"),
        15: ("Stalled", "15 days in Contact (limit 14)"),
        29: ("Dead", "29 days in Contact (dead after 28)"),
    }
    for days, want in expected.items():
        got = health(deals=[deal()], history=[hist("D-0001", "Acme", "Contact", days)])
        assert got == [want], days


def test_limits_come_from_settings():
    got = health(
        deals=[deal()],
        history=[hist("D-0001", "Acme", "Contact", 15)],
        settings={"Dead after times max days": 1},
    )
    assert got == [("Dead", "15 days in Contact (dead after 14)")]


def test_no_contact_stalls_then_kills():
    rows = [hist("D-0001", "Acme", "Contact", 2)]
    quiet = deal(**{"Last contact": TODAY - timedelta(days=20)})
    assert health(deals=[quiet], history=rows) == [("Stalled", "no contact for 20 days")]
    never = deal(**{"Last contact": None})
    old = [hist("D-0001", "Acme", "Discovery", 40), hist("D-0001", "Acme", "Contact", 2)]
    assert health(deals=[never], history=old) == [
        ("Dead", "no contact recorded in 40 days (dead after 30)")
    ]


def test_too_long_in_pipeline():
    rows = [hist("D-0001", "Acme", "Discovery", 200), hist("D-0001", "Acme", "Contact", 1)]
    assert health(deals=[deal()], history=rows) == [
        ("Dead", "200 days in the pipeline (dead after 180)")
    ]


def test_stuck_at_the_gatekeeper():
    rows = [hist("D-0001", "Acme", "Discovery", 25), hist("D-0001", "Acme", "Contact", 1)]
    no_dm = deal(**{"Decision maker reached": "No"})
    assert health(deals=[no_dm], history=rows) == [
        ("Dead", "stuck at the gatekeeper: no decision maker after 25 days")
    ]
    unknown = deal(**{"Decision maker reached": None})  # not asked yet is not a no
    assert health(deals=[unknown], history=rows) == [("OK", "")]


def test_stage_average_from_history_once_there_are_enough_samples():
    """Five finished 3-day stays in Contact: 7 days is over 2× that average."""
    rows = []
    for n in range(2, 7):
        rows += [hist(f"D-{n:04d}", "x", "Contact", 20), hist(f"D-{n:04d}", "x", "Proposal", 17)]
    rows.append(hist("D-0001", "Acme", "Contact", 7))
    assert health(deals=[deal()], history=rows) == [
        ("Stalled", "7 days in Contact, over 2× its average of 3 days")
    ]
    assert health(deals=[deal()], history=rows[2:]) == [("OK", "")]  # four samples: not yet


def test_expected_close_passed_and_score_below_stage_minimum():
    late = deal(**{"Expected close": TODAY - timedelta(days=3), "Stage": "Proposal"})
    got = health(deals=[late], history=[hist("D-0001", "Acme", "Proposal", 1)], weights=[])
    assert got == [
        ("At risk", "expected close 2026-03-07 has passed; score 0 is below the 60 Proposal needs")
    ]


def test_hot_needs_sql_and_nothing_wrong():
    hot = deal(Source="Referral")
    weights = [["Source", "is", "Referral", 65, "", ""]]
    rows = [hist("D-0001", "Acme", "Contact", 1)]
    assert health(deals=[hot], weights=weights, history=rows) == [("Hot", "score 65 (SQL from 60)")]
    quiet = deal(Source="Referral", **{"Last contact": TODAY - timedelta(days=20)})
    assert health(deals=[quiet], weights=weights, history=rows)[0][0] == "Stalled"


def test_every_reason_is_listed_worst_first():
    many = deal(Budget="No", **{"Last contact": TODAY - timedelta(days=20)})
    got = health(deals=[many], history=[hist("D-0001", "Acme", "Contact", 15)])
    assert got == [("Dead", "no budget; 15 days in Contact (limit 14); no contact for 20 days")]


def test_closed_stages_are_won_or_lost_whatever_else():
    rows = [hist("D-0001", "Acme", "Won", 90), hist("D-0002", "Beta", "Lost", 90)]
    deals = [deal(Stage="Won"), deal(Stage="Lost", Deal="Beta", ID="D-0002", Budget="No")]
    assert health(deals=deals, history=rows) == [("Won", ""), ("Lost", "")]


# ---- stage tracking from History ----


def test_first_sight_and_stage_change_append_history():
    result = plan(
        deals=[deal(ID=None, Stage="Discovery"), deal(Deal="Beta", ID="D-0007", Stage="Proposal")],
        history=[hist("D-0007", "Beta", "Contact", 5)],
    )
    history = [row for _, _, rows in result.changes.appends for row in rows if row[1] != ""]
    when, by = NOW, "sheetpipe"
    assert [r for r in history if isinstance(r[0], datetime) and r[8] == by] == [
        [when, "D-0008", "Acme", "Deals", "", "Discovery", None, None, by],
        [when, "D-0007", "Beta", "Deals", "Contact", "Proposal", None, None, by],
    ]
    desired = result.pipelines[0].desired
    assert list(desired["In stage since"].dt.date) == [TODAY, TODAY]
    assert list(desired["Days in stage"]) == [0, 0]


def test_history_of_another_pipeline_does_not_count_in_this_one():
    """A deal handed over from Deals to Customers starts afresh there."""
    rows = [
        hist("D-0001", "Acme", "Contact", 40),
        hist("D-0001", "Acme", "Won", 20, frm="Contact"),
        ["not a date", "D-0001", "Acme", "Customers", "", "Adoption", "Ana"],
    ]
    handed_over = deal(Stage="Onboarding", **{"From deal": "D-0001"})
    result = plan(deals=[deal(Stage="Won")], customers=[handed_over], history=rows)
    deals, customers = (p.desired for p in result.pipelines)
    assert list(deals["Days in stage"]) == [20]
    assert list(customers["Days in stage"]) == [0]
    history = [row for _, _, rows in result.changes.appends for row in rows if row[1] != ""]
    assert [[*r[1:6], r[8]] for r in history if str(r[8]).startswith("sheetpipe")] == [
        ["D-0001", "Acme", "Customers", "", "Onboarding", "sheetpipe (from D-0001)"]
    ]
    assert any(p.where == "History!A4" and "not a date" in p.message for p in result.problems)


def test_rows_with_the_same_time_count_in_sheet_order():
    """A fix-up typed with the same time as the row before it is the later row."""
    rows = [hist("D-0001", "Acme", "Contact", 4), hist("D-0001", "Acme", "Proposal", 4)]
    rows += [hist("D-0002", "Beta", "Proposal", 4), hist("D-0002", "Beta", "Contact", 4)]
    deals = [deal(Stage="Proposal"), deal(ID="D-0002", Deal="Beta", Stage="Contact")]
    result = plan(deals=deals, history=rows)
    appended = [r for _, _, rows in result.changes.appends for r in rows if r[8] == "sheetpipe"]
    assert appended == []
    assert list(result.pipelines[0].desired["Days in stage"]) == [4, 4]


def test_stage_entries_are_counted_per_deal_and_stage():
    """The n-th entry into a stage names its tasks; other deals' entries do not count."""
    rows = [
        hist("D-0001", "Acme", "Proposal", 30),
        hist("D-0001", "Acme", "Contact", 20, frm="Proposal"),
        hist("D-0002", "Beta", "Proposal", 25),
        hist("D-0002", "Beta", "Contact", 22, frm="Proposal"),
        hist("D-0001", "Acme", "Proposal", 10, frm="Contact"),
    ]
    result = plan(
        deals=[deal(Stage="Proposal"), deal(ID="D-0002", Deal="Beta", Stage="Proposal")],
        history=rows,
    )
    ids = sorted({t["id"].rsplit("/", 1)[0] for t in tasks_of(result)})
    assert ids == ["deals/D-0001/proposal#2", "deals/D-0002/proposal#2"]
    assert list(result.pipelines[0].desired["Days in stage"]) == [10, 0]


def test_in_stage_since_follows_a_corrected_history_date():
    rows = [hist("D-0001", "Acme", "Contact", 6)]
    desired = plan(deals=[deal()], history=rows).pipelines[0].desired
    assert (desired["In stage since"].iloc[0].date(), desired["Days in stage"].iloc[0]) == (
        TODAY - timedelta(days=6), 6,
    )  # fmt: skip
    rows[0][0] = "2026-03-01 08:00"  # a manager types a corrected date as text
    desired = plan(deals=[deal()], history=rows).pipelines[0].desired
    assert desired["Days in stage"].iloc[0] == 9


@pytest.mark.parametrize(("order", "days"), [("MDY", 9), ("DMY", 66)])
def test_a_history_date_typed_as_text_reads_in_the_sheets_date_order(order, days):
    rows = [hist("D-0001", "Acme", "Contact", 6)]
    rows[0][0] = "03/01/2026 08:00"  # 1 March (MDY) or 3 January (DMY)
    settings = {"Date order": order}
    desired = plan(deals=[deal()], history=rows, settings=settings).pipelines[0].desired
    assert desired["Days in stage"].iloc[0] == days


def test_days_are_counted_in_the_sheets_timezone():
    late_utc = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)  # already the 11th in Tokyo
    rows = [hist("D-0001", "Acme", "Contact", 1)]
    rows[0][0] = datetime(2026, 3, 9, 12, 0)
    utc = plan(late_utc, deals=[deal()], history=rows).pipelines[0].desired
    tokyo = (
        plan(late_utc, deals=[deal()], history=rows, settings={"Timezone": "Asia/Tokyo"})
        .pipelines[0]
        .desired
    )
    assert (utc["Days in stage"].iloc[0], tokyo["Days in stage"].iloc[0]) == (1, 2)


# ---- tasks ----


def tasks_of(result):
    tab = NAMES.tasks
    rows = [r for name, _, rows in result.changes.appends if name == tab for r in rows]
    keys = {"Task ID": "id", "Deal ID": "deal_id"}
    names = [keys.get(c, c.lower()) for c in TASKS_COLUMNS]  # a new Tasks tab's order
    return [dict(zip(names, r, strict=True)) for r in rows]


def test_playbook_tasks_when_a_deal_enters_a_stage_with_due_offsets():
    result = plan(
        deals=[deal(Owner="Ana", Stage="Proposal")], history=[hist("D-0001", "Acme", "Contact", 3)]
    )
    got = [(t["id"], t["task"], t["due"], t["owner"], t["kind"]) for t in tasks_of(result)]
    assert got == [
        ("deals/D-0001/proposal#1/playbook-1", "Send the proposal", TODAY + timedelta(days=1), "Ana", "playbook"),
        ("deals/D-0001/proposal#1/playbook-2", "Follow up on the proposal", TODAY + timedelta(days=5), "Ana", "playbook"),
    ]  # fmt: skip


def test_alert_tasks_for_stalled_dead_and_hot():
    deals = [
        deal(ID="D-0001", Stage="Won"),
        deal(
            ID="D-0002", Deal="Quiet", Stage="Won", **{"Last contact": TODAY - timedelta(days=20)}
        ),
        deal(ID="D-0003", Deal="Broke", Stage="Won", Budget="No"),
    ]
    for d in deals:
        d["Stage"] = "Contact"
    deals[0]["Source"] = "Referral"
    rows = [hist(f"D-000{n}", "x", "Contact", 2) for n in (1, 2, 3)]
    result = plan(deals=deals, history=rows, weights=[["Source", "is", "Referral", 70, "", ""]])
    alerts = {
        t["deal_id"]: (t["kind"], t["task"]) for t in tasks_of(result) if t["kind"] != "playbook"
    }
    assert alerts == {
        "D-0001": ("hot", "Call now: score 70 (SQL from 60)."),
        "D-0002": ("stalled", "Deal stalled: no contact for 20 days. Get it moving or update its stage."),
        "D-0003": ("dead", "Close it or move it to nurture: no budget."),
    }  # fmt: skip


def test_tasks_are_not_added_twice_and_reentry_gets_fresh_ones():
    first = snapshot(deals=[deal(Stage="Proposal")], history=[hist("D-0001", "Acme", "Contact", 3)])
    plan1 = plan_cycle(first, NAMES, NOW)
    assert len(tasks_of(plan1)) == 2
    after = apply_changes(first, plan1.changes)
    assert tasks_of(plan_cycle(after, NAMES, NOW + timedelta(hours=1))) == []
    # Back to Contact, then into Proposal again: a second entry, fresh playbook tasks.
    after.find("Deals").rows[1][1] = "Contact"
    back = apply_changes(after, plan_cycle(after, NAMES, NOW + timedelta(days=1)).changes)
    back.find("Deals").rows[1][1] = "Proposal"
    again = plan_cycle(back, NAMES, NOW + timedelta(days=2))
    assert [t["id"] for t in tasks_of(again) if t["kind"] == "playbook"] == [
        "deals/D-0001/proposal#2/playbook-1", "deals/D-0001/proposal#2/playbook-2",
    ]  # fmt: skip


# ---- IDs ----


def test_empty_ids_are_filled_and_never_reuse_an_id_from_history():
    result = plan(
        deals=[deal(ID=None), deal(ID="D-0003", Deal="Beta")],
        history=[hist("D-0009", "Deleted deal", "Contact", 50)],
    )
    assert list(result.pipelines[0].desired["ID"]) == ["D-0010", "D-0003"]


def test_a_copied_row_gets_a_new_id_and_a_problem_note():
    result = plan(
        deals=[deal(Deal="Copy of Acme"), deal(Deal="Acme"), deal(ID="D-0002", Deal="Beta")],
        history=[hist("D-0001", "Acme", "Contact", 3)],
    )
    assert list(result.pipelines[0].desired["ID"]) == ["D-0003", "D-0001", "D-0002"]
    assert [str(p) for p in result.problems] == [
        "Deals!Q2: ID D-0001 is also on row 3 (a copied row?); this row got the new ID D-0003."
    ]


# ---- bad input never stops the pipeline ----


@pytest.mark.parametrize(
    ("order", "example"), [("DMY", "26/11/2026"), ("MDY", "11/26/2026"), ("YMD", "2026/11/26")]
)
def test_an_unreadable_date_is_a_warning_with_an_example_in_the_sheets_date_order(order, example):
    """Last contact, Expected close and any column a days rule reads; other columns'
    text is not a date question."""
    weights = [["Signed", "within days", "7", 5, "", ""]]
    row = deal(**{"Last contact": "last Tuesday", "Expected close": "soon", "Signed": "tbd",
                  "Notes": "later"})  # fmt: skip
    result = plan(deals=[row], weights=weights, settings={"Date order": order})
    dated = {
        p.where: (p.message, p.level) for p in result.problems if "counts as empty" in p.message
    }
    assert len(dated) == 3 and all(level == "warning" for _, level in dated.values())
    fix = f"is not a date; type it like 2026-11-26 or {example} (Date order {order})"
    assert sorted(dated.values()) == sorted(
        (f'"{v}" {fix}. Until then it counts as empty.', "warning")
        for v in ("last Tuesday", "soon", "tbd")
    )
    assert not any("later" in message for message, _ in dated.values())


def test_a_real_date_beyond_what_a_sheet_holds_says_to_correct_the_year():
    result = plan(deals=[deal(**{"Last contact": date(1850, 5, 1)})])
    (problem,) = [p for p in result.problems if "counts as empty" in p.message]
    assert problem.message == (
        '"1850-05-01" is outside the years 1900–2199 (a typo?); correct the year. '
        "Until then it counts as empty."
    )


def test_a_deal_without_a_name_is_a_warning_at_its_deal_cell_and_still_runs():
    result = plan(
        deals=[
            deal(ID="D-0001", Deal=None),  # a Stage but no name
            deal(ID="D-0002", Deal=None, Stage=None, Owner="Ana"),  # neither: not a deal yet
            deal(ID="D-0003", Deal="Gamma"),
        ]
    )
    nameless = [p for p in result.problems if "no name" in p.message]
    assert [(p.where, p.message, p.level) for p in nameless] == [
        ("Deals!A2", "the deal has no name; fill in Deal.", "warning")
    ]
    assert list(result.pipelines[0].desired.index) == [2, 4], "planned: it has a Stage"


def test_unknown_and_missing_stages_are_reported_and_the_rest_runs():
    result = plan(
        deals=[
            deal(Stage="Propsal"),
            deal(ID="D-0002", Deal="Beta", Stage=None),
            deal(ID="D-0003", Deal="Gamma"),
        ],
        history=[hist("D-0003", "Gamma", "Contact", 1)],
    )
    messages = [str(p) for p in result.problems]
    assert (
        messages[0]
        == "Deals!B3: the deal has no Stage; pick one from the list. The row is skipped until then."
    )
    assert messages[1].startswith(
        'Deals!B2: stage "Propsal" is not a Deals stage in Stages (Discovery, '
    )
    desired = result.pipelines[0].desired
    assert list(desired.index) == [2, 4]
    assert desired.loc[4, "Health"] == "OK"
    assert desired.loc[2, "Why"] == 'stage "Propsal" is not in Stages'
    assert list(desired["Deal"]) == ["Acme", "Gamma"], "a deal in an unknown stage keeps its name"


def test_settings_and_stages_problems_name_their_cells():
    result = plan(
        deals=[deal()],
        settings={"MQL threshold": "thirty", "Timezone": "Mars/Olympus", "Colour": "red"},
        stages=[
            ["Deals", "Contact", 1, "", 14, "", "", "", ""],
            ["Deals", "contact ", 2, "", 5, "", "", "", ""],
            ["Deals", "Proposal", 3, "", "ten", "", "", "", ""],
            ["Deals", "Won", 4, "", "", "", "", "", "maybe"],
        ],
    )
    messages = {str(p) for p in result.problems}
    assert 'Settings!B2: MQL threshold "thirty" is not a number; using 30.' in messages
    assert any(
        m.startswith('Settings!B15: Timezone "Mars/Olympus" is not a known time zone')
        for m in messages
    )
    assert any(
        m.startswith('Settings!A32: "Colour" is not a setting sheetpipe knows') for m in messages
    )
    assert any(
        m.startswith('Stages!B3: stage "contact" is already defined on row 2') for m in messages
    )
    assert (
        'Stages!E4: Max days "ten" must be a number of days from 1 to 3650; it is left empty.'
    ) in messages
    assert (
        'Stages!I5: Closed "maybe" must be won, lost or empty; the stage is treated as open.'
    ) in messages
    assert "Stages tab: Customers has 0 open stages; a clean pipeline has 2 to 6." in messages


def test_a_pipeline_without_required_columns_is_skipped_not_fatal():
    snap = snapshot(deals=[deal()])
    snap.find("Customers").rows = [["Name", "Phase"], ["x", "y"]]
    result = plan_cycle(snap, NAMES, NOW)
    assert [p.name for p in result.pipelines] == ["Deals"]
    assert (
        "Customers tab: the header row has no Deal or Stage column; this pipeline is skipped. "
        "Add the column to row 1."
    ) in [str(p) for p in result.problems]


# ---- the plan and the sheet ----


def test_owned_columns_are_added_at_the_right_end_and_filled():
    snap = snapshot(deals=[{"Deal": "Acme", "Stage": "Discovery"}])
    result = plan_cycle(snap, NAMES, NOW)
    width = len(snap.find("Deals").header)
    assert [(c, h) for t, c, h in result.changes.new_columns if t == "Deals"] == [
        (width + 1, "ID"), (width + 2, "Score"), (width + 3, "Lead status"), (width + 4, "Health"),
        (width + 5, "Why"), (width + 6, "In stage since"), (width + 7, "Days in stage"),
    ]  # fmt: skip
    after = apply_changes(snap, result.changes)
    assert record(after, "Deals", 2)["Health"] == "OK"
    assert record(after, "Deals", 2)["In stage since"] == TODAY


def test_a_second_plan_after_applying_is_empty():
    snap = snapshot(deals=[deal(ID=None), deal(Deal="B", ID=None, Stage="Proposal", Budget="No")])
    first = plan_cycle(snap, NAMES, NOW)
    assert first.changes.has_sheet_changes()
    after = apply_changes(snap, first.changes)
    second = plan_cycle(after, NAMES, NOW + timedelta(minutes=5))
    assert not second.changes.has_sheet_changes()


def test_auto_advance_moves_a_deal_on_when_its_score_allows():
    stages = [
        ["Deals", "Discovery", 1, "", 7, "", "", "Yes", ""],
        ["Deals", "Qualification", 2, 20, 10, "", "", "No", ""],
        ["Deals", "Won", 3, "", "", "", "", "", "won"],
    ]
    result = plan(
        deals=[deal(Stage="Discovery", Source="Referral"), deal(ID="D-0002", Stage="Discovery")],
        weights=[["Source", "is", "Referral", 25, "", ""]],
        stages=stages,
        history=[hist("D-0001", "Acme", "Discovery", 2), hist("D-0002", "Acme", "Discovery", 2)],
    )
    stage_writes = [(w.rows, w.values) for w in result.changes.writes if w.name == "Stage"]
    assert stage_writes == [([2], ["Qualification"])]
    history = [r for t, _, rows in result.changes.appends if t == "History" for r in rows]
    assert history == [
        [
            NOW,
            "D-0001",
            "Acme",
            "Deals",
            "Discovery",
            "Qualification",
            None,
            None,
            "sheetpipe (auto advance)",
        ]
    ]


def test_renamed_columns_and_tabs_from_config():
    from sheetpipe.core.contract import Names

    names = Names(
        pipelines=("Pipeline",), columns={"Deal": "Opportunity", "Last contact": "Last touch"}
    )
    snap = snapshot_with(
        stages=[
            ["Pipeline", "Discovery", 1, "", 7, "", "", "", ""],
            ["Pipeline", "Won", 2, "", "", "", "", "", "won"],
        ]
    )
    deals_tab = snap.tabs.pop("Deals")
    deals_tab.name = "Pipeline"
    deals_tab.rows = [
        ["Opportunity", "Stage", "Last touch"],
        ["Acme", "Discovery", TODAY - timedelta(days=20)],
    ]
    snap.tabs["Pipeline"] = deals_tab
    result = plan_cycle(snap, names, NOW)
    assert result.pipelines[0].desired["Why"].tolist() == ["no contact for 20 days"]
    after = apply_changes(snap, result.changes)
    assert column(after, "History", "Deal") == ["Acme"]
    assert column(after, "History", "Pipeline") == ["Pipeline"]


def test_in_stage_since_is_a_date():
    result = plan(deals=[deal()], history=[hist("D-0001", "Acme", "Contact", 3)])
    write = next(w for w in result.changes.writes if w.name == "In stage since")
    assert write.values == [date(2026, 3, 7)]


def test_every_setting_has_a_spec_and_the_template_lists_each_at_its_default():
    from sheetpipe.core.inputs.settings import SPECS, Settings, template_rows

    attrs = {f for f in Settings.__dataclass_fields__ if f != "problems"}
    assert {spec.attr for spec in SPECS} == attrs
    assert template_rows()[1:] == [[s.name, getattr(Settings(), s.attr), s.notes] for s in SPECS]


def test_a_row_without_stage_does_not_shift_the_cells_the_rules_read():
    weights = [
        ["Industry", "is", "Software", 20, "", ""],
        ["Budget", "is yes", "", 10, "", ""],
        ["Value", ">=", 1000, 5, "", ""],
    ]
    rich = deal(ID="D-0001", Deal="Rich", Stage=None, Industry="Software", Budget="Yes", Value=5000)
    poor = deal(ID="D-0002", Deal="Poor", Industry="Retail", Budget="No", Value=10)
    other = deal(ID="D-0003", Deal="Other", Industry="software", Budget="y", Value=999)
    desired = plan(deals=[rich, poor, other], weights=weights).pipelines[0].desired
    assert list(desired.index) == [3, 4]
    assert list(desired["Score"]) == [0, 30]


def test_a_lists_tab_a_person_made_is_never_written_to():
    snap = snapshot(deals=[deal()])
    snap.tabs["Lists"] = Tab("Lists", [["Industries", "Sources"], ["Software", "Web"]])
    result = plan_cycle(snap, NAMES, NOW)
    assert not [w for w in result.changes.writes if w.tab == "Lists"]
    assert not [f for tab, f in result.changes.formats if isinstance(f, ListDropdown)]
    assert (
        'Lists tab: the tab holds columns sheetpipe does not own ("Industries", "Sources"), so '
        "it is left alone and the Stage and Done dropdowns are not updated. Rename your tab, "
        'or give sheetpipe another one in sheetpipe.toml: [tabs] lists = "Stage lists".'
    ) in {str(p) for p in result.problems}


def test_the_lists_tab_follows_stages_cell_by_cell():
    first = plan_cycle(snapshot(deals=[deal()]), NAMES, NOW)
    (name, grid), *_ = [t for t in first.changes.new_tabs if t[0] == "Lists"]
    assert [row[0] for row in grid] == ["Deals stage", *[s[1] for s in STAGES[:5]]]
    assert [row[2] for row in grid][:3] == ["Task done", "Yes", "No"]
    snap = snapshot(deals=[deal()], stages=STAGES[1:])  # Discovery gone
    snap.tabs["Lists"] = Tab("Lists", grid)
    again = plan_cycle(snap, NAMES, NOW)
    (write,) = [w for w in again.changes.writes if w.tab == "Lists"]
    assert (write.col, write.rows) == (1, [2, 3, 4, 5, 6])
    assert write.values == ["Contact", "Proposal", "Won", "Lost", None]


def test_cells_beyond_the_lists_are_cleared():
    first = plan_cycle(snapshot(deals=[deal()]), NAMES, NOW)
    (grid,) = [rows for name, rows in first.changes.new_tabs if name == "Lists"]
    # An unnamed fourth column and a row below the lists: what an older cycle left.
    stale = [[*grid[0], None]] + [[*row, "old"] for row in grid[1:]] + [["Gone", None, None, "old"]]
    snap = snapshot(deals=[deal()])
    snap.tabs["Lists"] = Tab("Lists", stale)
    writes = {
        (w.col, w.name): dict(zip(w.rows, w.values, strict=True))
        for w in plan_cycle(snap, NAMES, NOW).changes.writes
        if w.tab == "Lists"
    }
    height = len(grid)
    assert writes == {
        (1, "Deals stage"): {height + 1: None},
        (4, ""): {row: None for row in range(2, height + 2)},
    }


def test_a_lists_tab_with_a_stage_list_of_a_persons_own_is_left_alone():
    snap = snapshot(deals=[deal()])
    snap.tabs["Lists"] = Tab("Lists", [["Deals stage", "Deal stage"], ["Contact", "Mine"]])
    result = plan_cycle(snap, NAMES, NOW)
    assert not [w for w in result.changes.writes if w.tab == "Lists"]
    assert any('("Deal stage")' in p.message for p in result.problems)


SCORED = [["Source", "is", "Referral", 50, "", ""]]  # 50: over Contact's bar (40), not Hot


@pytest.mark.parametrize(
    ("days", "want"),
    [(10, "OK"), (11, "At risk"), (14, "At risk"), (15, "Stalled"), (28, "Stalled"), (29, "Dead")],
)
def test_days_in_stage_at_each_limit_of_contact(days, want):
    """Contact: Max days 14, At risk from 75 % of it (10.5), Dead after 2 × 14 = 28."""
    got = health(
        deals=[deal(Source="Referral")],
        history=[hist("D-0001", "Acme", "Contact", days)],
        weights=SCORED,
    )
    assert got[0][0] == want, got


@pytest.mark.parametrize(("budget", "want"), [(0, "Dead"), (1, "OK"), ("No", "Dead"), ("", "OK")])
def test_a_budget_of_zero_or_no_is_no_budget(budget, want):
    got = health(
        deals=[deal(Source="Referral", Budget=budget)],
        history=[hist("D-0001", "Acme", "Contact", 1)],
        weights=SCORED,
    )
    assert got[0][0] == want and (("no budget" in got[0][1]) == (want == "Dead")), got


@pytest.mark.parametrize(("days", "want"), [(6, "OK"), (7, "At risk")])
def test_at_risk_from_exactly_its_share_of_max_days(days, want):
    got = health(
        deals=[deal(Source="Referral")],
        history=[hist("D-0001", "Acme", "Contact", days)],
        weights=SCORED,
        settings={"At risk at share of max days": 0.5},  # 7 of Contact's 14 days
    )
    assert got[0][0] == want, got


def test_each_written_row_carries_what_the_guard_must_find_there_still():
    """The Google backend re-reads ID and Deal of every row it writes to; the plan says
    what they held when read, for exactly the rows it writes (a new ID is not yet there)."""
    deals = [deal(), deal(ID=None, Deal="Beta"), deal(ID="D-0003", Deal="Gamma")]
    snap = snapshot_with(deals=deals, history=[hist("D-0001", "Acme", "Contact", 1),
                                               hist("D-0003", "Gamma", "Contact", 1)])  # fmt: skip
    first = plan_cycle(snap, NAMES, NOW)
    touched = {r for w in first.changes.writes if w.tab == "Deals" for r in w.rows}
    assert first.changes.expect["Deals"] == {
        row: {2: ("D-0001", "Acme"), 3: ("", "Beta"), 4: ("D-0003", "Gamma")}[row]
        for row in touched
    }
    header = snap.find("Deals").header
    assert first.changes.expect_cols["Deals"] == (header.index("ID") + 1, 1)
    synced = apply_changes(snap, first.changes)
    assert plan_cycle(synced, NAMES, NOW).changes.expect == {}, "nothing written: nothing expected"


def rep_views_asked(snap) -> list[tuple[str, object]]:
    """(tab, RepViews) of each rep-view format the plan asks for."""
    from sheetpipe.model import RepViews

    formats = plan_cycle(snap, NAMES, NOW).changes.formats
    return [(tab, spec) for tab, spec in formats if isinstance(spec, RepViews)]


def test_rep_views_are_asked_for_only_where_the_backend_has_them_and_there_is_a_rep():
    from sheetpipe.model import RepViews

    with_rep = snapshot_with(deals=[deal(Owner="Ana", Source="Referral")])
    assert rep_views_asked(with_rep) == [], "a workbook has no filter views"
    with_rep.filter_views = True
    assert rep_views_asked(with_rep) == [("Today", RepViews(1, frozenset({"Ana"})))]
    nobody = snapshot_with(deals=[])
    nobody.filter_views = True
    assert rep_views_asked(nobody) == [], "no rep and no view: nothing to do"


def test_every_tab_a_cycle_reads_is_named_once_pipelines_first():
    from sheetpipe.core.contract import Names

    names = Names(pipelines=("Deals", "Tasks"), today="Team")  # a config that reuses names
    assert names.all_tabs() == (
        "Deals", "Tasks", "Weights", "Stages", "Settings", "Team", "History", "Status", "Lists",
        "Review",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("pipeline", "prefix"),
    [("Deals", "D"), ("customers", "C"), ("2nd line", "N"), ("2026", "R"), ("", "R")],
)
def test_an_id_starts_with_the_first_letter_of_its_pipeline(pipeline, prefix):
    from sheetpipe.core.deals.ids import id_prefix

    assert id_prefix(pipeline) == prefix


@pytest.mark.parametrize(
    ("stage", "slug"),
    [("Proposal", "proposal"), ("  Follow-up (2nd)! ", "follow-up-2nd"), ("Call #2", "call-2")],
)
def test_a_stage_in_a_task_id_is_lower_case_words_joined_by_hyphens(stage, slug):
    from sheetpipe.core.deals.tasks import slug as make_slug

    assert make_slug(stage) == slug


def test_a_rep_view_is_asked_for_once_and_kept_while_its_reps_are_the_same():
    from sheetpipe.model import RepViews

    snap = snapshot_with(deals=[deal(Owner="Ana", Source="Referral")])
    snap.filter_views = True
    assert rep_views_asked(snap) == [("Today", RepViews(1, frozenset({"Ana"})))], "one rep, one row"
    today = apply_changes(snap, plan_cycle(snap, NAMES, NOW).changes).find("Today")
    assert snap.find("Today") is None
    snap.tabs["today"] = Tab("today", today.rows, frozenset({RepViews(1, frozenset({"Ana"}))}))
    assert rep_views_asked(snap) == [], "the view is there: nothing to ask"
    snap.tabs["today"].formats = frozenset({RepViews(1, frozenset({"Bo"}))})
    assert rep_views_asked(snap) == [("today", RepViews(1, frozenset({"Ana"})))], (
        "the tab's own name"
    )


def test_a_deal_history_has_never_seen_starts_afresh_beside_deals_it_knows():
    history = [hist("D-0001", "Acme", "Contact", 40), hist("D-0002", "Beta", "Contact", 30)]
    deals = [deal(ID="D-0001"), deal(ID="D-0002", Deal="Beta"), deal(ID="D-0003", Deal="New")]
    result = plan(deals=deals, history=history)
    assert list(result.pipelines[0].desired["Days in stage"]) == [40, 30, 0]


def test_ids_of_another_prefix_do_not_move_the_numbering():
    result = plan(deals=[deal(ID="X-0042", Deal="Typed by hand"), deal(ID=None, Deal="Beta")])
    assert list(result.pipelines[0].desired["ID"]) == ["X-0042", "D-0001"]


def test_a_repeated_id_history_does_not_know_stays_with_its_first_row():
    result = plan(deals=[deal(ID="D-0005", Deal="Acme"), deal(ID="D-0005", Deal="Beta")])
    assert list(result.pipelines[0].desired["ID"]) == ["D-0005", "D-0006"]


def test_the_tabs_and_columns_sheetpipe_owns_are_made_where_missing_and_filled_once():
    """Tasks missing, and History without its By (a person deleted the column): the plan
    makes the tab and the column, rows land under the right headers, and the next cycle
    plans nothing more."""
    from sheetpipe.core.contract import HISTORY_COLUMNS

    snap = snapshot(deals=[deal(Stage="Proposal", ID=None)])  # two playbook tasks
    del snap.tabs["Tasks"]
    history_header = [h for h in HISTORY_COLUMNS if h != "By"]
    snap.tabs["History"] = Tab("History", [[*history_header, "Notes"]])
    first = plan_cycle(snap, NAMES, NOW)
    assert ("Tasks", [list(TASKS_COLUMNS)]) in first.changes.new_tabs
    made = [c for c in first.changes.new_columns if c[0] == "History"]
    assert made == [("History", len(history_header) + 2, "By")]
    after = apply_changes(snap, first.changes)
    assert column(after, "History", "Deal") == ["Acme"]
    assert column(after, "History", "By") == ["sheetpipe"]
    assert column(after, "History", "Notes") == [None], "a person's column is left empty"
    assert set(column(after, "Tasks", "Kind")) == {"playbook"}
    assert column(after, "Tasks", "Deal ID") == ["D-0001", "D-0001"]
    again = plan_cycle(after, NAMES, NOW + timedelta(minutes=5))
    assert not again.changes.new_tabs and not again.changes.new_columns
    assert not again.changes.has_sheet_changes()


def test_without_deals_or_settings_tabs_the_rest_still_runs_and_each_is_reported():
    snap = snapshot(customers=[deal(Stage="Onboarding")])
    del snap.tabs["Deals"], snap.tabs["Settings"]
    result = plan_cycle(snap, NAMES, NOW)
    assert [p.name for p in result.pipelines] == ["Customers"]
    levels = {p.where: p.level for p in result.problems if p.where.endswith(" tab")}
    assert levels == {"Deals tab": "error", "Settings tab": "warning"}


@pytest.mark.parametrize("checkboxes", [True, False])
def test_done_is_a_checkbox_where_the_backend_has_them_and_a_dropdown_elsewhere(checkboxes):
    from sheetpipe.model import Checkbox, DueColours

    snap = snapshot(deals=[deal()])
    snap.checkboxes = checkboxes
    wanted = [s for t, s in plan_cycle(snap, NAMES, NOW).changes.formats if t == "Tasks"]
    done, due = TASKS_COLUMNS.index("Done") + 1, TASKS_COLUMNS.index("Due") + 1
    box = [s for s in wanted if isinstance(s, Checkbox | ListDropdown) and s.col == done]
    assert [type(s) for s in box] == [Checkbox if checkboxes else ListDropdown]
    assert DueColours(due, done, len(TASKS_COLUMNS)) in wanted


def _stays_in_contact(days: int) -> list[list]:
    """Five finished stays in Contact of `days` days each: enough for its average."""
    rows = []
    for n in range(2, 7):
        rows += [
            hist(f"D-{n:04d}", "x", "Contact", 30),
            hist(f"D-{n:04d}", "x", "Proposal", 30 - days),
        ]
    return rows


@pytest.mark.parametrize(
    ("average", "days", "expected"),
    [
        (3, 6, ("OK", "")),  # exactly 2× the average is not over it
        (3, 7, ("Stalled", "7 days in Contact, over 2× its average of 3 days")),
        (3, 14, ("Stalled", "14 days in Contact, over 2× its average of 3 days")),  # at max days
        (6, 12, ("At risk", "12 days in Contact (limit 14)")),  # at 2× average, past the share
    ],
)
def test_the_stage_average_rule_at_its_limits(average, days, expected):
    rows = [*_stays_in_contact(average), hist("D-0001", "Acme", "Contact", days)]
    assert health(deals=[deal()], history=rows) == [expected]


@pytest.mark.parametrize(
    ("cells", "days", "expected"),
    [
        ({}, 180, ("OK", "")),
        ({}, 181, ("Dead", "181 days in the pipeline (dead after 180)")),
        ({"Decision maker reached": "No"}, 21, ("OK", "")),
        ({"Decision maker reached": "No"}, 22,
         ("Dead", "stuck at the gatekeeper: no decision maker after 22 days")),
    ],
)  # fmt: skip
def test_days_in_the_pipeline_at_their_limits(cells, days, expected):
    rows = [hist("D-0001", "Acme", "Discovery", days), hist("D-0001", "Acme", "Contact", 1)]
    assert health(deals=[deal(**cells)], history=rows) == [expected]


def test_an_expected_close_of_today_and_a_score_at_the_minimum_are_not_at_risk():
    on_time = deal(**{"Expected close": TODAY, "Stage": "Proposal", "Value": 5})
    weights = [["Value", ">", 0, 60, "", ""]]  # Proposal needs 60
    rows = [hist("D-0001", "Acme", "Proposal", 1)]
    got = health(deals=[on_time], history=rows, weights=weights, settings={"SQL threshold": 80})
    assert got == [("OK", "")]
    late = {**on_time, "Expected close": TODAY - timedelta(days=1)}
    got = health(deals=[late], history=rows, weights=weights, settings={"SQL threshold": 80})
    assert got == [("At risk", "expected close 2026-03-09 has passed")]


def test_thirty_days_without_contact_stalls_and_a_score_at_sql_is_hot():
    rows = [hist("D-0001", "Acme", "Contact", 2)]
    quiet = deal(**{"Last contact": TODAY - timedelta(days=30)})
    assert health(deals=[quiet], history=rows) == [("Stalled", "no contact for 30 days")]
    at_sql = deal(Value=5)
    got = health(deals=[at_sql], history=rows, weights=[["Value", ">", 0, 60, "", ""]])
    assert got == [("Hot", "score 60 (SQL from 60)")]


def test_a_new_task_is_open_and_dated_when_it_was_made():
    snap = snapshot(deals=[deal(Stage="Proposal")])
    result = plan_cycle(snap, NAMES, NOW)
    ((_, _, rows),) = [a for a in result.changes.appends if a[0] == "Tasks"]
    header = snap.find("Tasks").header
    assert rows
    for row in rows:
        task = dict(zip(header, row, strict=True))
        assert task["Done"] == "No"
        assert task["Created"] == NOW


def test_an_empty_row_between_deals_gets_no_id_and_a_row_with_only_an_id_keeps_it():
    """The rows that get an ID are those holding a Deal, a Stage or an ID already: an
    empty row a person left between deals stays empty."""
    result = plan(deals=[{"Deal": "Acme", "Stage": "Contact"}, {},
                         {"ID": "D-0007"}, {"Deal": "Beta", "Stage": "Contact"}])  # fmt: skip
    [ids] = [w for w in result.changes.writes if w.tab == "Deals" and w.name == "ID"]
    assert ids.rows == [2, 5] and ids.values == ["D-0008", "D-0009"]
