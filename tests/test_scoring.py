"""Weights rules: parsing with cell-addressed problems, and every rule kind scored."""

from datetime import date, timedelta

import pandas as pd
import pytest

from sheetpipe.core.deals.scoring import Columns, explain, lead_status, rule_points, score
from sheetpipe.core.inputs.settings import Settings
from sheetpipe.core.inputs.weights import RULES, parse_weights
from sheetpipe.core.sheet.table import read_table
from sheetpipe.model import Tab

from .helpers import NOW, plan

TODAY = NOW.date()
HEADER = ["Field", "Rule", "Value", "Points", "Max points", "Notes"]


def weights(*rows):
    return read_table(Tab("Weights", [HEADER, *rows]))


DEALS = pd.DataFrame(
    {
        "value": [12000, "2,500", None, "n/a", 50],
        "industry": ["Software", " finance ", "retail", None, "SOFTWARE"],
        "budget": ["Yes", True, "no", None, "x"],
        "last contact": [
            TODAY - timedelta(days=2), (TODAY - timedelta(days=30)).isoformat(), None,
            "garbage", TODAY + timedelta(days=5),
        ],
        "competitor": ["HubSpot", "", None, "  ", "Pipedrive"],
        "seats": [10, 40, None, "3", "x"],
    },
    index=[2, 3, 4, 5, 6],
    dtype=object,
)  # fmt: skip


def points(field, rule, value="", pts=10, cap=""):
    rules, problems = parse_weights(weights([field, rule, value, pts, cap, ""]), DEALS.columns)
    assert problems == []
    return list(rule_points(rules[0], Columns(DEALS, "DMY"), TODAY))


@pytest.mark.parametrize(
    ("field", "rule", "value", "expected"),
    [
        ("Industry", "is", "software", [10, 0, 0, 0, 10]),
        ("Industry", "is not", "software", [0, 10, 10, 10, 0]),
        ("Industry", "contains", "ware", [10, 0, 0, 0, 10]),
        ("Industry", "one of", "finance, Retail", [0, 10, 10, 0, 0]),
        ("Value", "between", "2000-13000", [10, 10, 0, 0, 0]),
        ("Value", ">", "2500", [10, 0, 0, 0, 0]),
        ("Value", ">=", "2500", [10, 10, 0, 0, 0]),
        ("Value", "<", "2500", [0, 0, 0, 0, 10]),
        ("Value", "<=", "2500", [0, 10, 0, 0, 10]),
        ("Value", "is", "50", [0, 0, 0, 0, 10]),
        # A number matches a number however it is written: "2,500" is 2500.
        ("Value", "is", "2500", [0, 10, 0, 0, 0]),
        ("Value", "is", "12,000.00", [10, 0, 0, 0, 0]),
        ("Value", "is not", "2500", [10, 0, 10, 10, 10]),
        ("Seats", "is", "3.0", [0, 0, 0, 10, 0]),
        ("Competitor", "is set", "", [10, 0, 0, 0, 10]),
        ("Competitor", "is empty", "", [0, 10, 10, 10, 0]),
        ("Budget", "is yes", "", [10, 10, 0, 0, 10]),
        ("Last contact", "within days", "7", [10, 0, 0, 0, 10]),
        ("Last contact", "older than days", "21", [0, 10, 0, 0, 0]),
    ],
)
def test_each_rule_kind(field, rule, value, expected):
    assert points(field, rule, value) == expected


def test_per_multiplies_and_caps_either_way():
    assert points("Seats", "per", pts=0.5, cap=10) == [5, 10, 0, 1.5, 0]
    assert points("Seats", "per", pts=-1, cap=4) == [-4, -4, 0, -3, 0]


def test_negative_points_and_rule_cap():
    assert points("Industry", "is", "software", pts=-25, cap=20) == [-20, 0, 0, 0, -20]


def test_score_sums_clamps_and_rounds_half_up():
    rules, _ = parse_weights(
        weights(
            ["Industry", "is", "software", 70, "", ""],
            ["Budget", "is yes", "", 40.5, "", ""],
            ["Value", "is empty", "", -30, "", ""],
        ),
        DEALS.columns,
    )
    got = score(Columns(DEALS, "DMY"), rules, TODAY, Settings())
    assert list(got) == [100, 41, 0, 0, 100]  # 110.5 → 100; 40.5 → 41; -30 → 0
    narrow = score(Columns(DEALS, "DMY"), rules, TODAY, Settings(score_min=-50, score_max=200))
    assert list(narrow) == [111, 41, -30, 0, 111]


def test_lead_status_thresholds():
    scores = pd.Series([0, 29, 30, 59, 60, 100])
    assert list(lead_status(scores, Settings())) == [
        "Nurture",
        "Nurture",
        "MQL",
        "MQL",
        "SQL",
        "SQL",
    ]
    cold = Settings(nurture_below=10)
    assert list(lead_status(scores, cold)) == ["Nurture", "Cold", "MQL", "MQL", "SQL", "SQL"]


def test_explain_lists_the_rules_that_gave_points():
    rules, _ = parse_weights(
        weights(["Industry", "is", "software", 10, "", ""], ["Budget", "is yes", "", 5, "", ""]),
        DEALS.columns,
    )
    found = explain(Columns(DEALS, "DMY"), rules, 2, TODAY)
    assert [(r.describe(), p) for r, p in found] == [
        ("Industry is software", 10),
        ("Budget is yes", 5),
    ]


