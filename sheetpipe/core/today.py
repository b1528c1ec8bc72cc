"""The Today tab: for each rep, what to do first; for the manager, who has what.

Each rep's lines come in this order, each group in its own order:

1. tasks overdue (oldest due first), then tasks due today (in Tasks' order);
2. Hot deals to call (highest score first);
3. Stalled, then At risk deals, with the reason (longest in stage first);
4. deals new since yesterday (newest first).

A manager's part comes first: one summary line per rep, then every open deal and open
task with no owner. Reps are the Team tab's active names in its order, then any other
owner the pipelines or Tasks name, alphabetically; names match as columns do (trimmed,
any case). Each line's Deal links to its row (the deal's, or the task's).

Limits: at most `PER_GROUP` lines of a group per rep, then one line saying how many
more there are. Today is where a rep starts; the pipeline tabs hold the rest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from sheetpipe.core import cells
from sheetpipe.core.table import Table
from sheetpipe.model import Cell, CellLink, ChangeSet, Problem, Row, Snapshot

TODAY_COLUMNS = ("Owner", "Do", "Deal", "Detail", "When")
PER_GROUP = 20
NO_OWNER = "(no owner)"
OVERDUE, DUE_TODAY, HOT, STALLED, AT_RISK, NEW = (
    "Overdue task", "Due today", "Call: Hot", "Unstick: Stalled", "Check: At risk", "New deal",
)  # fmt: skip
GROUPS = (OVERDUE, DUE_TODAY, HOT, STALLED, AT_RISK, NEW)
CLOSED = ("Won", "Lost")


@dataclass
class Deals:
    """One pipeline's deals as the cycle found them (PipelineResult.desired)."""

    tab: str
    # Health, Why, Score, Stage, Deal, Owner, In stage since, First seen, Tracked
    desired: pd.DataFrame
    deal_col: str  # the letter of the tab's Deal column, where links lead


@dataclass
class Rep:
    name: str
    lines: dict[str, list[tuple[tuple, Row]]] = field(default_factory=dict)  # the first ones
    totals: Counter[str] = field(default_factory=Counter)

    def ordered(self, group: str) -> list[Row]:
        return [line for _, line in sorted(self.lines.get(group, []), key=lambda x: x[0])]


def plan_today(
    pipelines: list[Deals], tasks: pd.DataFrame, team: list[str], today: date
) -> list[Row]:
    """The Today tab's rows, its header first. `tasks`: see `open_tasks`."""
    reps = _Reps(team)
    _add_tasks(reps, tasks, today)
    for deals in pipelines:
        _add_deals(reps, deals, today)
    rows: list[Row] = [list(TODAY_COLUMNS)]
    rows += _manager(reps)
    for rep in reps.named():
        rows += _lines(rep)
    return rows


class _Reps:
    def __init__(self, team: list[str]):
        self.by_key: dict[str, Rep] = {}
        for name in team:
            self.get(name)
        self.team = list(self.by_key)

    def get(self, name: str) -> Rep:
        key = cells.norm(name)
        if key not in self.by_key:
            self.by_key[key] = Rep(name.strip() or NO_OWNER)
        return self.by_key[key]

    def named(self) -> Iterator[Rep]:
        """The Team's reps in its order, then other owners alphabetically; not nobody."""
        others = sorted(
            set(self.by_key) - set(self.team) - {""}, key=lambda k: (k, self.by_key[k].name)
        )
        for key in [*self.team, *others]:
            yield self.by_key[key]

    def nobody(self) -> Rep | None:
        return self.by_key.get("")


def _pick(
    reps: _Reps, found: pd.DataFrame, group: str, order: list[str], line: Callable[..., Row]
) -> None:
    """Count `found` per owner and keep each owner's first PER_GROUP lines by `order`
    (its columns ascending; the sort key merges one owner's lines across tabs)."""
    if found.empty:
        return
    keys = found["owner"].map(cells.norm)
    for first_name, n in found.groupby(keys, sort=False)["owner"].agg(["first", "size"]).values:
        reps.get(first_name).totals[group] += int(n)
    first = found.sort_values(order, kind="stable").groupby(keys, sort=False).head(PER_GROUP)
    for record in first.itertuples(index=False):
        rep = reps.get(record.owner)
        rank = tuple(getattr(record, c) for c in order)
        rep.lines.setdefault(group, []).append((rank, line(rep.name, record)))


