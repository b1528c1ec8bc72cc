"""The mistakes managers make in Settings, Stages and Weights: each is reported with its
cell and what to do, never used, and never stops the rest of the pipeline."""

from datetime import date, timedelta

import pytest

from sheetpipe.core.cycle import plan_cycle
from sheetpipe.core.inputs.settings import SPECS, parse_settings
from sheetpipe.core.sheet.table import read_table
from sheetpipe.model import Tab

from .helpers import NAMES, NOW
from .test_engine import STAGES, deal, hist, plan, snapshot

TODAY = NOW.date()


def messages(result) -> set[str]:
    return {str(p) for p in result.problems}


def levels(result) -> dict[str, str]:
    return {str(p): p.level for p in result.problems}


def settings_of(rows: list[list]):
    return parse_settings(read_table(Tab("Settings", [["Setting", "Value", "Notes"], *rows])))


def desired(result, column: str) -> list:
    return list(result.pipelines[0].desired[column])


# ---- Settings: each value in a range that makes sense, or the default ----------------


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("Dead after times max days", 0, "must be a number from 1 to 100"),
        ("Dead after times max days", 0.99, "must be a number from 1 to 100"),
        ("Status heartbeat minutes", 0, "must be a number from 1 to 10080"),
        ("Status heartbeat minutes", 10081, "must be a number from 1 to 10080"),
        ("At risk at share of max days", 5, "must be a number above 0 to 1"),
        ("At risk at share of max days", 0, "must be a number above 0 to 1"),
        ("Stalled after days without contact", 0, "must be a number above 0 to 3650"),
        ("Stalled after days without contact", -3, "must be a number above 0 to 3650"),
        ("Dead after days without contact", 3651, "must be a number above 0 to 3650"),
        ("Min samples for stage average", 2.5, "must be a whole number from 1 to 1e+06"),
        ("Stalled after times stage average", 0.5, "must be a number from 1 to 100"),
        ("Dead after days in pipeline", 0, "must be a number above 0 to 36500"),
        ("Dead after days without decision maker", 0, "must be a number above 0 to 3650"),
    ],
)
def test_an_out_of_range_setting_is_reported_and_the_default_used(name, value, message):
    spec = next(s for s in SPECS if s.name == name)
    settings = settings_of([[name, value, ""]])
    assert getattr(settings, spec.attr) == spec.default
    assert [(str(p), p.level) for p in settings.problems] == [
        (f"Settings!B2: {name} {value:g} {message}; using {spec.default}.", "error")
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Dead after times max days", 1), ("Dead after times max days", 100),
        ("Status heartbeat minutes", 1), ("Status heartbeat minutes", 10080),
        ("At risk at share of max days", 1), ("At risk at share of max days", 0.01),
        ("Stalled after days without contact", 3650), ("Min samples for stage average", 1),
        ("Stalled after times stage average", 1), ("Score min", -20), ("Score max", 1000),
    ],
)  # fmt: skip
def test_a_setting_at_the_edge_of_its_range_is_used(name, value):
    spec = next(s for s in SPECS if s.name == name)
    settings = settings_of([[name, value, ""]])
    assert getattr(settings, spec.attr) == value
    assert [p for p in settings.problems if p.level == "error"] == []


def test_a_threshold_outside_the_scores_is_reported_and_the_default_used():
    settings = settings_of([["Nurture below", 1000, ""], ["SQL threshold", 100, ""]])
    assert settings.nurture_below == 30 and settings.sql_threshold == 100
    assert [str(p) for p in settings.problems] == [
        "Settings!B2: Nurture below 1000 is outside the scores (0 to 100); using 30."
    ]


def test_a_threshold_left_at_its_default_outside_new_scores_names_the_score_cell():
    settings = settings_of([["SQL threshold", 60, ""], ["Score min", 40, ""]])
    # MQL threshold and Nurture below (30) have no row: Score min is the cell to change.
    assert [p.where for p in settings.problems] == ["Settings!B3", "Settings!B3"]


def test_a_duplicated_setting_is_reported_and_the_first_value_used():
    settings = settings_of(
        [["MQL threshold", 20, ""], ["Timezone", "UTC", ""], ["mql threshold ", 50, ""]]
    )
    assert settings.mql_threshold == 20
    assert [str(p) for p in settings.problems] == [
        'Settings!A4: "MQL threshold" is set again here; the value on row 2 is used. '
        "Delete one of the two rows."
    ]


