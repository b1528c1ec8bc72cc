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
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from sheetpipe.core.contract import Names
from sheetpipe.core.deals.pipeline import PipelineResult
from sheetpipe.core.sheet import cells
from sheetpipe.core.sheet.table import Table, first_new_row, table_of
from sheetpipe.model import (
    Cell,
    CellLink,
    ChangeSet,
    FormatSpec,
    Found,
    Problem,
    RepViews,
    Row,
    Snapshot,
)

TODAY_COLUMNS = ("Owner", "Do", "Deal", "Detail", "When")
TEAM = "Team"  # the Owner of the manager's lines on top
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
    """The reps by matching key (trimmed, case-folded name); "" is nobody."""

    def __init__(self, team: list[str]):
        self.by_key: dict[str, Rep] = {}
        for name in team:
            self.get(cells.norm(name), name)
        self.team = list(self.by_key)

    def get(self, key: str, name: object) -> Rep:
        if key not in self.by_key:
            self.by_key[key] = Rep(cells.text(name).strip() or NO_OWNER)
        return self.by_key[key]

    def named(self) -> Iterator[Rep]:
        """The Team's reps in its order, then other owners alphabetically; not nobody."""
        others = sorted(set(self.by_key) - set(self.team) - {""})
        for key in [*self.team, *others]:
            yield self.by_key[key]

    def nobody(self) -> Rep | None:
        return self.by_key.get("")


@dataclass
class _Owners:
    """Each candidate's owner as a code into matching keys, with a spelling per key."""

    codes: np.ndarray
    keys: list[str]  # trimmed, case-folded; "" for no owner
    spelling: list[object]  # the first cell that names each

    @classmethod
    def of(cls, owners: pd.Series) -> _Owners:
        codes, keys = cells.codes(owners)
        first = np.full(len(keys), -1)
        seen, at = np.unique(codes, return_index=True)
        first[seen] = at
        values = owners.to_numpy()
        return cls(codes, keys, [values[i] if i >= 0 else "" for i in first])


def _pick(
    reps: _Reps,
    owners: _Owners,
    at: np.ndarray,
    group: str,
    order: list[np.ndarray],
    line: Callable[[int, str], Row],
) -> None:
    """Count the candidates at positions `at` per owner, and keep each owner's first
    PER_GROUP by `order` (arrays by position, ascending; their values also merge one
    owner's lines across tabs). Only the lines kept are made: a group may hold tens of
    thousands of deals, so the rest is numpy on positions."""
    if not len(at):
        return
    codes = owners.codes[at]
    counts = np.bincount(codes, minlength=len(owners.keys))
    for code in np.flatnonzero(counts):
        rep = reps.get(owners.keys[code], owners.spelling[code])
        rep.totals[group] += int(counts[code])
    ranked = np.lexsort([k[at] for k in reversed(order)] + [codes])  # by owner first
    by_owner = codes[ranked]
    starts = np.flatnonzero(np.r_[True, by_owner[1:] != by_owner[:-1]])
    place = np.arange(len(ranked)) - np.repeat(starts, np.diff(np.r_[starts, len(ranked)]))
    for pos in at[ranked[place < PER_GROUP]]:
        rep = reps.by_key[owners.keys[owners.codes[pos]]]
        rank = tuple(k[pos] for k in order)
        rep.lines.setdefault(group, []).append((rank, line(pos, rep.name)))


def _add_tasks(reps: _Reps, tasks: pd.DataFrame, today: date) -> None:
    """Tasks overdue, then due today: `tasks` as `open_tasks` gives them."""
    if tasks.empty:
        return
    owners = _Owners.of(tasks["owner"].reset_index(drop=True))
    due, rows = tasks["due"].to_numpy(dtype="datetime64[ns]"), tasks["row"].to_numpy()
    text, deal, tab, col = (tasks[c].to_numpy() for c in ("text", "deal", "tab", "task_col"))
    day = np.datetime64(pd.Timestamp(today).to_datetime64(), "ns")
    for group, hit in ((OVERDUE, due < day), (DUE_TODAY, due == day)):

        def line(pos: int, owner: str, group: str = group) -> Row:
            what, name = cells.text(text[pos]).strip(), cells.text(deal[pos]).strip()
            link = CellLink(name or what, tab[pos], f"{col[pos]}{rows[pos]}")
            return [owner, group, link, what, pd.Timestamp(due[pos]).date()]

        _pick(reps, owners, np.flatnonzero(hit), group, [due, rows], line)


