"""The engine on real data: the public CRM data set (../shared/data), read in place."""

from __future__ import annotations

import csv
from datetime import datetime

import openpyxl

from sheetpipe.backends.xlsx import XlsxBackend
from sheetpipe.sync import run_cycle

from .helpers import NAMES, tabs, write_workbook

STAGE = {"Prospecting": "Discovery", "Engaging": "Contact", "Won": "Won", "Lost": "Lost"}


def test_a_real_crm_export_runs_clean_and_converges(shared_data, tmp_path):
    """8,800 real opportunities pasted into Deals (their own dates, blanks and all)."""
    with open(shared_data / "crm-sales-opportunities" / "sales_pipeline.csv", newline="") as f:
        opportunities = list(csv.DictReader(f))
    with open(shared_data / "crm-sales-opportunities" / "accounts.csv", newline="") as f:
        sectors = {a["account"]: a["sector"] for a in csv.DictReader(f)}
    deals = [
        {
            "Deal": f"{o['account'] or 'Unknown account'} – {o['product']}",
            "Stage": STAGE[o["deal_stage"]],
            "Owner": o["sales_agent"],
            "Company": o["account"] or None,
            "Value": int(o["close_value"]) if o["close_value"] else None,
            "Last contact": o["engage_date"] or None,  # ISO text, as a CSV paste leaves it
            "Expected close": o["close_date"] or None,
            "Industry": sectors.get(o["account"]),
            "Opportunity": o["opportunity_id"],
        }
        for o in opportunities
    ]
    path = write_workbook(
        tmp_path / "crm.xlsx",
        tabs(
            deals,
            weights=[
                ["Industry", "one of", "software, technolgy", 10, "", ""],
                ["Value", ">=", "1000", 20, "", ""],
            ],
        ),
    )
    now = datetime(2017, 6, 30, 12, 0)  # within the data set's own time
    first = run_cycle(XlsxBackend(path), NAMES, now)
    won = sum(o["deal_stage"] == "Won" for o in opportunities)
    # Each won deal also gets a row in Customers (Deals → Customers), in the same cycle.
    assert first.plan.deals == len(opportunities) + won == 8800 + 4238
    assert [p for p in first.plan.problems if p.level == "error"] == []
    desired = first.plan.pipelines[0].desired
    assert desired["ID"].is_unique
    counts = desired["Health"].value_counts().to_dict()
    assert counts["Won"] == won == 4238
    # Engaging deals whose engage date is months back are not quietly OK.
    assert counts.get("Dead", 0) > 0
    # Each open deal entered History once, on first sight; the second run adds nothing.
    second = run_cycle(XlsxBackend(path), NAMES, now)
    assert not second.plan.changes.has_sheet_changes()
    wb = openpyxl.load_workbook(path, read_only=True)
    assert wb["History"].max_row == 8800 + 4238 + 1