def test_harmful_settings_change_nothing_in_the_pipeline():
    """Dead after times max days 0 would turn every deal Dead and append a task each."""
    history = [hist("D-0001", "Acme", "Contact", 3)]
    good = plan(deals=[deal()], history=history)
    bad = plan(
        deals=[deal()],
        history=history,
        settings={"Dead after times max days": 0, "At risk at share of max days": 5},
    )
    assert desired(bad, "Health") == desired(good, "Health") == ["OK"]
    assert bad.tasks_added == good.tasks_added
    assert len(bad.errors) == 2


@pytest.mark.parametrize(
    ("separator", "typed", "read"),
    [(",", "12.000,00", 12000.0), (".", "12,000.00", 12000.0), (",", "0,5", 0.5)],
)
def test_the_decimal_separator_setting_reads_typed_numbers(separator, typed, read):
    name = "At risk at share of max days" if read < 1 else "Dead after days in pipeline"
    settings = settings_of([[name, typed, ""], ["Decimal separator", separator, ""]])
    assert (
        settings.at_risk_at_share_of_max_days == read
        or settings.dead_after_days_in_pipeline == read
    )
    assert settings.problems == []


def test_a_decimal_separator_that_is_neither_is_reported():
    settings = settings_of([["Decimal separator", ";", ""]])
    assert settings.decimal_separator == "."
    assert [str(p) for p in settings.problems] == [
        'Settings!B2: Decimal separator ";" must be "." or ","; using ".".'
    ]


def test_with_a_comma_separator_a_value_rule_reads_thousands_as_people_typed_them():
    weights = [["Value", ">", "10.000", 25, "", ""]]
    deals = [deal(Value="12.000,00"), deal(Deal="Small", ID="D-0002", Value="9.999,99")]
    result = plan(deals=deals, weights=weights, settings={"Decimal separator": ","})
    assert desired(result, "Score") == [25, 0]
    dotted = plan(deals=deals, weights=[["Value", ">", "10,000", 25, "", ""]])
    assert desired(dotted, "Score") == [0, 0], "with '.', 12.000,00 is no number, not 12"


def test_text_in_a_column_a_number_rule_reads_is_reported():
    weights = [["Value", "<", 100, 10, "", ""], ["Value", "is empty", "", 5, "", ""]]
    result = plan(deals=[deal(Value="10k"), deal(ID="D-0002", Deal="B", Value=50)], weights=weights)
    value_col = result.pipelines[0].columns.source.table.cols["value"]
    letter = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[value_col - 1]
    assert (
        f'Deals!{letter}2: "10k" is not a number, which the rule "Value < 100" (Weights row 2) '
        "needs; write it like 12000 or 12,000.50 (Decimal separator .). Until then no number "
        "rule counts it."
    ) in messages(result)
    assert not any(f"Deals!{letter}3" in m for m in messages(result))


# ---- Stages: a bad cell is reported and left empty; its stage stays --------------------


def stage_row(**cells):
    columns = ["Pipeline", "Stage", "Order", "Min score", "Max days", "Win probability",
               "Playbook", "Auto advance", "Closed"]  # fmt: skip
    base = dict(zip(columns, STAGES[1], strict=True))  # Contact
    return [{**base, **cells}[c] for c in columns]


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ({"Win probability": "abc"}, 'Stages!F3: Win probability "abc" must be from 0 to 100%; it is left empty.'),
        ({"Win probability": "150%"}, 'Stages!F3: Win probability "150%" must be from 0 to 100%; it is left empty.'),
        ({"Max days": -5}, 'Stages!E3: Max days "-5" must be a number of days from 1 to 3650; it is left empty.'),
        ({"Max days": 0}, 'Stages!E3: Max days "0" must be a number of days from 1 to 3650; it is left empty.'),
        ({"Min score": 500}, 'Stages!D3: Min score "500" must be a score from 0 to 100; it is left empty.'),
        ({"Order": "first"}, 'Stages!C3: Order "first" must be a number; it is left empty.'),
        ({"Auto advance": "perhaps"}, 'Stages!H3: Auto advance "perhaps" must be Yes or No; using No.'),
        ({"Closed": "maybe"}, 'Stages!I3: Closed "maybe" must be won, lost or empty; the stage is treated as open.'),
    ],
)  # fmt: skip
def test_a_bad_stage_cell_is_reported_and_the_stage_stays(cells, message):
    stages = [STAGES[0], stage_row(**cells), *STAGES[2:]]
    result = plan(deals=[deal()], stages=stages, history=[hist("D-0001", "Acme", "Contact", 3)])
    assert levels(result)[message] == "error"
    assert not any("not a Deals stage" in m for m in messages(result))
    assert desired(result, "Health") == ["OK"]