def _add_deals(reps: _Reps, deals: Deals, today: date) -> None:
    d = deals.desired
    if d.empty:
        return
    owners = _Owners.of(d["Owner"].reset_index(drop=True))
    rows = d.index.to_numpy()
    name, why, stage = d["Deal"].to_numpy(), d["Why"].to_numpy(), d["Stage"].to_numpy()
    score = d["Score"].to_numpy(dtype=float)
    since = d["In stage since"].to_numpy(dtype="datetime64[ns]")
    seen = d["First seen"].to_numpy(dtype="datetime64[ns]")
    health = d["Health"].to_numpy(dtype=object)
    last = np.datetime64("2262-01-01", "ns")  # an unknown stay sorts last
    since_sorted = np.where(np.isnat(since), last, since)

    def line(group: str, detail: Callable[[int], str], when: Callable[[int], object]):
        def make(pos: int, owner: str) -> Row:
            shown = cells.text(name[pos]).strip() or f"row {rows[pos]}"
            link = CellLink(shown, deals.tab, f"{deals.deal_col}{rows[pos]}")
            return [owner, group, link, detail(pos), when(pos)]

        return make

    def day_of(values: np.ndarray) -> Callable[[int], date | None]:
        return lambda pos: None if np.isnat(values[pos]) else pd.Timestamp(values[pos]).date()

    def reason(pos: int) -> str:
        return cells.text(why[pos])

    hot = np.flatnonzero(health == "Hot")
    _pick(reps, owners, hot, HOT, [-score, rows], line(HOT, reason, day_of(since)))
    for group, word in ((STALLED, "Stalled"), (AT_RISK, "At risk")):
        found = np.flatnonzero(health == word)
        _pick(reps, owners, found, group, [since_sorted, rows], line(group, reason, day_of(since)))
    yesterday = np.datetime64(pd.Timestamp(today).to_datetime64(), "ns") - np.timedelta64(1, "D")
    # A deal in no known stage has no History, so it would look new every cycle.
    new = (seen >= yesterday) & d["Tracked"].to_numpy(dtype=bool) & ~np.isin(health, CLOSED)

    def stage_and_score(pos: int) -> str:
        return f"{cells.text(stage[pos])}, score {score[pos]:g}"

    newest = -seen.astype("int64")
    _pick(
        reps,
        owners,
        np.flatnonzero(new),
        NEW,
        [newest, rows],
        line(NEW, stage_and_score, day_of(seen)),
    )


