"""`sheetpipe demo`: a believable sales team's workbook, dated relative to today.

The deals are drawn (with a fixed seed) so that every health appears: hot deals,
deals at risk, stalled and dead ones, won and lost. Their stage histories go back
weeks, so days in stage, stage averages and playbook tasks all have something to show.
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sheetpipe.backends.xlsx import XlsxBackend
from sheetpipe.config import DEFAULT_CONFIG, load_config
from sheetpipe.core.contract import Names
from sheetpipe.core.cycle import Plan
from sheetpipe.errors import DemoExists
from sheetpipe.layout import read_csv_template, template_tabs, template_text
from sheetpipe.model import Row
from sheetpipe.setup import with_intake, xlsx_config
from sheetpipe.sync import run_cycle

DEALS_PATH = ["Discovery", "Qualification", "Contact", "Proposal"]
CUSTOMERS_PATH = ["Onboarding", "Adoption", "Renewal"]
MAX_DAYS = {"Discovery": 7, "Qualification": 10, "Contact": 14, "Proposal": 10,
            "Onboarding": 14, "Adoption": 60, "Renewal": 30}  # fmt: skip

DEMO_WORKBOOK = "pipeline.xlsx"
DEMO_INTAKE = "Web leads"  # a tab the demo's web form would append to


@dataclass
class DemoResult:
    workbook: Path
    config: Path
    plan: Plan  # the first sync's

    def lines(self) -> list[str]:
        """The summary `sheetpipe demo` prints: what is where, and what the sync found."""
        plan = self.plan
        tabs = ", ".join(f"{p.name} {len(p.desired)}" for p in plan.pipelines)
        healths = " · ".join(
            f"{h} {plan.count(h)}" for h in ("Hot", "At risk", "Stalled", "Dead", "Won", "Lost")
        )
        return [
            f"Demo workbook: {self.workbook}",
            f"Config:        {self.config.resolve()}",
            f"{plan.deals} deals: {tabs}",
            healths,
            f"Tasks added: {plan.tasks_added} · History rows added: {plan.history_added} · "
            f"Problems: {len(plan.problems)}",
            "Open the workbook in Excel or LibreOffice. Then, in that folder: "
            "`sheetpipe sync` to sync again, `sheetpipe run` to keep it in sync.",
        ]


def make_demo(folder: Path, force: bool, now: datetime) -> DemoResult:
    """Write the demo workbook and its config into `folder`, and sync it once.

    An existing workbook is replaced only with `force`; an existing config is kept
    unless `force` (it may name another workbook, which then becomes the demo).
    """
    folder.mkdir(parents=True, exist_ok=True)
    config_file = folder / DEFAULT_CONFIG
    keep_config = config_file.exists() and not force
    workbook = load_config(config_file).workbook if keep_config else folder / DEMO_WORKBOOK
    if workbook.exists() and not force:
        raise DemoExists(
            f"{workbook} already exists; use --force to replace it, or give another folder."
        )
    if not keep_config:
        text = with_intake(xlsx_config(DEMO_WORKBOOK), DEMO_INTAKE, "Deals")
        config_file.write_text(text, encoding="utf-8")
    config = load_config(config_file)
    config.workbook.unlink(missing_ok=True)
    backend = XlsxBackend(config.workbook)
    # Dated from the day on this machine, as the person running the demo sees it.
    backend.create(demo_tabs(now.astimezone().date()), config.names.status)
    report = run_cycle(backend, config.names, now)
    return DemoResult(config.workbook, config_file, report.plan)


def demo_tabs(today: date, seed: int = 7) -> list[tuple[str, list[Row]]]:
    """All contract tabs, with sample Deals, Customers, Team and their History."""
    names = Names()
    pool = tomllib.loads(template_text("demo.toml"))
    rng = random.Random(seed)
    tabs = dict(template_tabs(names))
    history: list[Row] = []
    deals_header = read_csv_template("Deals.csv")[0] + ["ID"]
    customers_header = read_csv_template("Customers.csv")[0] + ["ID"]
    deals = [deals_header]
    for n in range(1, 49):
        deals.append(_deal(rng, pool, today, n, "Deals", history))
        _recorded_values(history, deals[-1], deals_header)
    customers = [customers_header]
    for n in range(1, 13):
        customers.append(_customer(rng, pool, today, n, "Customers", history))
        _recorded_values(history, customers[-1], customers_header)
    tabs["Deals"], tabs["Customers"] = deals, customers
    tabs[names.team] = _team(pool["owners"], names.pipelines, today)
    tabs[DEMO_INTAKE] = _web_leads(deals, today)
    history.sort(key=lambda r: r[0])
    tabs[names.history] = tabs[names.history] + history
    return list(tabs.items())


def _team(owners: list[str], pipelines: tuple[str, ...], today: date) -> list[Row]:
    """The demo's reps: the last one away this week, so round-robin passes them over."""
    rows: list[Row] = [read_csv_template("Team.csv")[0]]
    for i, owner in enumerate(owners):
        away = i == len(owners) - 1
        rows.append([
            owner, _email(owner, "ourcompany.example"), ", ".join(pipelines), "Yes",
            today - timedelta(days=2) if away else None,
            today + timedelta(days=5) if away else None,
            2 if i == 0 else 1, 40,
        ])  # fmt: skip
    return rows