def test_max_days_at_its_limits_is_used():
    for days in (1, 3650):
        stages = [STAGES[0], stage_row(**{"Max days": days}), *STAGES[2:]]
        result = plan(deals=[deal()], stages=stages, history=[hist("D-0001", "Acme", "Contact", 2)])
        assert not any("Stages!E3" in m for m in messages(result))
        assert desired(result, "Health") == (["Stalled"] if days == 1 else ["OK"])


def test_a_duplicated_order_is_reported():
    stages = [STAGES[0], stage_row(Order=1), *STAGES[2:]]
    result = plan(deals=[deal()], stages=stages)
    message = (
        'Stages!C3: Order 1 of "Contact" is also the Order of "Discovery" (row 2); the row '
        "higher up comes first. Give each stage its own Order."
    )
    assert levels(result)[message] == "warning"


# ---- Playbook due offsets -------------------------------------------------------------


def playbook_plan(playbook: str):
    stages = [STAGES[0], stage_row(Playbook=playbook), *STAGES[2:]]
    return plan(deals=[deal()], stages=stages, history=[hist("D-0001", "Acme", "Contact", 3)])


def tasks_of(result):
    appended = [rows for tab, _, rows in result.changes.appends if tab == "Tasks"]
    header = [h for h in snapshot().find("Tasks").rows[0]]
    return [dict(zip(header, row, strict=False)) for row in (appended[0] if appended else [])]


@pytest.mark.parametrize(
    ("line", "shown"),
    [("Run the demo (+999999w)", "(+999999w)"), ("Run the demo (+3651d)", "(+3651d)")],
)
def test_a_due_offset_beyond_ten_years_is_reported_not_crashed_on(line, shown):
    result = playbook_plan(line)
    message = (
        f'Stages!G3: due offset "{shown}" is more than ten years; the action is due on the '
        "day the deal enters the stage."
    )
    assert levels(result)[message] == "warning"
    (task,) = [t for t in tasks_of(result) if t["Kind"] == "playbook"]
    assert task["Task"] == "Run the demo"
    assert task["Due"] == TODAY - timedelta(days=3)
    assert desired(result, "Health") == ["OK"], "the rest of the cycle ran"


def test_a_due_offset_of_exactly_ten_years_is_kept():
    result = playbook_plan("Check in (+3650d)")
    (task,) = [t for t in tasks_of(result) if t["Kind"] == "playbook"]
    assert task["Due"] == TODAY - timedelta(days=3) + timedelta(days=3650)
    assert not any("Stages!G3" in m for m in messages(result))


def test_an_unreadable_due_offset_is_reported_and_left_out_of_the_task():
    result = playbook_plan("Call them (+xd)\nWrite (+2w)")
    assert (
        'Stages!G3: due offset "(+xd)" is not like (+2d) or (+1w); the action is due on the '
        "day the deal enters the stage."
    ) in messages(result)
    tasks = {t["Task"]: t["Due"] for t in tasks_of(result) if t["Kind"] == "playbook"}
    entered = TODAY - timedelta(days=3)
    assert tasks == {"Call them": entered, "Write": entered + timedelta(days=14)}


def test_the_check_of_a_whole_cycle_survives_every_bad_cell_at_once():
    snap = snapshot(
        deals=[deal(Value="10k")],
        weights=[["Value", ">", 5, 10, "", ""]],
        settings={"Dead after times max days": 0, "Status heartbeat minutes": 0},
        stages=[STAGES[0], stage_row(Playbook="x (+999999w)", **{"Win probability": "abc"})],
    )
    snap.find("Settings").rows.append(["MQL threshold", 10, ""])
    result = plan_cycle(snap, NAMES, NOW)
    assert result.deals == 1
    assert date(2026, 3, 10) == result.now.date()
    assert len(result.problems) >= 6