def _manager(reps: _Reps) -> list[Row]:
    rows: list[Row] = [[TEAM, "Summary", rep.name, _summary(rep), None] for rep in reps.named()]
    nobody = reps.nobody()
    if nobody is not None:
        for group in GROUPS:
            for line in nobody.ordered(group):
                rows.append([TEAM, f"Give it an owner: {group}", *line[2:]])
            more = nobody.totals[group] - len(nobody.lines.get(group, []))
            if more > 0:
                rows.append([TEAM, f"Give it an owner: {group}", None, f"… and {more} more", None])
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
    table: Table | None, appended: list[dict[str, Cell]], first: int, tab: str, today: date
) -> pd.DataFrame:
    """Tasks not Done, due by `today`: the Tasks tab's and those this cycle appends
    (from sheet row `first`). Columns: row, tab, task_col, text, deal, owner, due."""
    frames = []
    if table is not None and table.has("Task") and table.has("Due"):
        due = table.column("Due").dates()
        # Only the tasks due by today count; the column readings are the cycle's own.
        at = due.index[
            (due <= pd.Timestamp(today)).to_numpy() & ~table.column("Done").yeses().to_numpy()
        ]
        frames.append(
            pd.DataFrame(
                {
                    "row": at,
                    # As read: only the lines Today keeps are turned into text.
                    "text": table.get("Task")[at].to_numpy(),
                    "deal": table.get("Deal")[at].to_numpy(),
                    "owner": table.get("Owner")[at].to_numpy(),
                    "due": due[at].to_numpy(),
                }
            )
        )
    if appended:
        frames.append(
            pd.DataFrame(
                {
                    "row": range(first, first + len(appended)),
                    "text": [t.get("Task") for t in appended],
                    "deal": [t.get("Deal") for t in appended],
                    "owner": [t.get("Owner") for t in appended],
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
    snapshot: Snapshot, name: str, rows: list[Row], key: str = "today", dated: int = 0
) -> Found:
    """Rewrite a tab sheetpipe owns whole when what it shows would change; a tab of the
    same name that is not sheetpipe's (another header) is left alone, and reported (a
    result with that problem only). `key` is the tab's key in sheetpipe.toml [tabs];
    rows `dated` cells long end in a day (Today's When)."""
    tab = snapshot.find(name)
    if tab is None:
        return Found(ChangeSet(new_tabs=[(name, [rows[0]])], rewrites={name: rows}))
    header = [cells.norm(h) for h in rows[0]]
    ours = cells.trim([header], each_row=True)
    if tab.rows and cells.trim([[cells.norm(h) for h in tab.header]], each_row=True) != ours:
        shown = ", ".join(h for h in map(str, rows[0]) if h)
        return Found(problems=[
            Problem(
                f"{tab.name} tab",
                f"the tab is not sheetpipe's (its header is not {shown}), so sheetpipe "
                f"leaves it alone and does not write it. Rename your tab, or give sheetpipe "
                f'another one in sheetpipe.toml: [tabs] {key} = "My {key}".',
                "warning",
            )
        ])  # fmt: skip
    if _shown(tab.rows, snapshot.date_cells == "serial", dated) != _shown(rows, False, dated):
        return Found(ChangeSet(rewrites={tab.name: rows}))
    return Found()


def _day_text(value: Cell, serial_numbers: bool) -> str:
    """A When cell as its day, whether it is a date, a datetime or a serial number."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if serial_numbers and isinstance(value, int | float) and not isinstance(value, bool):
        return (cells.SERIAL_EPOCH + timedelta(days=value)).date().isoformat()
    return cells.text(value)


def _shown(rows: list[Row], serial_numbers: bool, dated: int) -> list[list[str]]:
    """What a person sees, as text: a date in the last column of a row `dated` cells long
    as a date however the backend hands it over; trailing empty cells and rows dropped
    (Google drops them)."""
    out = []
    text = cells.text
    for row in rows:
        # Most cells are text already: only the others go through cells.text (a third of
        # an idle 100 k cycle's Today step went there).
        texts = [(v if v.strip() else "") if type(v) is str else text(v) for v in row]
        if dated and len(row) == dated:
            texts[-1] = _day_text(row[-1], serial_numbers)
        out.append(texts)
    return cells.trim(out, each_row=True)


def today_tab(
    snapshot: Snapshot,
    names: Names,
    pipelines: list[tuple[PipelineResult, Table]],
    tasks: Table | None,
    task_rows: list[dict[str, object]],
    now: datetime,
) -> Found:
    """The Today step: the tab rewritten when what it lists changes, and a filter view
    per rep where the backend has them."""
    tasks_tab = snapshot.find(names.tasks)
    deals = [
        Deals(result.name, result.desired, cells.col_letter(table.cols[cells.norm("Deal")]))
        for result, table in pipelines
    ]
    team = team_names(table_of(snapshot, names.team))
    tab = tasks_tab.name if tasks_tab else names.tasks
    found = open_tasks(tasks, task_rows, first_new_row(tasks_tab), tab, now.date())
    rows = plan_today(deals, found, team, now.date())
    step = rewrite_owned(snapshot, names.today, rows, "today", len(TODAY_COLUMNS))
    if not step.problems:  # sheetpipe's tab (a person's of that name is left alone)
        step.changes.formats += _rep_views(snapshot, names.today, rows)
    return step


def _rep_views(snapshot: Snapshot, name: str, rows: list[Row]) -> list[tuple[str, FormatSpec]]:
    """A filter view per rep Today lists, where the backend has filter views."""
    if not snapshot.filter_views:
        return []
    owner = TODAY_COLUMNS.index("Owner")
    reps = frozenset(str(r[owner]) for r in rows[1:] if r and r[owner] and r[owner] != TEAM)
    want = RepViews(owner + 1, reps)
    tab = snapshot.find(name)
    installed = [f for f in tab.formats if isinstance(f, RepViews)] if tab else []
    if want in installed or (not reps and not installed):  # no rep and no view: done
        return []
    return [(tab.name if tab else name, want)]
