"""The weekly review (core/review/): the real CRM data set turned into a sheet with its
History, every number checked against a computation of its own here, and small sheets for
what the data set cannot show (values raised, close dates pushed, a quiet week)."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from sheetpipe.core.contract import Names
from sheetpipe.core.cycle import plan_cycle
from sheetpipe.core.review.layout import review_rows
from sheetpipe.core.review.movement import WATERFALL, balances
from sheetpipe.core.review.review import review_week
from sheetpipe.core.review.tab import ReviewSources, review_of
from sheetpipe.core.sheet.apply import apply_changes
from sheetpipe.core.sheet.table import table_of
from sheetpipe.model import Snapshot, Tab

from .conftest import SHARED
from .helpers import set_cell, tabs

STAGE = {"Prospecting": "Discovery", "Engaging": "Contact", "Won": "Won", "Lost": "Lost"}
DATA_END = datetime(2018, 1, 1)


def _opportunities(shared_data) -> pd.DataFrame:
    folder = shared_data / "crm-sales-opportunities"
    with open(folder / "sales_pipeline.csv", newline="") as f:
        found = pd.DataFrame(list(csv.DictReader(f)))
    with open(folder / "products.csv", newline="") as f:
        price = {p["product"]: float(p["sales_price"]) for p in csv.DictReader(f)}
    found["value"] = [float(v) if s == "Won" else price.get(p.replace("GTXPro", "GTX Pro"), 0.0)
                      for v, s, p in zip(found["close_value"], found["deal_stage"],
                                         found["product"], strict=True)]  # fmt: skip
    found["engage"] = pd.to_datetime(found["engage_date"].replace("", None))
    found["close"] = pd.to_datetime(found["close_date"].replace("", None))
    found["first"] = (found["engage"] - pd.Timedelta(days=3)).fillna(
        pd.Timestamp(DATA_END - timedelta(days=10))
    )  # prospects: seen at the end
    found["id"] = [f"D-{i + 1:05d}" for i in range(len(found))]
    return found


def _history(opps: pd.DataFrame) -> list[list]:
    rows = []
    for o in opps.itertuples():
        name = f"{o.account or 'Prospect'} – {o.product}"
        rows.append([o.first.to_pydatetime(), o.id, name, "Deals", "", "Discovery", o.value,
                     None, o.sales_agent])  # fmt: skip
        if pd.notna(o.engage):
            rows.append([o.engage.to_pydatetime(), o.id, name, "Deals", "Discovery", "Contact",
                         o.value, None, o.sales_agent])  # fmt: skip
        if pd.notna(o.close):
            rows.append([o.close.to_pydatetime(), o.id, name, "Deals", "Contact",
                         STAGE[o.deal_stage], o.value, None, o.sales_agent])  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def crm():
    """The 8,800 opportunities as a pipeline with its History, planned once."""
    if not SHARED.exists():
        pytest.skip(f"shared data not found at {SHARED} (set SHEETPIPE_SHARED)")
    opps = _opportunities(SHARED)
    deals = [{"Deal": f"{o.account or 'Prospect'} – {o.product}", "Stage": STAGE[o.deal_stage],
              "Owner": o.sales_agent, "Value": o.value, "ID": o.id,
              "Last contact": DATA_END.date()} for o in opps.itertuples()]  # fmt: skip
    sheet = tabs(deals, history=_history(opps))
    snap = Snapshot({n: Tab(n, r) for n, r in sheet.items()})
    plan = plan_cycle(snap, Names(), DATA_END)
    return opps, snap, plan


def _expected(opps: pd.DataFrame, start: datetime, end: datetime) -> dict[str, float]:
    """The week by hand: each opportunity's value is the same on all its rows."""
    s, e = pd.Timestamp(start), pd.Timestamp(end)
    closed_before = opps["close"].notna() & (opps["close"] < s)
    open_start = (opps["first"] < s) & ~closed_before
    open_end = (opps["first"] < e) & ~(opps["close"].notna() & (opps["close"] < e))
    closing = opps["close"].notna() & (opps["close"] >= s) & (opps["close"] < e)
    new = (opps["first"] >= s) & (opps["first"] < e)
    v = opps["value"]
    won = closing & opps["deal_stage"].eq("Won")
    return {"Open at the start": v[open_start].sum(), "New": v[new].sum(),
            "Won": v[won].sum(), "Lost": v[closing & opps["deal_stage"].eq("Lost")].sum(),
            "Open at the end": v[open_end].sum(), "won deals": int(won.sum())}  # fmt: skip


