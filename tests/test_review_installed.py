"""The weekly review through the installed `sheetpipe` command, on the demo workbook read
back with python-calamine: a person raises a deal's value and pushes its close date; the
next week's Review shows both, and its waterfall balances for the team and every rep."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from python_calamine import CalamineWorkbook

from sheetpipe.core.review.movement import WATERFALL

from .test_installed import installed_command, run, set_cells, sheet


def review(folder) -> list[list]:
    rows = CalamineWorkbook.from_path(str(folder / "pipeline.xlsx")).get_sheet_by_name("Review")
    return rows.to_python()


def block(rows: list[list], first: str) -> dict[str, list]:
    """The table whose header line starts with `first`: its lines by their first cell."""
    start = next(i for i, r in enumerate(rows) if r[0] == first)
    found = {}
    for row in rows[start:]:
        if not any(c not in ("", None) for c in row):
            break
        found[row[0]] = row[1:]
    return found


def test_a_value_raised_and_a_close_date_pushed_show_in_next_weeks_review(tmp_path):
    command = installed_command()
    run(command, "demo", "demo", cwd=tmp_path)
    demo = tmp_path / "demo"
    today = date.today()
    monday = today + timedelta(days=7 - today.weekday())  # the next Monday
    deal = next(d for d in sheet(demo, "Deals") if d["Stage"] == "Contact")
    set_cells(demo, "Deals", lambda r: r["ID"] == deal["ID"], "Value", deal["Value"] + 5000)
    set_cells(demo, "Deals", lambda r: r["ID"] == deal["ID"], "Expected close",
              str(deal["Expected close"] + timedelta(days=21)))  # fmt: skip
    tuesday = datetime.combine(monday + timedelta(days=1), datetime.min.time()).replace(hour=9)
    run(command, "sync", "--now", tuesday.strftime("%Y-%m-%dT%H:%M"), cwd=demo)
    *_, recorded = [h for h in sheet(demo, "History") if h["Deal ID"] == deal["ID"]]
    assert (recorded["By"], recorded["Value"]) == (
        "sheetpipe (value and close date changed)", deal["Value"] + 5000)  # fmt: skip

    next_monday = tuesday + timedelta(days=6)
    run(command, "sync", "--now", next_monday.strftime("%Y-%m-%dT%H:%M"), cwd=demo)
    rows = review(demo)
    assert rows[0][0] == "Weekly review"
    week = monday.isocalendar()
    assert rows[1][:2] == ["Week", f"{week.year}-W{week.week:02d}"]
    waterfall = block(rows, "Open value")
    reps = [r for r in waterfall["Open value"] if r]
    assert reps[0] == "Team" and deal["Owner"] in reps
    column = reps.index(deal["Owner"])
    assert waterfall["Value raised"][column] >= 5000
    for i in range(len(reps)):
        line = {name: float(waterfall[name][i] or 0) for name in WATERFALL}
        moved = (line["New"] + line["Moved in"] + line["Value raised"] - line["Value lowered"]
                 - line["Won"] - line["Lost"] - line["Moved out"])  # fmt: skip
        assert line["Open at the start"] + moved == line["Open at the end"], reps[i]
    pushed = next(r for r in rows if r[0] == "Close dates pushed")
    assert pushed[1:3] == [1, "by 21 days on average"]