@pytest.mark.parametrize(
    ("row", "where", "fragment"),
    [
        (
            ["Industry", "equals-ish", "x", 5, "", ""],
            "Weights!B2",
            'rule "equals-ish" is not one of',
        ),
        (["Industry", "is", "x", "ten", "", ""], "Weights!D2", 'points "ten" is not a number'),
        (["Value", "between", "50 200", 5, "", ""], "Weights!C2", "not a range like 50-200"),
        (["Value", ">", "lots", 5, "", ""], "Weights!C2", 'value "lots" is not a number'),
        (
            ["Shoe size", "is", "9", 5, "", ""],
            "Weights!A2",
            'no pipeline tab has a column "Shoe size"',
        ),
        (["", "is", "9", 5, "", ""], "Weights!A2", "names no Field"),
        (["Industry", "is", "", 5, "", ""], "Weights!C2", 'rule "is" needs a Value'),
        (["Value", "per", "", 5, "-2", ""], "Weights!E2", 'max points "-2"'),
    ],
)
def test_broken_rules_are_reported_with_their_cell_and_skipped(row, where, fragment):
    rules, problems = parse_weights(
        weights(row, ["Industry", "is", "software", 10, "", ""]), DEALS.columns
    )
    assert [r.describe() for r in rules] == ["Industry is software"]  # the rest still works
    assert len(problems) == 1
    assert problems[0].where == where
    assert fragment in problems[0].message


def test_rule_names_match_case_insensitively_and_aliases():
    rules, problems = parse_weights(
        weights([" industry ", " IS NOT ", "x", 1, "", ""], ["Value", "≥", "5", 1, "", ""]),
        DEALS.columns,
    )
    assert problems == []
    assert [r.kind for r in rules] == ["is not", ">="]


def test_every_contract_rule_is_known():
    assert set(RULES) == {
        "is", "is not", "contains", "one of", "between", ">", ">=", "<", "<=", "is set",
        "is empty", "is yes", "per", "within days", "older than days",
    }  # fmt: skip


def test_a_bad_weight_does_not_stop_the_cycle():
    result = plan(
        deals=[{"Deal": "Acme", "Stage": "Discovery", "Source": "Referral"}],
        weights=[["Source", "is", "Referral", 15, "", ""], ["Source", "is", "Web", "ten", "", ""]],
    )
    assert [str(p) for p in result.problems] == [
        'Weights!D3: points "ten" is not a number; this rule is skipped.'
    ]
    assert result.pipelines[0].desired["Score"].tolist() == [15]


def test_weights_reach_columns_of_any_pipeline():
    result = plan(
        deals=[{"Deal": "A", "Stage": "Discovery"}],
        customers=[{"Deal": "B", "Stage": "Onboarding", "Seats": 30}],
        weights=[["Seats", "per", "", 1, 12, ""]],
    )
    assert result.problems == []
    by_tab = {p.name: p.desired["Score"].tolist() for p in result.pipelines}
    assert by_tab == {"Deals": [0], "Customers": [12]}


def test_date_rules_read_typed_dates_in_the_sheets_order():
    deals = [{"Deal": "A", "Stage": "Discovery", "Last contact": "08/03/2026"}]
    rule = [["Last contact", "within days", "7", 10, "", ""]]
    assert plan(deals=deals, weights=rule).pipelines[0].desired["Score"].tolist() == [10]
    # Read month-first, 08/03 is 3 August: five months ahead, not within a week.
    us = plan(deals=deals, weights=rule, settings={"Date order": "MDY"})
    assert us.pipelines[0].desired["Score"].tolist() == [0]


def test_today_moves_with_now():
    deals = [{"Deal": "A", "Stage": "Discovery", "Last contact": date(2026, 3, 1)}]
    rule = [["Last contact", "within days", "7", 10, "", ""]]
    assert plan(deals=deals, weights=rule).pipelines[0].desired["Score"].tolist() == [0]
    earlier = NOW - timedelta(days=5)
    assert plan(earlier, deals=deals, weights=rule).pipelines[0].desired["Score"].tolist() == [10]


def test_explain_reads_dates_in_the_sheets_order_and_counts_days_to_today():
    """One deal's explanation gives the points the score gave: a date typed as text read
    in the sheet's Date order, its age counted to the day the cycle runs."""
    typed = (TODAY - timedelta(days=3)).strftime("%m/%d/%Y")  # 3 days ago, month first
    deals = pd.DataFrame({"last contact": [typed], "value": ["1.500,00"]}, index=[2], dtype=object)
    rules, _ = parse_weights(
        weights(["Last contact", "within days", 7, 10, "", ""], ["Value", ">", 1000, 5, "", ""]),
        deals.columns,
        decimal=",",
    )
    cols = Columns(deals, "MDY", ",")
    assert [p for _, p in explain(cols, rules, 2, TODAY)] == [10, 5]
    assert [p for _, p in explain(cols, rules, 2, TODAY + timedelta(days=30))] == [5]
    assert score(cols, rules, TODAY, Settings()).tolist() == [15]