@pytest.mark.parametrize("monday", [date(2017, 3, 6), date(2017, 6, 19), date(2017, 9, 4),
                                    date(2017, 12, 25)])  # fmt: skip
def test_the_crm_weeks_match_a_computation_of_their_own_and_balance_for_every_rep(crm, monday):
    opps, snap, plan = crm
    [deals, _] = plan.pipelines
    review = review_of(
        deals, sources(snap, plan.settings), datetime.combine(monday, datetime.min.time())
    )
    week = review.week
    assert (week.start, week.end) == (datetime.combine(monday, datetime.min.time())
                                      - timedelta(days=7),
                                      datetime.combine(monday, datetime.min.time()))  # fmt: skip
    expected = _expected(opps, week.start, week.end)
    team = review.waterfall["Team"]
    for line in ("Open at the start", "New", "Won", "Lost", "Open at the end"):
        assert team[line] == pytest.approx(expected[line]), line
    assert team["Value raised"] == team["Value lowered"] == team["Moved in"] == 0
    assert len(review.wins) == expected["won deals"]
    assert review.wins["value"].sum() == pytest.approx(expected["Won"])
    assert list(review.waterfall.index) == list(WATERFALL)
    assert balances(review.waterfall).all()
    reps = opps["sales_agent"].unique()
    assert set(review.waterfall.columns) == {"Team", *reps}


def sources(snap, settings) -> ReviewSources:
    """The review's sources as the sheet holds them (nothing appended this cycle)."""
    return ReviewSources(table_of(snap, "History"), [], table_of(snap, "Tasks"), [],
                         _stages(snap), settings)  # fmt: skip


def _stages(snap):
    from sheetpipe.core.inputs.settings import parse_settings
    from sheetpipe.core.inputs.stages import parse_stages

    settings = parse_settings(table_of(snap, "Settings"))
    return parse_stages(table_of(snap, "Stages"), ("Deals", "Customers"), settings)[0]


def test_the_crm_win_rates_and_conversion_match_a_computation_of_their_own(crm):
    opps, snap, plan = crm
    [deals, _] = plan.pipelines
    review = review_of(deals, sources(snap, plan.settings), DATA_END)
    closed = opps[opps["deal_stage"].isin(["Won", "Lost"])]
    by_owner = closed.groupby("sales_agent")["deal_stage"].apply(lambda s: (s == "Won").mean())
    got = review.by_owner["win rate"]
    assert got.to_dict() == pytest.approx(by_owner.to_dict())
    conversion = review.conversion.set_index("stage")
    engaged = opps["engage"].notna().sum()
    # Discovery → Qualification: every engaged deal skipped Qualification on its way on.
    assert conversion.loc["Discovery", "reached"] == len(opps)
    assert conversion.loc["Qualification", "reached"] == engaged
    assert conversion.loc["Proposal", "went_on"] == (opps["deal_stage"] == "Won").sum()


# ---- small sheets --------------------------------------------------------------------

NOW = datetime(2026, 3, 10, 9, 30)  # a Tuesday: the week reviewed is 2 to 8 March


class Sheet:
    def __init__(self, *deals: dict, history: list[list] | None = None, **settings):
        rows = tabs(deals=list(deals), history=history, settings=settings or None)
        self.snap = Snapshot({n: Tab(n, r) for n, r in rows.items()})

    def cycle(self, now: datetime):
        plan = plan_cycle(self.snap, Names(), now)
        self.snap = apply_changes(self.snap, plan.changes)
        return plan

    def review(self, now: datetime):
        plan = plan_cycle(self.snap, Names(), now)
        return review_of(plan.pipelines[0], sources(self.snap, plan.settings), now)

    def tab(self) -> list[list]:
        return [list(r) for r in self.snap.find("Review").rows]


