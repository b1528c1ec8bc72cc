"""The Today tab: each rep's list in the order the rules give, and the manager's part."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from sheetpipe.backends.memory import MemoryBackend
from sheetpipe.core.sheet.table import read_table
from sheetpipe.core.tabs.today import (
    PER_GROUP,
    TODAY_COLUMNS,
    Deals,
    open_tasks,
    plan_today,
    team_names,
)
from sheetpipe.model import CellLink, Tab
from sheetpipe.sync import run_cycle

from .helpers import NAMES, NOW, snapshot

TODAY = date(2026, 3, 10)
DAY = timedelta(days=1)
LONG_AGO = datetime(2026, 1, 1)


def deals_frame(rows: dict[int, dict]) -> pd.DataFrame:
    base = {
        "Health": "OK", "Why": "", "Score": 10, "Stage": "Contact", "Owner": "Ana",
        "In stage since": datetime(2026, 3, 1), "First seen": LONG_AGO, "Tracked": True,
    }  # fmt: skip
    records = [{**base, "Deal": f"Deal {r}", **v} for r, v in rows.items()]
    frame = pd.DataFrame(records, columns=[*base, "Deal"])
    frame.index = list(rows)
    frame["In stage since"] = pd.to_datetime(frame["In stage since"])
    frame["First seen"] = pd.to_datetime(frame["First seen"])
    return frame


def tasks_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["due"] = pd.to_datetime(frame["due"])
    return frame.assign(tab="Tasks", task_col="A")


PIPELINE = deals_frame(
    {
        2: {"Health": "Hot", "Score": 70, "Why": "score 70"},
        3: {"Health": "Hot", "Score": 90, "Why": "score 90"},
        4: {"Health": "Stalled", "Why": "no contact for 20 days", "In stage since": datetime(2026, 2, 1)},
        5: {"Health": "At risk", "Why": "14 of 20 days", "In stage since": datetime(2026, 2, 20)},
        6: {"Health": "Stalled", "Why": "no contact for 40 days", "In stage since": datetime(2026, 1, 15)},
        7: {"Owner": "Ben", "First seen": datetime(2026, 3, 10, 8, 0), "Stage": "Discovery"},
        8: {"Owner": None, "Health": "Hot", "Score": 80, "Why": "score 80"},
        9: {"Owner": "Zoe", "Health": "Stalled", "Why": "stuck", "In stage since": datetime(2026, 2, 2)},
        10: {"Owner": " ana ", "First seen": datetime(2026, 3, 9, 17, 0), "Score": 35},
        11: {"Owner": "Ben", "Health": "Won", "First seen": datetime(2026, 3, 10, 9, 0)},
        12: {"Owner": "Ben", "First seen": datetime(2026, 3, 10, 9, 0), "Tracked": False},
    }
)  # fmt: skip
TASKS = tasks_frame(
    [
        {"row": 5, "text": "Call back", "deal": "Deal 4", "owner": "Ana", "due": TODAY - 3 * DAY},
        {
            "row": 9,
            "text": "Send the recap",
            "deal": "Deal 2",
            "owner": "ana",
            "due": TODAY - 5 * DAY,
        },
        {"row": 3, "text": "Run the demo", "deal": "Deal 3", "owner": "Ana", "due": TODAY},
        {"row": 4, "text": "Follow up", "deal": "Deal 7", "owner": "Ben", "due": TODAY + DAY},
        {"row": 6, "text": "Orphan task", "deal": "Deal 8", "owner": "", "due": TODAY},
    ]
)


def shown(rows):
    """Rows as text; a link as (its text → the cell it opens)."""

    def cell(v):
        return f"{v.text} → {v.tab}!{v.cell}" if isinstance(v, CellLink) else v

    return [[cell(v) for v in row] for row in rows]


def test_each_rep_gets_their_list_in_the_order_the_rules_give():
    rows = plan_today([Deals("Deals", PIPELINE, "A")], TASKS, ["Ana", "Ben"], TODAY)
    assert shown(rows) == [
        list(TODAY_COLUMNS),
        ["Team", "Summary", "Ana", "2 overdue · 1 due today · 2 hot · 3 stalled or at risk · 1 new", None],
        ["Team", "Summary", "Ben", "1 new", None],
        ["Team", "Summary", "Zoe", "1 stalled or at risk", None],
        ["Team", "Give it an owner: Due today", "Deal 8 → Tasks!A6", "Orphan task", TODAY],
        ["Team", "Give it an owner: Call: Hot", "Deal 8 → Deals!A8", "score 80", date(2026, 3, 1)],
        ["Ana", "Overdue task", "Deal 2 → Tasks!A9", "Send the recap", TODAY - 5 * DAY],
        ["Ana", "Overdue task", "Deal 4 → Tasks!A5", "Call back", TODAY - 3 * DAY],
        ["Ana", "Due today", "Deal 3 → Tasks!A3", "Run the demo", TODAY],
        ["Ana", "Call: Hot", "Deal 3 → Deals!A3", "score 90", date(2026, 3, 1)],
        ["Ana", "Call: Hot", "Deal 2 → Deals!A2", "score 70", date(2026, 3, 1)],
        ["Ana", "Unstick: Stalled", "Deal 6 → Deals!A6", "no contact for 40 days", date(2026, 1, 15)],
        ["Ana", "Unstick: Stalled", "Deal 4 → Deals!A4", "no contact for 20 days", date(2026, 2, 1)],
        ["Ana", "Check: At risk", "Deal 5 → Deals!A5", "14 of 20 days", date(2026, 2, 20)],
        ["Ana", "New deal", "Deal 10 → Deals!A10", "Contact, score 35", date(2026, 3, 9)],
        ["Ben", "New deal", "Deal 7 → Deals!A7", "Discovery, score 10", TODAY],
        ["Zoe", "Unstick: Stalled", "Deal 9 → Deals!A9", "stuck", date(2026, 2, 2)],
    ]  # fmt: skip


def test_a_long_group_shows_its_first_lines_and_how_many_more():
    many = deals_frame(
        {r: {"Health": "Hot", "Score": r, "Why": f"score {r}"} for r in range(2, PER_GROUP + 7)}
    )
    rows = plan_today([Deals("Deals", many, "B")], TASKS.iloc[0:0], ["Ana"], TODAY)
    hot = [r for r in rows if r[0] == "Ana" and r[1] == "Call: Hot"]
    assert len(hot) == PER_GROUP + 1
    assert [r[3] for r in hot[:2]] == [f"score {PER_GROUP + 6}", f"score {PER_GROUP + 5}"]
    assert hot[-1][2:] == [None, "… and 5 more", None]
    assert rows[1][3] == f"{PER_GROUP + 5} hot", "the summary counts them all"


def test_the_lines_of_one_rep_merge_across_pipelines():
    customers = deals_frame({2: {"Health": "Hot", "Score": 80, "Why": "score 80"}})
    rows = plan_today(
        [Deals("Deals", PIPELINE, "A"), Deals("Customers", customers, "C")],
        TASKS.iloc[0:0],
        ["Ana"],
        TODAY,
    )
    hot = [shown([r])[0][2] for r in rows if r[0] == "Ana" and r[1] == "Call: Hot"]
    assert hot == ["Deal 3 → Deals!A3", "Deal 2 → Customers!C2", "Deal 2 → Deals!A2"]


def test_a_quiet_team_is_told_so():
    rows = plan_today([Deals("Deals", deals_frame({}), "A")], TASKS.iloc[0:0], ["Ana"], TODAY)
    assert rows == [list(TODAY_COLUMNS), ["Team", "Summary", "Ana", "nothing pressing", None]]


def test_open_tasks_come_from_the_tab_and_from_this_cycle():
    tab = Tab(
        "Tasks",
        [
            ["Task", "Deal", "Due", "Owner", "Done", "Task ID"],
            ["Call", "Acme", date(2026, 3, 9), "Ana", "No", "t1"],
            ["Done already", "Acme", date(2026, 3, 1), "Ana", "Yes", "t2"],
            ["No date", "Acme", None, "Ana", "", "t3"],
            ["Ticked", "Acme", date(2026, 3, 1), "Ana", True, "t4"],
            ["Later", "Acme", date(2026, 3, 11), "Ana", "No", "t5"],
        ],
    )
    new = [{"Task": "Demo", "Deal": "Beta", "Due": TODAY, "Owner": " Ben ", "Done": "No"}]
    found = open_tasks(read_table(tab), new, 6, "Tasks", TODAY)
    assert found[["row", "text", "owner"]].values.tolist() == [
        [2, "Call", "Ana"],
        [6, "Demo", " Ben "],  # cells as read: matched later, as columns are
    ]
    assert list(found["due"]) == [pd.Timestamp("2026-03-09"), pd.Timestamp(TODAY)]
    assert set(found["task_col"]) == {"A"} and set(found["tab"]) == {"Tasks"}


def test_the_cycle_keeps_today_and_writes_it_only_when_it_changes():
    stalled = {
        "Deal": "Quiet",
        "Stage": "Contact",
        "Owner": "Ana",
        "Last contact": date(2026, 2, 20),
    }
    backend = MemoryBackend(snapshot(deals=[stalled]))
    backend.snapshot.find("Team").rows[1:] = [["Ana", "ana@example.com", "Deals", "Yes"]]
    first = run_cycle(backend, NAMES, NOW)
    assert "Today" in first.plan.changes.rewrites
    today = backend.snapshot.find("Today").rows
    assert today[1][:3] == ["Team", "Summary", "Ana"]
    mine = [r for r in today if r[0] == "Ana"]
    assert [r[1] for r in mine] == ["Due today", "Unstick: Stalled", "New deal"]
    assert mine[0][3].startswith("Deal stalled: no contact for 18 days")  # its alert task
    links = backend.links["today"]
    assert links == {"C3": ("Tasks", "A2"), "C4": ("Deals", "A2"), "C5": ("Deals", "A2")}
    # An idle cycle five minutes on: Today shows the same, so it is not written.
    again = run_cycle(backend, NAMES, NOW + timedelta(minutes=5))
    assert "Today" not in again.plan.changes.rewrites
    # The next morning yesterday's tasks are overdue: Today changes with the day.
    morning = run_cycle(backend, NAMES, NOW + timedelta(days=1))
    lines = [r[1] for r in morning.plan.changes.rewrites["Today"] if r[0] == "Ana"]
    assert lines == ["Overdue task", "Unstick: Stalled", "New deal"]  # new since yesterday


@pytest.mark.parametrize("header", [["Notes"], ["Owner", "Do", "Deal", "Detail"]])
def test_a_today_tab_of_a_persons_own_is_left_alone(header):
    backend = MemoryBackend(snapshot(deals=[{"Deal": "Acme", "Stage": "Contact"}]))
    backend.snapshot.tabs["Today"] = Tab("Today", [header, ["my own list"]])
    report = run_cycle(backend, NAMES, NOW)
    assert backend.snapshot.find("Today").rows == [header, ["my own list"]]
    found = [p for p in report.plan.problems if p.where == "Today tab"]
    assert found and "[tabs] today" in found[0].message and found[0].level == "warning"


def test_a_group_of_exactly_the_limit_needs_no_more_line():
    many = deals_frame(
        {r: {"Health": "Hot", "Score": r, "Why": f"score {r}"} for r in range(2, PER_GROUP + 2)}
    )
    rows = plan_today([Deals("Deals", many, "A")], TASKS.iloc[0:0], ["Ana"], TODAY)
    hot = [r for r in rows if r[0] == "Ana" and r[1] == "Call: Hot"]
    assert len(hot) == PER_GROUP and all(isinstance(r[2], CellLink) for r in hot)


@pytest.mark.parametrize(
    ("rows", "names"),
    [
        (
            [["Ana", "Yes"], ["Ben", "No"], ["  ", "Yes"], ["Chloe", ""], ["Dev", "n"]],
            ["Ana", "Chloe"],
        ),
        ([["Eve", "FALSE"], ["Fay", 0], ["Gus", False], [" Hal ", "yes"]], ["Hal"]),
    ],
)
def test_the_team_is_its_active_names_in_order(rows, names):
    assert (
        team_names(
            read_table(Tab("Team", [["Name", "Email", "Active"], *[[n, "", a] for n, a in rows]]))
        )
        == names
    )


def test_no_team_tab_or_no_name_column_is_no_team():
    assert team_names(None) == []
    assert team_names(read_table(Tab("Team", [["Person"], ["Ana"]]))) == []


def _today_tab(rows):
    from sheetpipe.model import Snapshot

    return Snapshot({"Today": Tab("Today", rows)}, date_cells="serial")


@pytest.mark.parametrize(
    "current",
    [
        # As xlsx hands it back: datetimes at midnight, text for links.
        [
            list(TODAY_COLUMNS),
            ["Ana", "Due today", "Acme", "Call", datetime(2026, 3, 10)],
            ["Ana", "Summary", "x", "", None],
        ],
        # As Google does: serial day numbers, empty cells at a row's end left out.
        [
            list(TODAY_COLUMNS),
            ["Ana", "Due today", "Acme", "Call", 46091.0],
            ["Ana", "Summary", "x"],
            [],
        ],
    ],
)
def test_today_is_not_rewritten_when_the_sheet_shows_the_same(current):
    from sheetpipe.core.tabs.today import rewrite_owned

    desired = [
        list(TODAY_COLUMNS),
        ["Ana", "Due today", CellLink("Acme", "Tasks", "A2"), "Call", TODAY],
        ["Ana", "Summary", "x", "", None],
    ]
    same = rewrite_owned(_today_tab(current), "Today", desired, "today", 5)
    assert same.changes.rewrites == {} and same.problems == []
    moved = [row[:] for row in current]
    moved[1][4] = datetime(2026, 3, 9) if isinstance(current[1][4], datetime) else 46090.0
    changed = rewrite_owned(_today_tab(moved), "Today", desired, "today", 5)
    assert changed.changes.rewrites == {"Today": desired}, "a day earlier: it changed"


def test_today_links_a_task_appended_below_the_tasks_already_there():
    stalled = {
        "Deal": "Quiet",
        "Stage": "Contact",
        "Owner": "Ana",
        "Last contact": date(2026, 2, 20),
    }
    done = ["Old call", "Other", TODAY - 9 * DAY, "Ana", "Yes", "playbook", TODAY, "D-0009", "x"]
    backend = MemoryBackend(snapshot(deals=[stalled], tasks=[done, [*done[:-1], "y"]]))
    backend.snapshot.find("Team").rows[1:] = [["Ana", "", "Deals", "Yes"], ["Bo", "", "", "Yes"]]
    run_cycle(backend, NAMES, NOW)
    today = backend.snapshot.find("Today").rows
    assert backend.links["today"]["C4"] == ("Tasks", "A4"), "rows 2 and 3 were there"
    assert today[2][:4] == ["Team", "Summary", "Bo", "nothing pressing"], "the Team tab's"


def test_each_rep_shows_the_limit_of_their_own_lines_and_one_more():
    many = {
        r: {"Health": "Hot", "Score": r, "Why": f"score {r}", "Owner": "Ana" if r % 2 else "Ben"}
        for r in range(2, 2 + 2 * (PER_GROUP + 1))
    }
    rows = plan_today([Deals("Deals", deals_frame(many), "A")], TASKS.iloc[0:0], ["Ana", "Ben"],
                      TODAY)  # fmt: skip
    for rep, parity in (("Ana", 1), ("Ben", 0)):
        hot = [r for r in rows if r[0] == rep and r[1] == "Call: Hot"]
        assert len(hot) == PER_GROUP + 1
        assert hot[-1][2:] == [None, "… and 1 more", None]
        assert all(int(str(r[2]).split()[1]) % 2 == parity for r in hot[:-1]), rep


def test_deals_nobody_owns_show_the_limit_and_one_more_to_the_manager():
    many = {r: {"Health": "Hot", "Score": r, "Why": f"score {r}", "Owner": None}
            for r in range(2, PER_GROUP + 3)}  # fmt: skip
    rows = plan_today([Deals("Deals", deals_frame(many), "A")], TASKS.iloc[0:0], ["Ana"], TODAY)
    unowned = [r for r in rows if r[0] == "Team" and r[1] == "Give it an owner: Call: Hot"]
    assert len(unowned) == PER_GROUP + 1
    assert unowned[-1][2:] == [None, "… and 1 more", None]


def test_a_reps_counts_add_up_across_pipelines():
    deals = deals_frame({r: {"Health": "Hot", "Score": 70, "Why": "hot"} for r in (2, 3)})
    customers = deals_frame({r: {"Health": "Hot", "Score": 70, "Why": "hot"} for r in (2, 3, 4)})
    rows = plan_today([Deals("Deals", deals, "A"), Deals("Customers", customers, "A")],
                      TASKS.iloc[0:0], ["Ana"], TODAY)  # fmt: skip
    assert rows[1][:3] == ["Team", "Summary", "Ana"]
    assert rows[1][3] == "5 hot"


@pytest.mark.parametrize(
    "seen, new",
    [(datetime(2026, 3, 9), True), (datetime(2026, 3, 8, 23, 59, 59), False)],
    ids=["yesterday at midnight", "a second before"],
)
def test_new_means_first_seen_since_yesterday_began(seen, new):
    frame = deals_frame({2: {"First seen": seen}})
    rows = plan_today([Deals("Deals", frame, "A")], TASKS.iloc[0:0], ["Ana"], TODAY)
    assert any(r[1] == "New deal" for r in rows) is new


def test_new_deals_show_the_newest_first():
    frame = deals_frame({2: {"First seen": datetime(2026, 3, 9, 8)},
                         3: {"First seen": datetime(2026, 3, 10, 7)},
                         4: {"First seen": datetime(2026, 3, 9, 12)}})  # fmt: skip
    rows = plan_today([Deals("Deals", frame, "A")], TASKS.iloc[0:0], ["Ana"], TODAY)
    assert [str(r[2]).split(" →")[0] for r in rows if r[1] == "New deal"] == [
        "Deal 3", "Deal 4", "Deal 2"
    ]  # fmt: skip