@pytest.mark.parametrize(
    ("row", "message", "level"),
    [
        (["", "Triage", 9, "", "", "", "", "", ""],
         'Stages!A9: stage "Triage" names no Pipeline tab; it is skipped', "error"),
        (["Deals", "", 9, "", "", "", "", "", ""],
         "Stages!B9: the row names no Stage; it is skipped", "error"),
        (["Leads", "Triage", 9, "", "", "", "", "", ""],
         'Stages!A9: "Leads" is not a pipeline tab in sheetpipe.toml (Deals, Customers); the '
         "row is skipped", "warning"),
    ],
)  # fmt: skip
def test_a_stage_row_without_its_pipeline_or_name_is_reported_and_skipped(row, message, level):
    result = plan(deals=[deal()], stages=[*STAGES, row])
    assert levels(result)[message] == level
    assert "Triage" not in str(result.changes.new_tabs)  # not in the Stage dropdown


def test_an_empty_stage_row_is_no_problem():
    result = plan(
        deals=[deal()], stages=[STAGES[0], ["", "", "", "", "", "", "", "", ""], *STAGES[1:]]
    )
    assert not any(p.where.startswith("Stages!") for p in result.problems)


@pytest.mark.parametrize(("count", "warned"), [(1, True), (2, False), (6, False), (7, True)])
def test_the_open_stage_count_is_checked_at_its_limits(count, warned):
    rows = [["Deals", f"Step {i}", i, "", 30, "", "", "No", ""] for i in range(1, count + 1)]
    rows += [["Deals", "Won", 99, "", "", "", "", "No", "won"]]
    result = plan(deals=[deal(Stage="Step 1")], stages=rows + STAGES[5:])
    message = f"Stages tab: Deals has {count} open stages; a clean pipeline has 2 to 6."
    assert (levels(result).get(message) == "warning") is warned


def test_playbook_lines_lose_their_bullets_and_blank_lines_end_nothing():
    result = playbook_plan("- Call them\n\n• Write (+2)\n* Meet (+1 week)\nPlain")
    entered = TODAY - timedelta(days=3)
    tasks = {t["Task"]: t["Due"] for t in tasks_of(result) if t["Kind"] == "playbook"}
    assert tasks == {
        "Call them": entered,
        "Write": entered + timedelta(days=2),  # a number alone counts days
        "Meet": entered + timedelta(days=7),
        "Plain": entered,
    }


def test_an_unknown_setting_is_a_warning_that_lists_the_known_ones():
    (problem,) = settings_of([["Colour", "red", ""]]).problems
    assert problem.level == "warning"
    assert problem.message == (
        '"Colour" is not a setting sheetpipe knows; it is ignored. Known settings: '
        + ", ".join(s.name for s in SPECS)
        + "."
    )


def test_a_duplicated_stage_names_its_pipeline():
    result = plan(
        deals=[deal()], stages=[*STAGES, ["Deals", " contact", 9, "", "", "", "", "", ""]]
    )
    assert (
        levels(result)[
            'Stages!B9: stage "contact" is already defined on row 3 for Deals; this row is skipped.'
        ]
        == "error"
    )


def test_stage_numbers_read_with_the_sheets_decimal_separator():
    stages = [STAGES[0], stage_row(**{"Max days": "10,5"}), *STAGES[2:]]
    history = [hist("D-0001", "Acme", "Contact", 10)]
    comma = plan(
        deals=[deal()], stages=stages, history=history, settings={"Decimal separator": ","}
    )
    assert desired(comma, "Health") == ["At risk"]  # 10 days: past 7.9, not past 10.5
    dot = plan(deals=[deal()], stages=stages, history=history)
    assert desired(dot, "Health") == ["OK"]  # "10,5" is no number with "."; left empty
    assert any(m.startswith('Stages!E3: Max days "10,5" must be') for m in messages(dot))