def acme(**cells) -> dict:
    return {"Deal": "Acme", "Stage": "Contact", "Owner": "Ana", "Value": 12000,
            "Expected close": date(2026, 3, 31), "Last contact": NOW.date(), **cells}  # fmt: skip


def test_a_value_raised_and_a_close_date_pushed_in_the_week_are_in_the_review():
    sheet = Sheet(acme())
    sheet.cycle(datetime(2026, 2, 20, 10))  # seen before the week
    set_cell(sheet.snap, "Deals", 2, "Value", 15000)
    set_cell(sheet.snap, "Deals", 2, "Expected close", date(2026, 4, 30))
    sheet.cycle(datetime(2026, 3, 4, 10))  # in the week
    review = sheet.review(NOW)
    team = review.waterfall["Team"]
    assert (team["Open at the start"], team["Value raised"], team["Open at the end"]) == (
        12000, 3000, 15000)  # fmt: skip
    assert (review.pushes.count, review.pushes.mean_days) == (1, 30)


def test_a_quiet_week_says_so_and_the_tab_is_written_once():
    sheet = Sheet(acme())
    sheet.cycle(datetime(2026, 2, 20, 10))
    sheet.cycle(NOW)
    rows = sheet.tab()
    assert rows[0][0] == "Weekly review"
    assert rows[1][:4] == ["Week", "2026-W10", "2026-03-02 to 2026-03-08", "Deals"]
    assert ["Nothing moved this week."] in [r[:1] for r in rows]
    again = plan_cycle(sheet.snap, Names(), NOW + timedelta(hours=1))
    assert "Review" not in again.changes.rewrites


def test_the_review_day_and_meeting_length_come_from_settings():
    friday = review_week(NOW, "Friday")
    assert (friday.start, friday.end) == (datetime(2026, 2, 27), datetime(2026, 3, 6))
    sheet = Sheet(acme(), **{"Review day": "fri", "Meeting minutes": 60})
    sheet.cycle(NOW)
    meeting = next(r for r in sheet.tab() if r[:1] == ["Meeting"])
    assert meeting[:6] == ["Meeting", "60 minutes", "Wins 12", "Pipeline update 24",
                           "Obstacles 12", "Competition 12"]  # fmt: skip


def test_a_deal_won_in_the_week_is_a_win_with_its_days_and_source():
    history = [[datetime(2026, 2, 1, 9), "D-0001", "Acme", "Deals", "", "Discovery", 12000, None,
                "Ana"]]  # fmt: skip
    sheet = Sheet(acme(ID="D-0001", Stage="Discovery", Source="Referral"), history=history)
    sheet.cycle(datetime(2026, 2, 20, 10))
    set_cell(sheet.snap, "Deals", 2, "Stage", "Won")
    sheet.cycle(datetime(2026, 3, 5, 9))
    review = sheet.review(NOW)
    [win] = review.wins.itertuples()
    assert (win.deal, win.value, win.owner, win.days, win.source) == (
        "Acme", 12000, "Ana", 32, "Referral")  # fmt: skip
    team = review.waterfall["Team"]
    assert (team["Open at the start"], team["Won"], team["Open at the end"]) == (12000, 12000, 0)
    rows = review_rows(review, "Deals")
    assert ["Acme", 12000, "Ana", 32, "Referral"] in rows


@pytest.mark.parametrize(("typed", "read"), [("Friday", "Friday"), ("fri", "Friday"),
                                             ("MON", "Monday"), ("sunday", "Sunday")])  # fmt: skip
def test_a_review_day_is_read_as_people_write_it(typed, read):
    from sheetpipe.core.inputs.settings import parse_settings
    from sheetpipe.core.sheet.table import read_table

    settings = parse_settings(read_table(Tab("Settings", [["Setting", "Value", "Notes"],
                                                          ["Review day", typed, ""]])))  # fmt: skip
    assert (settings.review_day, settings.problems) == (read, [])