def _add_tasks(reps: _Reps, tasks: pd.DataFrame, today: date) -> None:
    """Tasks overdue, then due today: `tasks` as `open_tasks` gives them."""
    day = pd.Timestamp(today)
    for group, hit in ((OVERDUE, tasks["due"] < day), (DUE_TODAY, tasks["due"] == day)):

        def line(owner: str, t, group: str = group) -> Row:  # noqa: ANN001 (a row tuple)
            link = CellLink(t.deal or t.text, t.tab, f"{t.task_col}{t.row}")
            return [owner, group, link, t.text, t.due.date()]

        _pick(reps, tasks[hit], group, ["due", "row"], line)


def _add_deals(reps: _Reps, deals: Deals, today: date) -> None:
    d = deals.desired
    if d.empty:
        return
    since = d["In stage since"]
    f = pd.DataFrame(
        {
            "row": d.index,
            "owner": cells.texts(d["Owner"]).to_numpy(),
            "name": cells.texts(d["Deal"]).to_numpy(),
            "health": d["Health"].to_numpy(),
            "why": d["Why"].to_numpy(),
            "minus_score": -d["Score"].to_numpy(dtype=float),
            "stage": cells.texts(d["Stage"]).to_numpy(),
            "since": since.fillna(pd.Timestamp.max).to_numpy(),  # unknown: last
            "minus_seen": -d["First seen"].to_numpy(dtype="datetime64[ns]").astype("int64"),
            "seen": d["First seen"].to_numpy(),
            "tracked": d["Tracked"].to_numpy(dtype=bool),
        }
    )

    def line(group: str, detail: Callable, when: Callable) -> Callable[..., Row]:
        def make(owner: str, deal) -> Row:  # noqa: ANN001 (a row tuple)
            link = CellLink(
                deal.name or f"row {deal.row}", deals.tab, f"{deals.deal_col}{deal.row}"
            )
            return [owner, group, link, detail(deal), when(deal)]

        return make

    def why(deal) -> str:  # noqa: ANN001
        return deal.why

    def in_stage_since(deal) -> date | None:  # noqa: ANN001
        return None if deal.since == pd.Timestamp.max else pd.Timestamp(deal.since).date()

    health = f["health"]
    _pick(reps, f[health == "Hot"], HOT, ["minus_score", "row"], line(HOT, why, in_stage_since))
    for group, word in ((STALLED, "Stalled"), (AT_RISK, "At risk")):
        _pick(reps, f[health == word], group, ["since", "row"], line(group, why, in_stage_since))
    yesterday = pd.Timestamp(today) - pd.Timedelta(days=1)
    # A deal in no known stage has no History, so it would look new every cycle.
    new = (pd.to_datetime(f["seen"]).dt.normalize() >= yesterday) & f["tracked"]
    new &= ~health.isin(CLOSED)
    _pick(
        reps,
        f[new],
        NEW,
        ["minus_seen", "row"],
        line(
            NEW,
            lambda r: f"{r.stage}, score {-r.minus_score:g}",
            lambda r: pd.Timestamp(r.seen).date(),
        ),
    )


def _manager(reps: _Reps) -> list[Row]:
    rows: list[Row] = [["Team", "Summary", rep.name, _summary(rep), None] for rep in reps.named()]
    nobody = reps.nobody()
    if nobody is not None:
        for group in GROUPS:
            for line in nobody.ordered(group):
                rows.append(["Team", f"Give it an owner: {group}", *line[2:]])
            more = nobody.totals[group] - len(nobody.lines.get(group, []))
            if more > 0:
                rows.append(
                    ["Team", f"Give it an owner: {group}", None, f"… and {more} more", None]
                )
    return rows


def _summary(rep: Rep) -> str:
    t = rep.totals
    parts = [
        (t[OVERDUE], "overdue"),
        (t[DUE_TODAY], "due today"),
        (t[HOT], "hot"),
        (t[STALLED] + t[AT_RISK], "stalled or at risk"),
        (t[NEW], "new"),
    ]
    said = [f"{n} {what}" for n, what in parts if n]
    return " · ".join(said) if said else "nothing pressing"


