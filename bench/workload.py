"""Benchmark workloads: N deals drawn from the public CRM data set, with ~30 weight rules.

The CRM data (../shared/data/crm-sales-opportunities: 8,800 opportunities, 35 agents,
85 accounts) is read in place and recycled to N deals, its dates moved relative to `now`.
"""

from __future__ import annotations

import csv
import os
import random
from datetime import datetime, timedelta
from pathlib import Path

from sheetpipe.core.contract import Names
from sheetpipe.layout import template_tabs
from sheetpipe.model import Snapshot, Tab

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SHEETPIPE_SHARED", ROOT.parent / "shared")) / "data"
CRM = SHARED / "crm-sales-opportunities"
NOW = datetime(2026, 11, 26, 9, 0)
STAGE_OF = {"Prospecting": ["Discovery", "Qualification"], "Engaging": ["Contact", "Proposal"],
            "Won": ["Won"], "Lost": ["Lost"]}  # fmt: skip
HEADER = [
    "Deal", "Stage", "Owner", "Email", "Company", "Value", "Expected close", "Last contact",
    "Lost reason", "Competitor", "Source", "Industry", "Employees", "Revenue", "Product",
    "Series", "Region", "Manager", "Budget", "Decision maker reached", "Target", "ID",
]  # fmt: skip

WEIGHTS = [
    ["Value", ">=", "10000", 15, "", ""],
    ["Value", "between", "2000-9999", 8, "", ""],
    ["Value", "<", "100", -5, "", ""],
    ["Employees", ">=", "5000", 12, "", ""],
    ["Employees", "between", "1000-4999", 8, "", ""],
    ["Employees", "<=", "100", -3, "", ""],
    ["Revenue", ">", "1000", 6, "", ""],
    ["Revenue", "per", "", 0.01, 8, ""],
    ["Industry", "one of", "software, finance, medical", 10, "", ""],
    ["Industry", "is", "retail", 4, "", ""],
    ["Industry", "is not", "entertainment", 2, "", ""],
    ["Product", "contains", "Pro", 6, "", ""],
    ["Product", "is", "GTK 500", 12, "", ""],
    ["Series", "one of", "GTX, GTK", 3, "", ""],
    ["Region", "is", "West", 2, "", ""],
    ["Source", "is", "Referral", 15, "", ""],
    ["Source", "is", "Web form", 5, "", ""],
    ["Source", "is", "Cold outreach", -4, "", ""],
    ["Decision maker reached", "is yes", "", 20, "", ""],
    ["Budget", "is yes", "", 15, "", ""],
    ["Budget", "is empty", "", -5, "", ""],
    ["Last contact", "within days", "7", 10, "", ""],
    ["Last contact", "older than days", "21", -15, "", ""],
    ["Expected close", "within days", "30", 8, "", ""],
    ["Expected close", "older than days", "0", -10, "", ""],
    ["Competitor", "is set", "", -5, "", ""],
    ["Competitor", "is", "Salesforce", -3, "", ""],
    ["Target", "is", "No", -40, "", ""],
    ["Email", "is set", "", 2, "", ""],
    ["Lost reason", "is empty", "", 1, "", ""],
]


def _read(name: str) -> list[dict[str, str]]:
    with open(CRM / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def workload(n: int, seed: int = 1) -> Snapshot:
    """A sheet with n deals (IDs set), their History, and the template's other tabs."""
    if not CRM.exists():
        raise SystemExit(f"CRM data not found at {CRM}; set SHEETPIPE_SHARED")
    rng = random.Random(seed)
    opportunities = _read("sales_pipeline.csv")
    accounts = {a["account"]: a for a in _read("accounts.csv")}
    products = {p["product"]: p for p in _read("products.csv")}
    teams = {t["sales_agent"]: t for t in _read("sales_teams.csv")}
    today = NOW.date()
    rows, history = [HEADER], []
    for i in range(n):
        opp = opportunities[i % len(opportunities)]
        account = accounts.get(opp["account"], {})
        product = products.get(opp["product"], {"series": "", "sales_price": "0"})
        team = teams.get(opp["sales_agent"], {"manager": "", "regional_office": ""})
        stage = rng.choice(STAGE_OF[opp["deal_stage"]])
        deal_id = f"D-{i + 1:06d}"
        name = f"{opp['account'] or 'Prospect'} – {opp['product']} #{i + 1}"
        value = opp["close_value"] or product["sales_price"]
        in_stage = rng.randint(0, 40)
        entered = NOW - timedelta(days=in_stage, hours=rng.randint(0, 8))
        history.append(
            [
                entered - timedelta(days=rng.randint(3, 30)),
                deal_id,
                name,
                "Deals",
                "",
                "Discovery",
                None,  # Value and Expected close: filled in once the deal is drawn
                None,
                "import",
            ]
        )
        history.append([entered, deal_id, name, "Deals", "Discovery", stage, None, None,
                        "import"])  # fmt: skip
        domain = (opp["account"] or "prospect").split()[0].lower()
        rows.append([
            name, stage, opp["sales_agent"], f"buyer{i}@{domain}.example",
            opp["account"], float(value), today + timedelta(days=rng.randint(-20, 90)),
            today - timedelta(days=rng.randint(0, 45)),
            "Chose a competitor" if stage == "Lost" else None,
            rng.choice([None, None, None, "HubSpot", "Salesforce"]),
            rng.choice(["Referral", "Web form", "Cold outreach", "Event"]),
            account.get("sector", ""), int(account.get("employees") or 0),
            float(account.get("revenue") or 0), opp["product"], product["series"],
            team["regional_office"], team["manager"],
            rng.choice(["Yes", "Yes", "No", None]), rng.choice(["Yes", "No", None]),
            "No" if rng.random() < 0.03 else "Yes", deal_id,
        ])  # fmt: skip
        for entry in history[-2:]:  # recorded as sheetpipe records them
            entry[6], entry[7] = rows[-1][5], rows[-1][6]
    tabs = {name: Tab(name, [list(r) for r in content]) for name, content in template_tabs(Names())}
    tabs["Deals"] = Tab("Deals", rows)
    tabs["Weights"].rows = [tabs["Weights"].rows[0], *WEIGHTS]
    tabs["History"].rows += history
    return Snapshot(tabs)


def edit_some(snapshot: Snapshot, share: float, seed: int = 2) -> int:
    """People's edits between cycles: move `share` of the deals to another stage."""
    rng = random.Random(seed)
    deals = snapshot.find("Deals").rows
    count = max(1, int((len(deals) - 1) * share))
    for row in rng.sample(range(1, len(deals)), count):
        deals[row][1] = rng.choice(["Contact", "Proposal", "Qualification"])
        deals[row][7] = NOW.date()
    return count