def test_a_review_day_nobody_knows_is_named_with_its_cell_and_monday_used():
    from sheetpipe.core.inputs.settings import parse_settings
    from sheetpipe.core.sheet.table import read_table

    settings = parse_settings(read_table(Tab("Settings", [["Setting", "Value", "Notes"],
                                                          ["Review day", "someday", ""],
                                                          ["Meeting minutes", 5, ""]])))  # fmt: skip
    assert settings.review_day == "Monday" and settings.meeting_minutes == 45
    said = [str(p) for p in settings.problems]
    assert said[0].startswith('Settings!B2: Review day "someday" must be "Monday", "Tuesday"')
    assert said[1].startswith("Settings!B3: Meeting minutes 5 must be a whole number from 10")


def test_long_lists_show_their_first_lines_and_count_the_rest():
    """A big pipeline's review stays a page: each list is cut at 15 lines."""
    deals = [acme(Deal=f"Firm {i:02d}", Stage="Contact", Competitor=f"Rival {i:02d}",
                  **{"Last contact": date(2025, 12, 1)}) for i in range(40)]  # fmt: skip
    sheet = Sheet(*deals)
    sheet.cycle(NOW)
    rows = sheet.tab()
    assert ["… and 25 more"] in [r[:1] for r in rows]  # Dead deals (no contact), Competitors
    assert sum(r[:1] == ["… and 25 more"] for r in rows) == 2
    assert len(rows) < 120


def test_only_a_close_date_moved_later_is_a_push_and_three_pushes_are_named():
    sheet = Sheet(acme(Deal="Often"), acme(Deal="Twice"), acme(Deal="Sooner"))
    sheet.cycle(datetime(2026, 2, 1, 10))
    for n, (often, twice, sooner) in enumerate([(date(2026, 4, 10), date(2026, 4, 10),
                                                 date(2026, 3, 20)),
                                                (date(2026, 4, 20), date(2026, 4, 20),
                                                 date(2026, 3, 15)),
                                                (date(2026, 4, 30), None, None)]):  # fmt: skip
        set_cell(sheet.snap, "Deals", 2, "Expected close", often)
        if twice:
            set_cell(sheet.snap, "Deals", 3, "Expected close", twice)
        if sooner:
            set_cell(sheet.snap, "Deals", 4, "Expected close", sooner)
        sheet.cycle(datetime(2026, 3, 3 + n, 10))  # in the week reviewed
    review = sheet.review(NOW)
    assert review.pushes.count == 5  # Often 3, Twice 2; Sooner's dates came nearer
    assert [review.names[k] for k in review.pushes.often] == ["Often"]


def test_closing_this_month_early_leaves_the_late_stages_out():
    sheet = Sheet(acme(Deal="Early", Stage="Discovery"), acme(Deal="Late", Stage="Proposal"))
    sheet.cycle(NOW)
    review = sheet.review(NOW)
    assert list(review.closing_early["name"]) == ["Early"]


def test_sales_velocity_is_open_deals_by_win_rate_by_won_value_over_days_to_win():
    history = [[datetime(2026, 2, 1, 9), f"D-000{i}", f"Firm {i}", "Deals", "", "Contact",
                10000, None, "Ana"] for i in (1, 2, 3)]  # fmt: skip
    sheet = Sheet(acme(ID="D-0001", Deal="Firm 1"), acme(ID="D-0002", Deal="Firm 2"),
                  acme(ID="D-0003", Deal="Firm 3"), acme(ID="D-0004", Deal="Firm 4"),
                  history=history)  # fmt: skip
    sheet.cycle(datetime(2026, 2, 1, 10))
    set_cell(sheet.snap, "Deals", 2, "Stage", "Won")
    set_cell(sheet.snap, "Deals", 3, "Stage", "Lost")
    sheet.cycle(datetime(2026, 2, 11, 9))  # won 10 days after it was first seen
    review = sheet.review(NOW)
    # 2 open deals × 1/2 won × 12,000 a won deal ÷ 10 days
    assert review.velocity == pytest.approx(2 * 0.5 * 12000 / 10)