@pytest.mark.parametrize(("tab", "level"), [("Stages", "warning"), ("Customers", "error")])
def test_a_missing_tab_is_reported_and_the_deals_are_still_scored(tab, level):
    """A missing pipeline tab is an error, any other a warning; the rest runs."""
    snap = snapshot(deals=[deal()])
    del snap.tabs[tab]
    result = plan_cycle(snap, NAMES, NOW)
    assert result.deals == 1
    (missing,) = [p for p in result.problems if p.where == f"{tab} tab"]
    assert (missing.message, missing.level) == (
        "the tab is missing; run `sheetpipe init` to add it, or fix its name in "
        "sheetpipe.toml [tabs].",
        level,
    )


def test_parse_stages_alone_uses_the_default_settings():
    from sheetpipe.core.inputs.stages import parse_stages

    table = read_table(
        Tab("Stages", [snapshot().find("Stages").rows[0], stage_row(**{"Min score": 100})])
    )
    stages, problems = parse_stages(table, ["Deals"])
    assert [s.min_score for s in stages.of("Deals")] == [100]
    assert stages.of("Nowhere") == []


def test_a_playbook_action_may_start_with_the_letter_x():
    tasks = [
        t["Task"]
        for t in tasks_of(playbook_plan("X-ray the account (+1d)"))
        if t["Kind"] == "playbook"
    ]
    assert tasks == ["X-ray the account"]


def test_score_min_not_below_score_max_falls_back_to_0_to_100():
    settings = settings_of([["Score min", 50, ""], ["Score max", 50, ""]])
    assert (settings.score_min, settings.score_max) == (0, 100)
    assert [(str(p), p.level) for p in settings.problems] == [
        ("Settings!B2: Score min must be below Score max; using 0 to 100.", "error")
    ]


def test_thresholds_may_sit_on_the_edges_of_the_score_range():
    settings = settings_of(
        [["MQL threshold", 0, ""], ["SQL threshold", 100, ""], ["Nurture below", 0, ""]]
    )
    assert (settings.mql_threshold, settings.sql_threshold, settings.nurture_below) == (0, 100, 0)
    assert settings.problems == []


def test_mql_above_sql_is_a_warning_and_equal_is_fine():
    assert settings_of([["MQL threshold", 60, ""]]).problems == []  # equal to SQL's 60
    (problem,) = settings_of([["SQL threshold", 50, ""], ["MQL threshold", 61, ""]]).problems
    assert (str(problem), problem.level) == (
        "Settings!B3: MQL threshold 61 is above SQL threshold 50; no lead will be MQL. "
        "Lower one or raise the other.",
        "warning",
    )


def test_every_problem_of_settings_that_do_not_fit_together_names_a_cell():
    settings = settings_of([["Dead after days without contact", 10, ""],
                            ["Stalled after days without contact", 20, ""]])  # fmt: skip
    assert [p.where for p in settings.problems] == ["Settings!B2"]


def test_dead_not_after_stalled_is_a_warning():
    assert settings_of([["Dead after days without contact", 15, ""]]).problems == []
    (problem,) = settings_of([["Dead after days without contact", 14, ""]]).problems
    assert problem.level == "warning" and problem.message.startswith(
        "Dead after days without contact is not above Stalled after days without contact"
    )


def test_blank_rows_between_settings_end_nothing():
    settings = settings_of(
        [["", "", ""], ["MQL threshold", 20, ""], ["", 5, ""], ["SQL threshold", 70, ""]]
    )
    assert (settings.mql_threshold, settings.sql_threshold) == (20, 70)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("Date order", "DYM", 'Settings!B2: Date order "DYM" must be "DMY", "MDY" or "YMD"; using "DMY".'),
        ("Timezone", "Mars/Base", 'Settings!B2: Timezone "Mars/Base" is not a known time zone. '
         'Use an IANA name such as Europe/Berlin or America/New_York; using "UTC".'),
    ],
)  # fmt: skip
def test_text_settings_say_what_they_accept(name, value, message):
    assert [str(p) for p in settings_of([[name, value, ""]]).problems] == [message]


def test_date_order_is_read_as_people_type_it():
    assert settings_of([["Date order", "m/d/y", ""]]).date_order == "MDY"