def _web_leads(deals: list[Row], today: date) -> list[Row]:
    """Responses waiting on the web form's tab: new leads, one who comes back (the
    e-mail of a demo deal), one at a company already in the pipeline, one mistyped."""
    at = datetime.combine(today, time(8, 0))
    returning, known = deals[3], deals[5]
    return [
        ["Submitted at", "Name", "Email", "Company", "Phone", "Message"],
        [at, "Priya Nair", "priya@quantum-kite.example", "Quantum Kite", "+1 415 555 0134",
         "Looking for a CRM in Sheets for 12 reps."],
        [at + timedelta(minutes=20), "Jonas Berg", "jonas.berg@nordlys.example", "Nordlys AS", "",
         "Can we see a demo next week?"],
        [at + timedelta(minutes=45), "Sam", returning[3], returning[4], "",
         "Following up on the proposal."],
        [at + timedelta(minutes=70), "Lee Chan", "lee@" + str(known[3]).split("@")[1],
         known[4], "", "A colleague recommended you."],
        [at + timedelta(minutes=90), "Mia", "mia@", "", "", "Call me"],
    ]  # fmt: skip


def _email(person: str, domain: str) -> str:
    return person.lower().replace(" ", ".").replace("'", "") + "@" + domain


def _walk(
    rng: random.Random, path: list[str], stop: int, today: date, days_here: int
) -> list[tuple[datetime, str]]:
    """Stage entries up to path[stop], the last one `days_here` days ago."""
    entered = today - timedelta(days=days_here)
    entries = [(entered, path[stop])]
    for stage in reversed(path[:stop]):
        entered -= timedelta(days=rng.randint(2, MAX_DAYS[stage]))
        entries.append((entered, stage))
    return [
        (datetime.combine(d, time(rng.randint(8, 17), rng.choice((0, 15, 30, 45)))), s)
        for d, s in reversed(entries)
    ]


def _record(history: list[Row], entries, deal_id: str, name: str, pipeline: str, owner: str):
    """The deal's stage entries as History rows; its Value and Expected close are filled
    in once the deal is drawn (`_recorded_values`)."""
    previous = ""
    for when, stage in entries:
        history.append([when, deal_id, name, pipeline, previous, stage, None, None, owner])
        previous = stage


def _recorded_values(history: list[Row], row: Row, header: list[str]) -> None:
    """The deal's Value and Expected close on each of its History rows, as sheetpipe
    records them."""
    deal_id = row[header.index("ID")]
    value, close = row[header.index("Value")], row[header.index("Expected close")]
    for entry in history:
        if entry[1] == deal_id:
            entry[6], entry[7] = value, close


def _deal(rng, pool, today: date, n: int, pipeline: str, history: list[Row]) -> Row:
    company, industry, employees = rng.choice(pool["companies"])
    owner = rng.choice(pool["owners"])
    name = f"{company} – {rng.choice(pool['products'])}"
    deal_id = f"D-{n:04d}"
    fate = rng.choices(["open", "won", "lost"], weights=[36, 7, 5])[0]
    stop = rng.randint(0, len(DEALS_PATH) - 1)
    limit = MAX_DAYS[DEALS_PATH[stop]]
    # A mix of fresh, ageing and forgotten deals, so each health shows up.
    days_here = rng.choice([0, 1, 2, 3, limit - 1, limit + 2, limit * 2 + 3, rng.randint(0, limit)])
    entries = _walk(rng, DEALS_PATH, stop, today, max(days_here, 0))
    if fate != "open":
        entries.append((entries[-1][0] + timedelta(days=rng.randint(1, 5)), fate.capitalize()))
        entries = _shift_past(entries, today)
    _record(history, entries, deal_id, name, pipeline, owner)
    last_contact = today - timedelta(days=rng.choice([0, 1, 3, 5, 9, 16, 25, 40]))
    quality = rng.random()
    return [
        name,
        entries[-1][1],
        owner,
        _email("Sam " + company.split()[0], company.split()[0].lower() + ".example"),
        company,
        rng.choice([1500, 4800, 7200, 12000, 25000, 60000]),
        today + timedelta(days=rng.randint(-12, 75)),
        last_contact,
        rng.choice(pool["lost_reasons"]) if fate == "lost" else None,
        rng.choice(pool["competitors"]) if rng.random() < 0.3 else None,
        rng.choice(pool["sources"]),
        industry.capitalize(),
        employees,
        "Yes" if quality > 0.3 else rng.choice(["No", None, None]),
        "Yes" if quality > 0.4 else rng.choice(["No", None, None]),
        "No" if quality < 0.04 else "Yes",
        deal_id,
    ]


def _customer(rng, pool, today: date, n: int, pipeline: str, history: list[Row]) -> Row:
    company, industry, employees = rng.choice(pool["companies"])
    owner = rng.choice(pool["owners"])
    deal_id = f"C-{n:04d}"
    stop = rng.randint(0, len(CUSTOMERS_PATH) - 1)
    limit = MAX_DAYS[CUSTOMERS_PATH[stop]]
    entries = _walk(rng, CUSTOMERS_PATH, stop, today, rng.choice([1, 5, limit - 2, limit + 4]))
    name = f"{company} – customer"
    _record(history, entries, deal_id, name, pipeline, owner)
    seats = rng.choice([5, 12, 25, 40])
    return [
        name,
        entries[-1][1],
        owner,
        _email("Alex " + company.split()[0], company.split()[0].lower() + ".example"),
        company,
        seats * 600,
        today + timedelta(days=rng.randint(20, 300)),
        today - timedelta(days=rng.choice([2, 6, 12, 20])),
        None,
        None,
        seats,
        "Yes",
        "Yes",
        "Yes",
        deal_id,
    ]


def _shift_past(entries, today: date):
    """Closed deals closed in the past, not in the future."""
    overshoot = (entries[-1][0].date() - today).days
    if overshoot <= 0:
        return entries
    return [(when - timedelta(days=overshoot + 1), stage) for when, stage in entries]
