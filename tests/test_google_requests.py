"""Change sets as Sheets API requests: the pure builders the Google backend sends."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from sheetpipe.backends.google_requests import (
    SheetInfo,
    build_requests,
    cell_data,
    format_requests,
    health_rules,
    runs,
)
from sheetpipe.model import ChangeSet, ColumnWrite, FrozenHeader, HealthColours, ListDropdown


@pytest.mark.parametrize(
    "value, expected",
    [
        (
            '=HYPERLINK("http://x","y")',
            {"userEnteredValue": {"stringValue": '=HYPERLINK("http://x","y")'}},
        ),
        ("+1", {"userEnteredValue": {"stringValue": "+1"}}),
        (7, {"userEnteredValue": {"numberValue": 7}}),
        (True, {"userEnteredValue": {"boolValue": True}}),
        (None, {}),
        (float("nan"), {}),
        (
            date(2026, 3, 4),
            {
                "userEnteredValue": {"numberValue": 46085.0},
                "userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}},
            },
        ),
        (
            datetime(2026, 3, 4, 12, 0),
            {
                "userEnteredValue": {"numberValue": 46085.5},
                "userEnteredFormat": {
                    "numberFormat": {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm"}
                },
            },
        ),
    ],
)
def test_cells_are_typed_so_text_never_becomes_a_formula(value, expected):
    assert cell_data(value) == expected


@pytest.mark.parametrize(
    "rows, expected",
    [([], []), ([5], [(0, 1)]), ([2, 3, 4, 9, 10, 12], [(0, 3), (3, 2), (5, 1)])],
)
def test_rows_group_into_runs_of_consecutive_rows(rows, expected):
    assert runs(rows) == expected


def test_installed_formats_are_found_again_in_the_metadata():
    info = SheetInfo(
        7,
        "Deals",
        1000,
        26,
        conditional=[
            {
                "booleanRule": {
                    "condition": {"type": "TEXT_CONTAINS", "values": [{"userEnteredValue": "x"}]}
                },
                "ranges": [{"sheetId": 7}],
            }
        ],
    )
    spec = HealthColours(health_col=20, last_col=23)
    added = [r["addConditionalFormatRule"]["rule"] for r in format_requests(spec, info)]
    assert health_rules(added + info.conditional) == spec
    assert health_rules(added[:3]) is None  # a colour deleted by a person: reinstall
    moved = format_requests(
        HealthColours(21, 24), SheetInfo(7, "Deals", 1000, 26, conditional=added)
    )
    assert [next(iter(r)) for r in moved][:4] == ["deleteConditionalFormatRule"] * 4
    assert [r["deleteConditionalFormatRule"]["index"] for r in moved[:4]] == [3, 2, 1, 0]


def test_a_new_column_beyond_the_grid_grows_it_first_and_status_clears_its_old_rows():
    sheets = {"deals": SheetInfo(1, "Deals", 1000, 26), "status": SheetInfo(2, "Status", 20, 3)}
    changes = ChangeSet(
        new_columns=[("Deals", 28, "Score")],
        writes=[ColumnWrite("Deals", 28, "Score", [2, 3, 7], [1, 2, 3])],
        formats=[("Deals", FrozenHeader()), ("Deals", ListDropdown(2, "Lists", 1, 2))],
        status=[["What", "Value"], ["Deals", 3]],
    )
    requests = build_requests(changes, sheets, "Status", {"status": (15, 3)})
    kinds = [next(iter(r)) for r in requests]
    assert kinds[0] == "appendDimension" and requests[0]["appendDimension"]["length"] == 2
    assert kinds.count("updateCells") == 1 + 2 + 1  # header, two runs of rows, Status
    status = requests[-1]["updateCells"]
    assert status["range"]["endRowIndex"] == 15 and status["range"]["endColumnIndex"] == 3
    assert sheets["deals"].cols == 28 and sheets["deals"].formats() == {
        FrozenHeader(),
        ListDropdown(2, "Lists", 1, 2),
    }


def test_rep_views_follow_the_reps_and_leave_a_persons_views_alone():
    from sheetpipe.backends.google_requests import format_requests, rep_views
    from sheetpipe.model import RepViews

    def view(view_id, rep, col=0, title=None):
        condition = {"type": "TEXT_EQ", "values": [{"userEnteredValue": rep}]}
        return {"filterViewId": view_id, "title": title or f"Today: {rep}",
                "filterSpecs": [{"columnIndex": col, "filterCriteria": {"condition": condition}}]}  # fmt: skip

    views = [view(1, "Ana"), view(2, "Ben"), view(3, "Cy", col=2), view(4, "Ana", title="Mine")]
    info = SheetInfo(7, "Today", 1000, 26, filter_views=views)
    assert rep_views(SheetInfo(7, "Today", 1000, 26, filter_views=views[:2])) == RepViews(
        1, frozenset({"Ana", "Ben"})
    )
    assert rep_views(info) is None  # Cy's view filters another column: not what is wanted
    assert rep_views(SheetInfo(7, "Today", 1000, 26)) is None
    requests = format_requests(RepViews(1, frozenset({"Ben", "Dee"})), info)
    deleted = [r["deleteFilterView"]["filterId"] for r in requests if "deleteFilterView" in r]
    added = [r["addFilterView"]["filter"] for r in requests if "addFilterView" in r]
    assert deleted == [1, 3]
    assert [(a["title"], a["range"]) for a in added] == [("Today: Dee", {"sheetId": 7})]