def test_the_settings_template_has_the_contract_header():
    from sheetpipe.core.inputs.settings import template_rows

    assert template_rows()[0] == ["Setting", "Value", "Notes"]


@pytest.mark.parametrize(
    ("typed", "decimal", "read"),
    [("40", ".", 0.4), ("40%", ".", 0.4), ("0.4", ".", 0.4), ("1", ".", 1.0), ("1.5", ".", 0.015),
     ("0,5", ",", 0.5), ("100", ".", 1.0), ("0", ".", 0.0)],
)  # fmt: skip
def test_win_probability_reads_shares_and_percentages(typed, decimal, read):
    from sheetpipe.core.inputs.settings import Settings
    from sheetpipe.core.inputs.stages import parse_stages

    header = snapshot().find("Stages").rows[0]
    table = read_table(Tab("Stages", [header, stage_row(**{"Win probability": typed})]))
    stages, problems = parse_stages(table, ["Deals"], Settings(decimal_separator=decimal))
    assert [s.win_probability for s in stages.of("Deals")] == [pytest.approx(read)]
    assert [p for p in problems if "Win probability" in p.message] == []


def test_the_dropdowns_name_the_lists_tab_as_the_sheet_spells_it():
    first = plan_cycle(snapshot(deals=[deal()]), NAMES, NOW)
    (grid,) = [rows for name, rows in first.changes.new_tabs if name == "Lists"]
    snap = snapshot(deals=[deal()])
    snap.tabs["LISTS"] = Tab("LISTS", grid)
    result = plan_cycle(snap, NAMES, NOW)
    sources = {f.source_tab for _, f in result.changes.formats if hasattr(f, "source_tab")}
    assert sources == {"LISTS"}


# ---- Weights: a broken rule is reported with its cell, the rest still score -----------


def weights_of(rows: list[list], decimal: str = "."):
    from sheetpipe.core.inputs.weights import parse_weights

    header = ["Field", "Rule", "Value", "Points", "Max points", "Notes"]
    return parse_weights(read_table(Tab("Weights", [header, *rows])), ["Value", "Source"], decimal)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (["", "", "", 5, "", ""], "Weights!A2: the rule names no Field (a column of a pipeline tab); this rule is skipped."),
        (["", "", "x", "", "", ""], "Weights!A2: the rule names no Field (a column of a pipeline tab); this rule is skipped."),
        (["", "is", "", "", "", ""], "Weights!A2: the rule names no Field (a column of a pipeline tab); this rule is skipped."),
        (["Budget", "is", "x", 5, "", ""], 'Weights!A2: no pipeline tab has a column "Budget"; this rule is skipped.'),
        (["Value", "about", "5", 5, "", ""], 'Weights!B2: rule "about" is not one of: ' + ", ".join(
            ["is", "is not", "contains", "one of", "between", ">", ">=", "<", "<=", "is set",
             "is empty", "is yes", "per", "within days", "older than days"]) + "; this rule is skipped."),
        (["Value", ">", "5", "ten", "", ""], 'Weights!D2: points "ten" is not a number; this rule is skipped.'),
        (["Value", ">", "5", 5, -1, ""], 'Weights!E2: max points "-1" is not a positive number; this rule is skipped.'),
        (["Value", ">", "", 5, "", ""], 'Weights!C2: rule ">" needs a Value; this rule is skipped.'),
    ],
)  # fmt: skip
def test_a_broken_weights_row_names_its_cell(row, message):
    rules, problems = weights_of([row])
    assert rules == [] and [str(p) for p in problems] == [message]


def test_an_empty_weights_row_is_no_problem_and_a_zero_cap_is_allowed():
    rules, problems = weights_of([["", "", "", "", "", "a note"], ["Value", "per", "", 2, 0, ""]])
    assert problems == [] and [r.cap for r in rules] == [0]


def test_weights_read_numbers_with_the_sheets_decimal_separator():
    rows = [["Value", "between", "1,5-2,5", "2,5", "1,5", ""], ["Value", ">", "1.000", 1, "", ""]]
    rules, problems = weights_of(rows, ",")
    assert problems == []
    assert [(r.operand, r.points, r.cap) for r in rules] == [
        ((1.5, 2.5), 2.5, 1.5),
        (1000.0, 1, None),
    ]