def _lines(rep: Rep) -> list[Row]:
    rows: list[Row] = []
    for group in GROUPS:
        found = rep.ordered(group)
        rows += found[:PER_GROUP]
        if rep.totals[group] > PER_GROUP:
            rows.append(
                [rep.name, group, None, f"… and {rep.totals[group] - PER_GROUP} more", None]
            )
    return rows


def open_tasks(
    table: Table | None, appended: list[dict[str, Cell]], first: int, tab: str
) -> pd.DataFrame:
    """Tasks not Done with a due date: the Tasks tab's and those this cycle appends
    (from sheet row `first`). Columns: row, tab, task_col, text, deal, owner, due."""
    frames = []
    if table is not None and table.has("Task") and table.has("Due"):
        done = table.column("Done").yeses().to_numpy()
        frames.append(
            pd.DataFrame(
                {
                    "row": table.index,
                    "text": table.column("Task").stripped(),
                    "deal": table.column("Deal").stripped(),
                    "owner": table.column("Owner").stripped(),
                    "due": table.column("Due").dates(),
                }
            )[~done]
        )
    if appended:
        frames.append(
            pd.DataFrame(
                {
                    "row": range(first, first + len(appended)),
                    "text": [cells.text(t.get("Task")) for t in appended],
                    "deal": [cells.text(t.get("Deal")) for t in appended],
                    "owner": [cells.text(t.get("Owner")).strip() for t in appended],
                    "due": pd.to_datetime([t.get("Due") for t in appended]),
                    "open": [not cells.yes(t.get("Done")) for t in appended],
                }
            )
            .query("open")
            .drop(columns="open")
        )
    if not frames:
        return pd.DataFrame(columns=["row", "tab", "task_col", "text", "deal", "owner", "due"])
    tasks = pd.concat(frames, ignore_index=True)
    tasks = tasks[tasks["due"].notna()]
    task_col = (
        cells.col_letter(table.cols[cells.norm("Task")]) if table and table.has("Task") else "A"
    )
    return tasks.assign(tab=tab, task_col=task_col)


def team_names(table: Table | None) -> list[str]:
    """The Team tab's names, in its order, where Active is not No."""
    if table is None or not table.has("Name"):
        return []
    names = table.column("Name").stripped()
    inactive = table.column("Active").norms().isin(["no", "n", "false", "0"])
    return [n for n, off in zip(names, inactive, strict=True) if n and not off]


def rewrite_owned(
    snapshot: Snapshot, name: str, rows: list[Row], changes: ChangeSet, problems: list[Problem]
) -> None:
    """Rewrite a tab sheetpipe owns whole when what it shows would change; a tab of the
    same name that is not sheetpipe's (another header) is left alone, and reported."""
    tab = snapshot.find(name)
    if tab is None:
        changes.new_tabs.append((name, [rows[0]]))
        changes.rewrites[name] = rows
        return
    if tab.rows and [cells.norm(h) for h in tab.header] != [cells.norm(h) for h in rows[0]]:
        problems.append(
            Problem(
                f"{tab.name} tab",
                f"the tab is not sheetpipe's (its header is not {', '.join(rows[0])}), so "
                f"sheetpipe leaves it alone and writes no {name} list. Rename your tab, or "
                f'give sheetpipe another one in sheetpipe.toml: [tabs] today = "My day".',
                "warning",
            )
        )
        return
    if _shown(tab.rows, snapshot.date_cells == "serial") != _shown(rows, False):
        changes.rewrites[tab.name] = rows


def _shown(rows: list[Row], serial_numbers: bool) -> list[list[str]]:
    """What a person sees, as text: a date in the last column as a date however the
    backend hands it over; trailing empty cells and rows dropped (Google drops them)."""
    out = []
    for row in rows:
        texts = [cells.text(v) for v in row]
        if len(row) == len(TODAY_COLUMNS) and not isinstance(row[-1], str):
            day = cells.parse_date(row[-1], serial_numbers=serial_numbers)
            texts[-1] = day.isoformat() if day else texts[-1]
        while texts and not texts[-1]:
            texts.pop()
        out.append(texts)
    while out and not out[-1]:
        out.pop()
    return out
