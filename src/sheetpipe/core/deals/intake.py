"""Intake tabs: each response becomes a deal, a merge or a question, exactly once.

A response is taken when its `Intake status` cell is empty. sheetpipe then writes what it
did there (`Created D-0123 for Ana Ruiz (round-robin, turn 18)`, `Merged into D-0045
(same e-mail)`, `Possible duplicate of D-0045 …`, `Rejected: …`) and, in `Intake key`, a
digest of what the response says: its answers to the lead fields (see _digest). A response
edited later (Google Forms lets people edit theirs) no longer matches its key and is
handled again: a created or merged deal gets the cells it lacks, a rejected or doubtful
one is decided afresh. A column added, moved or filled by a person is no edit. A person
answers a possible duplicate by writing `create` or `merge` (or `merge into D-0045`) in
its status.

New deals are planned in the same cycle as the rest of their pipeline: plan_cycle plans
the pipeline tab with the new rows in it (`IntakeCycle.tabs`), then `finish` turns the
values planned for them into appended rows and writes each response's status.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import cast

import pandas as pd

from sheetpipe.core.contract import (
    DAEMON,
    FROM_DEAL,
    INTAKE_KEY,
    INTAKE_STATUS,
    LEAD_HEADERS,
    ON_DEAL,
    PEOPLE_COLUMNS,
    IntakeTab,
    Names,
)
from sheetpipe.core.deals.leads import Known, company_domain, email_key, known_email_key, phone_key
from sheetpipe.core.deals.pipeline import Added
from sheetpipe.core.deals.tasks import slug
from sheetpipe.core.inputs.settings import Settings
from sheetpipe.core.inputs.stages import Stages
from sheetpipe.core.inputs.team import TURN_PATTERN, RoundRobin, last_turn, read_team
from sheetpipe.core.sheet import cells
from sheetpipe.core.sheet.diff import DATE_FORMS
from sheetpipe.core.sheet.table import Table, put, read_table, table_of
from sheetpipe.model import ChangeSet, ColumnWrite, DateCells, Problem, Snapshot, Tab, tab_key

OURS = re.compile(r"^(created|merged into|possible duplicate of|rejected)\b", re.I)
DEAL_REF = re.compile(r"^(?:created|merged into) (\S+)", re.I)
# What a returning lead or an edited response fills in where the deal has nothing; its
# message goes into a task instead, and the deal keeps its first Source.
CONTACT_FIELDS = ("Name", "Email", "Company", "Phone")
MERGE_INTO = re.compile(r"^merge(?: into)?\s+(\S+)$", re.I)
# The turn of a deal made by round-robin, read back only from the status sheetpipe writes
# for it (see _Decide.create and edited): "Created D-0052 for Ana (round-robin, turn 18;
# a note)", perhaps "(the deal is no longer in Deals)" and "· edited 2026-03-10" after it.
# A "turn 99" anywhere else (a rejected e-mail quoted, an owner typed on the form, a
# person's note) is not read: the owner is followed by sheetpipe's own "(owner as given)".
_NOTE = r"(?:; (?:[^()]|\([^()]*\))*)?"  # a note; a name in it may hold "(EMEA)"
ASSIGNED = re.compile(
    rf"Created \S* for .+ \({TURN_PATTERN}{_NOTE}\)"
    r"(?: \(the deal is no longer in [^()]*\))?(?: · edited \d{4}-\d{2}-\d{2})?"
)
# The same in History's By, for a won deal's row dealt out in the next pipeline
# (core/deals/transfer.py, core/deals/pipeline.py): "sheetpipe (from D-0012; round-robin, turn 7)".
HANDED_ON = re.compile(rf"{DAEMON} \(from [^;)\s]+; {TURN_PATTERN}\)")


@dataclass
class Lead:
    """One response, read."""

    tab: str
    row: int
    fields: dict[str, str]  # lead field (Name, Email, …) → text as typed
    extra: dict[str, object]  # norm(deal column) → cell, for columns named like one
    submitted: datetime
    digest: str
    email: str | None = None  # as compared
    phone: str | None = None
    problem: str | None = None  # why it cannot be taken

    @property
    def domain(self) -> str | None:
        return company_domain(self.email)

    def get(self, name: str) -> str:
        return self.fields.get(name, "")


@dataclass
class Decision:
    """What became of one response: its status, once the deals it names have IDs."""

    tab: str
    row: int
    digest: str
    template: str  # str.format with a deal ID for each name in `refs`
    refs: dict[str, tuple[str, int]] = field(default_factory=dict)  # name → (pipeline, row)


@dataclass
class PipelineLeads:
    """What intake does to one pipeline tab: cells filled in, rows added."""

    name: str  # as sheetpipe.toml names it
    table: Table  # as read
    date_cells: DateCells
    added: list[str] = field(default_factory=list)  # columns the tab lacks, in order
    edits: dict[int, dict[str, object]] = field(default_factory=dict)  # row → norm col → value
    new: list[dict[str, object]] = field(default_factory=list)  # norm col → value
    known: Known = field(default_factory=Known)
    rows: list[int] = field(default_factory=list)  # sheet row of each Known position
    open: list[bool] = field(default_factory=list)  # by Known position
    owners: list[str] = field(default_factory=list)  # by Known position

    @property
    def first_new(self) -> int:
        return len(self.table.tab.rows) + 1

    def col(self, column: str) -> int:
        """The 1-based column of a deal column, adding it at the right end if missing."""
        key = cells.norm(column)
        if key in self.table.cols:
            return self.table.cols[key]
        added = [cells.norm(a) for a in self.added]
        if key not in added:
            self.added.append(_column_name(key))
            added.append(key)
        return self.table.width + added.index(key) + 1

    def tab(self, names: Names) -> Tab:
        """The pipeline tab as this cycle plans it: cells filled in and rows added."""
        source = self.table.tab
        header = [*source.rows[0], *map(names.col, self.added)] if source.rows else []
        width = len(header)
        rows = [header, *source.rows[1:]]
        for row, values in self.edits.items():
            rows[row - 1] = self._laid_out(values, rows[row - 1], width)
        rows += [self._laid_out(values, [], width) for values in self.new]
        return Tab(source.name, rows, source.formats)

    def with_rows(self, rows: list[dict[str, object]], columns: Iterable[str]) -> PipelineLeads:
        """These leads and `rows` more (won deals moved on), with `columns` added where
        the tab lacks them, as a new object: an earlier step's is never written into."""
        more = replace(self, added=list(self.added), new=[*self.new, *rows])
        for key in columns:
            more.col(key)
        return more

    def added_rows(self) -> Added:
        """The rows this cycle appends, cells as written (dates as dates), for the
        pipeline's step to plan and append with its own cells."""
        rows = []
        for values in self.new:
            out: list[object] = []
            for key, value in values.items():
                put(out, self.col(_column_name(key)), value)
            rows.append(tuple(out))
        return Added(self.first_new, tuple(rows), frozenset(self.edits))

    def _laid_out(self, values: dict[str, object], row: list, width: int) -> list:
        out = [*row, *[None] * (width - len(row))]
        form = DATE_FORMS[self.date_cells]
        for key, value in values.items():
            is_day = isinstance(value, date) and not isinstance(value, datetime)
            out[self.col(key) - 1] = form(pd.Timestamp(value)) if is_day else value
        return out


class IntakeCycle:
    """Every intake tab of one cycle: the decisions, and what they do to the pipelines."""

    def __init__(
        self, snapshot: Snapshot, names: Names, settings: Settings, now: datetime,
        history: Table | None = None,
    ):  # fmt: skip
        self.snapshot, self.names, self.settings, self.now = snapshot, names, settings, now
        self.history = history  # its By column records the turns of won deals moved on
        self.decisions: list[Decision] = []
        # tab → row → the new Intake key of a response handled under a key of the old form
        self.rekeyed: dict[str, dict[int, str]] = {}
        self.pipelines: dict[str, PipelineLeads] = {}
        self.tasks: list[dict[str, object]] = []
        self.intake_tables: dict[str, Table] = {}
        self._robin: RoundRobin | None = None
        # What the first History row of a row this cycle adds says of it, by (tab, row):
        # "from D-0012; round-robin, turn 7" (see core/deals/transfer.py).
        self.history_notes: dict[tuple[str, int], str] = {}
        self.problems: list[Problem] = []
        self.created: list[tuple[str, int, str, int]] = []  # (pipeline, row, intake tab, row)

    def robin(self, pipelines: dict[str, Table | None], stages: Stages) -> RoundRobin:
        """The rotation, read from the sheet when first needed."""
        if self._robin is None:
            self._robin, found = self._new_robin(pipelines, stages)
            self.problems += found
        return self._robin

    def robin_now(
        self, pipelines: dict[str, Table | None], stages: Stages
    ) -> tuple[RoundRobin, list[Problem]]:
        """The rotation as intake left it, for the steps after it to go on from: a copy,
        so they never write into this step's (and the problems of reading Team, when
        intake never needed it)."""
        if self._robin is not None:
            return copy.deepcopy(self._robin), []
        return self._new_robin(pipelines, stages)

    def _new_robin(
        self, pipelines: dict[str, Table | None], stages: Stages
    ) -> tuple[RoundRobin, list[Problem]]:
        """Team, who holds how many open deals, and the last turn sheetpipe recorded for
        an assignment (an intake status, or the History row of a won deal dealt out in
        the next pipeline)."""
        team, problems = read_team(table_of(self.snapshot, self.names.team),
                                   self.settings.date_order)  # fmt: skip
        statuses = [s.strip() for t in self.intake_tables.values()
                    for s in cells.texts(t.get(INTAKE_STATUS))]  # fmt: skip
        turn = last_turn(statuses, ASSIGNED)
        if self.history is not None:
            by = cells.texts(self.history.get("By")).str.strip()
            turn = max(turn, last_turn(by, HANDED_ON))
        counts = _open_deals(pipelines, stages)
        return RoundRobin(team, counts, turn, self.now.date()), problems

    def leads_of(self, name: str, table: Table) -> PipelineLeads:
        """What this cycle adds to a pipeline tab (made on first use)."""
        if name not in self.pipelines:
            self.pipelines[name] = PipelineLeads(name, table, self.snapshot.date_cells)
        return self.pipelines[name]

    def tab(self, pipeline: str) -> Tab | None:
        """The pipeline tab to plan in place of the one read, when this cycle adds to it."""
        leads = self.pipelines.get(pipeline)
        return leads.tab(self.names) if leads and (leads.new or leads.edits) else None

    def adds_nothing(self) -> bool:
        """No response handled this cycle: the pipelines are planned as the sheet has them."""
        return not self.decisions and not self.rekeyed and not self.pipelines

    def edits(self) -> ChangeSet:
        """Cells filled in on deals already there (the pipelines' steps plan those rows
        as filled, and their guard checks them)."""
        changes = ChangeSet()
        for leads in self.pipelines.values():
            by_col: dict[int, tuple[str, list[int], list[object]]] = {}
            for row, values in sorted(leads.edits.items()):
                for key, value in values.items():
                    name = self.names.col(_column_name(key))
                    _, rows, written = by_col.setdefault(leads.col(key), (name, [], []))
                    rows.append(row)
                    written.append(value)
            for col, (name, rows, written) in sorted(by_col.items()):
                changes.writes.append(ColumnWrite(leads.table.name, col, name, rows, written))
        return changes


@dataclass
class IntakeStatuses:
    """The second half of intake, once the pipelines have their IDs: each response's
    status and key written, the columns intake adds to a pipeline, the returning-lead
    tasks Tasks lacks, and what it says of each new deal (for Outbox and `explain`)."""

    changes: ChangeSet
    tasks: list[dict[str, object]]
    new_leads: list[tuple[str, int, str]]  # (pipeline, row, the response's status)
    origins: dict[str, list[str]]  # deal ID (case-folded) → how it came in


def intake_statuses(
    intake: IntakeCycle,
    pipelines: dict[str, PipelineLeads],
    ids: dict[str, pd.Series],
    existing_tasks: AbstractSet[str],
) -> IntakeStatuses:
    """`pipelines`: what this cycle added to each pipeline (intake's leads and the won
    deals moved on); `ids`: each pipeline's deal IDs by sheet row, as planned."""
    changes = ChangeSet()
    for leads in pipelines.values():
        for column in leads.added:
            changes.new_columns.append(
                (leads.table.name, leads.col(column), intake.names.col(column))
            )
    written = _write_statuses(intake, ids, changes)
    tasks = []
    for task in intake.tasks:
        deal_id = _id_at(ids, *task["_deal"])  # type: ignore[misc]
        task_id = str(task["Task ID"]).format(deal=deal_id)
        if task_id not in existing_tasks:
            row = {k: v for k, v in task.items() if k != "_deal"}
            tasks.append({**row, "Task ID": task_id, "Deal ID": deal_id})
    by_tab = {(tab_key(tab), at): status for (tab, at), status in written.items()}
    new_leads = [(p, row, by_tab.get((tab_key(tab), at), ""))
                 for p, row, tab, at in intake.created]  # fmt: skip
    return IntakeStatuses(changes, tasks, new_leads, _origins(intake, written))


def _origins(intake: IntakeCycle, written: dict[tuple[str, int], str]) -> dict[str, list[str]]:
    """Deal ID (case-folded) → how it came in: "Web leads row 7: Created D-0052 …",
    from every status, as read or as written this cycle (for `explain`)."""
    found: dict[str, list[str]] = {}
    for name, table in intake.intake_tables.items():
        statuses = dict(cells.texts(table.get(INTAKE_STATUS)).items())
        statuses.update({r: t for (tab, r), t in written.items() if tab == name})
        for row, status in sorted(statuses.items()):
            ref = DEAL_REF.match(status)
            if ref:
                found.setdefault(ref.group(1).casefold(), []).append(f"{name} row {row}: {status}")
    return found


def _write_statuses(
    intake: IntakeCycle, ids: dict[str, pd.Series], changes: ChangeSet
) -> dict[tuple[str, int], str]:
    """Each decided response's status and key into `changes` (this step's own); returns
    the statuses written, by (tab, row)."""
    written: dict[tuple[str, int], str] = {}
    by_tab: dict[str, list[Decision]] = {tab: [] for tab in intake.rekeyed}
    for decision in intake.decisions:
        by_tab.setdefault(decision.tab, []).append(decision)
    for tab_name, decisions in by_tab.items():
        table = intake.intake_tables[tab_name]
        status_col, key_col = _owned_cols(table, changes)
        rows = [d.row for d in decisions]
        texts = [
            d.template.format(**{k: _id_at(ids, *ref) for k, ref in d.refs.items()})
            for d in decisions
        ]
        if rows:
            changes.writes.append(ColumnWrite(table.name, status_col, INTAKE_STATUS, rows, texts))
        written.update(((table.name, r), t) for r, t in zip(rows, texts, strict=True))
        keys = {d.row: d.digest for d in decisions}
        keys.update(intake.rekeyed.get(tab_name, {}))
        keyed = sorted(keys)
        changes.writes.append(
            ColumnWrite(table.name, key_col, INTAKE_KEY, keyed, [keys[r] for r in keyed])
        )
        anchor = _anchor(table)
        read = cells.texts(table.get(INTAKE_STATUS)[keyed])
        held = cells.texts(table.get(anchor)[keyed])
        changes.expect[table.name] = dict(zip(keyed, zip(read, held, strict=True), strict=True))
        changes.expect_cols[table.name] = (status_col, table.cols.get(cells.norm(anchor), 1))
    return written


def plan_intake(
    snapshot: Snapshot,
    names: Names,
    settings: Settings,
    stages: Stages,
    pipelines: dict[str, Table | None],
    now: datetime,
    history: Table | None = None,
) -> IntakeCycle:
    """Decide what becomes of every response waiting on the intake tabs."""
    cycle = IntakeCycle(snapshot, names, settings, now, history)
    problems = cycle.problems
    waiting = []
    for intake in names.intakes:
        tab = snapshot.find(intake.tab)
        if tab is None:
            problems.append(
                Problem(
                    f"{intake.tab} tab",
                    "the intake tab named in sheetpipe.toml [[intake]] is missing; check its name.",
                    "warning",
                )
            )
            continue
        table = read_table(tab, date_cells=snapshot.date_cells)
        cycle.intake_tables[table.name] = table
        leads, rekeyed = _waiting(table, intake, settings, now, problems)
        waiting.append((intake, table, leads))
        if rekeyed:
            cycle.rekeyed[table.name] = rekeyed
    for intake, _table, leads in waiting:
        pipeline = pipelines.get(intake.pipeline)
        if pipeline is None or not leads:
            continue
        first = next((s for s in stages.of(intake.pipeline) if not s.closed), None)
        if first is None:
            problems.append(
                Problem(
                    f"{intake.tab} tab",
                    f"{len(leads)} response(s) wait: "
                    f"{intake.pipeline} has no stages in Stages yet.",
                )
            )
            continue
        leads_of = cycle.leads_of(intake.pipeline, pipeline)
        if not leads_of.rows:
            _index(leads_of, stages, settings)
        robin = cycle.robin(pipelines, stages)
        _Decide(cycle, leads_of, first.name, robin, problems).all(leads)
    return cycle


def _open_deals(pipelines: dict[str, Table | None], stages: Stages) -> Counter[str]:
    """norm(owner) → open deals they own, over every pipeline."""
    counts: Counter[str] = Counter()
    for name, table in pipelines.items():
        if table is None:
            continue
        closed = {cells.norm(s.name) for s in stages.of(name) if s.closed}
        open_ = ~table.column("Stage").norms().isin(closed) & ~table.column("Stage").blank()
        counts.update(table.column("Owner").norms()[open_ & ~table.column("Owner").blank()])
    return counts


def _waiting(
    table: Table, intake: IntakeTab, settings: Settings, now: datetime, problems: list[Problem]
) -> tuple[list[tuple[Lead, str]], dict[int, str]]:
    """Responses to handle now, each with its status as read ("" for a new one); and the
    new Intake key of each handled response whose key is of the form written before."""
    fields = _field_columns(table, intake)
    statuses = cells.texts(table.get(INTAKE_STATUS)).str.strip()
    keys = cells.texts(table.get(INTAKE_KEY)).str.strip()
    submitted = (
        table.column(fields["Submitted"]).datetimes(settings.date_order)
        if ("Submitted" in fields)
        else None
    )
    read = _Answers(table, fields)
    out, rekeyed = [], {}
    for row in table.index:
        texts, extras = read.row(row)
        if not any(texts.values()) and all(cells.is_blank(v) for v in extras.values()):
            continue  # an empty row
        digest, status, key = _digest(texts), statuses[row], keys[row]
        if status and key != digest and OURS.match(status) and key == _legacy_digest(
            texts, extras
        ):  # fmt: skip
            rekeyed[row] = key = digest  # the same response: only its key's form is new
        if status and key == digest and not _command(status):
            continue  # handled, unchanged since
        if status and not OURS.match(status) and not _command(status):
            continue  # a person's own note: left to them
        if status and not key and OURS.match(status):
            continue  # handled before its key was kept: never twice
        when = submitted[row] if submitted is not None else pd.NaT
        lead = Lead(
            table.name,
            row,
            texts,
            extras,
            now if pd.isna(when) else when.round("s").to_pydatetime(),
            digest,
        )
        _recognise(lead, settings)
        out.append((lead, status))
    return out, rekeyed


@dataclass
class _Answers:
    """One intake tab's rows as intake reads them: the lead fields' texts, and the cells of
    every other column (some are named like a deal column, e.g. Owner or Value)."""

    table: Table
    fields: dict[str, str]  # lead field → its header

    def __post_init__(self) -> None:
        ours = {cells.norm(h) for h in self.fields.values()}
        ours |= {cells.norm(INTAKE_STATUS), cells.norm(INTAKE_KEY)}
        self.extra = [c for c in self.table.cols if c not in ours]

    def row(self, row: int) -> tuple[dict[str, str], dict[str, object]]:
        texts = {f: cells.text(self.table.get(h)[row]).strip() for f, h in self.fields.items()}
        texts.pop("Submitted", None)
        cells_ = self.table.tab.rows[row - 1]  # Google leaves out a row's trailing empty cells
        extras = {
            c: cells_[self.table.cols[c] - 1]
            for c in self.extra
            if self.table.cols[c] - 1 < len(cells_)
        }
        return texts, extras


def lead_columns(header: Iterable[object], mapped: Mapping[str, str]) -> dict[str, str]:
    """Lead field → norm of the header holding it: the one sheetpipe.toml [intake.columns]
    maps it to, else the first of its usual headers (LEAD_HEADERS) the tab has. Intake reads
    with it, and the web form's journal writes with it, so both use the same columns."""
    present = {cells.norm(h) for h in header if cells.norm(h)}
    found = {}
    for name, aliases in LEAD_HEADERS.items():
        wanted = mapped.get(name)
        candidates = (wanted,) if wanted is not None else aliases
        header_key = next((cells.norm(a) for a in candidates if cells.norm(a) in present), None)
        if header_key is not None:
            found[name] = header_key
    return found


def _field_columns(table: Table, intake: IntakeTab) -> dict[str, str]:
    """Lead field → the intake column holding it: as config maps it, else a usual header."""
    return lead_columns(table.cols, intake.columns)


def _digest(texts: dict[str, str]) -> str:
    """What a response says, as its Intake key: each lead field intake reads, by field, the
    empty ones left out. So a column added or moved, a header respelled (Email → E-mail), or
    an empty last cell that Google leaves out changes nothing: only a changed answer does.
    Other columns are read once, when the deal is made; an edit of them changes no deal."""
    parts = [f"{k}={v}" for k, v in sorted(texts.items()) if v]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]


def _legacy_digest(texts: dict[str, str], extras: dict[str, object]) -> str:
    """The key sheetpipe wrote before (every column, the empty ones too), recognised so a
    response handled then is not taken for an edited one; it is given the new key."""
    parts = [f"{k}={v}" for k, v in sorted(texts.items())]
    parts += [f"{k}={cells.text(v)}" for k, v in sorted(extras.items())]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]


def _recognise(lead: Lead, settings: Settings) -> None:
    """Its e-mail and phone as compared, or why the response cannot be taken."""
    if lead.get("Email"):
        lead.email, why = email_key(lead.get("Email"))
        if why:
            lead.problem = f'the e-mail "{lead.get("Email")}" is not valid: {why.rstrip(".")}'
    if lead.get("Phone"):
        lead.phone = phone_key(lead.get("Phone"), settings.phone_region)
    if not (lead.get("Name") or lead.get("Email") or lead.get("Phone") or lead.get("Company")):
        lead.problem = "it holds no name, e-mail, phone or company to reach the lead by"


def _command(status: str) -> bool:
    word = cells.norm(status)
    return word == "create" or word == "merge" or bool(MERGE_INTO.match(status))


def _owned_cols(table: Table, changes: ChangeSet) -> tuple[int, int]:
    """The Intake status and Intake key columns, added at the right end when missing."""
    out = []
    width = table.width
    for column in (INTAKE_STATUS, INTAKE_KEY):
        if table.has(column):
            out.append(table.cols[cells.norm(column)])
        else:
            width += 1
            changes.new_columns.append((table.name, width, column))
            out.append(width)
    return out[0], out[1]


def _anchor(table: Table) -> str:
    """A column the guard re-reads to see that a row still holds the same response."""
    for name in ("Email", "E-mail", "Name", "Timestamp"):
        if table.has(name):
            return name
    return table.tab.header[0] if table.tab.header else INTAKE_STATUS


def _id_at(ids: dict[str, pd.Series], pipeline: str, row: int) -> str:
    found = ids.get(pipeline)
    return str(found.get(row, "")) if found is not None else ""


def _index(leads: PipelineLeads, stages: Stages, settings: Settings) -> None:
    """The pipeline's deals, indexed for finding a lead among them."""
    table = leads.table
    closed = {cells.norm(s.name) for s in stages.of(leads.name) if s.closed}
    contact = "Contact" if table.has("Contact") else "Deal"
    columns = {
        c: cells.texts(table.get(c)).str.strip()
        for c in ("ID", contact, "Company", "Email", "Phone", "Stage", "Owner")
    }
    for row in table.index:
        stage = columns["Stage"][row]
        if not (stage or columns["ID"][row]):
            continue
        email = known_email_key(columns["Email"][row])
        phone = (
            phone_key(columns["Phone"][row], settings.phone_region)
            if columns["Phone"][row]
            else None
        )
        leads.known.add(
            columns["ID"][row], columns[contact][row], columns["Company"][row], email, phone
        )
        leads.rows.append(row)
        leads.open.append(bool(stage) and cells.norm(stage) not in closed)
        leads.owners.append(columns["Owner"][row])


@dataclass
class _Decide:
    """Decides each response of one intake tab against one pipeline: a new deal, a merge
    into one, a possible duplicate for a person, or a rejection. Who owns a new deal is
    `_Owners`'; what it and a merged deal hold is `_DealCells`'."""

    cycle: IntakeCycle
    leads: PipelineLeads
    first_stage: str
    robin: RoundRobin
    problems: list[Problem]
    owners: _Owners = field(init=False)
    deal_cells: _DealCells = field(init=False)

    def __post_init__(self) -> None:
        self.owners = _Owners(self.leads, self.robin, self.cycle.settings, self.problems)
        self.deal_cells = _DealCells(self.cycle, self.leads, self.first_stage)

    def all(self, waiting: list[tuple[Lead, str]]) -> None:
        for lead, status in waiting:
            self.one(lead, status)

    def decide(self, lead: Lead, template: str, **refs: int) -> None:
        pipeline = self.leads.name
        self.cycle.decisions.append(
            Decision(
                lead.tab,
                lead.row,
                lead.digest,
                template,
                {k: (pipeline, r) for k, r in refs.items()},
            )
        )

    def one(self, lead: Lead, status: str) -> None:
        word = cells.norm(status)
        if OURS.match(status) and DEAL_REF.match(status):
            return self.edited(lead, status)
        if lead.problem:
            return self.decide(
                lead,
                f"Rejected: {_braced(lead.problem)}. Correct the response "
                "and sheetpipe takes it again.",
            )
        if word == "create":
            return self.create(lead, note="as asked")
        merge_into = MERGE_INTO.match(status)
        if merge_into:
            return self.merge_into_id(lead, merge_into.group(1))
        same = self.same_contact(lead)
        if same is not None and self.leads.open[same[0]]:
            return self.merge(lead, same[0], same[1])
        alike = self.alike(lead)
        if word == "merge":
            if alike:
                return self.merge(lead, alike[0][0], "as asked")
            return self.decide(
                lead,
                "Rejected: no similar open deal to merge into; write "
                "create, or merge into followed by a deal ID.",
            )
        if alike:
            return self.decide(
                lead,
                "Possible duplicate of {other} (" + alike[0][1] + "). Write create here "
                "for a new deal, or merge to add it to {other}.",
                other=self.leads.rows[alike[0][0]],
            )
        if same is not None:  # the same person on a closed deal: a new deal, said so
            return self.create(lead, note="returning: {earlier} is closed", earlier_at=same[0])
        self.create(lead, note="")

    def same_contact(self, lead: Lead) -> tuple[int, str] | None:
        """(position, why) of a deal with the lead's e-mail, else with its phone, unless
        that deal holds another e-mail: a phone is shared (a switchboard, a family, a
        colleague's desk), an e-mail is a person's."""
        known = self.leads.known
        if lead.email and lead.email in known.by_email:
            return known.by_email[lead.email], "same e-mail"
        if lead.phone and lead.phone in known.by_phone:
            at = known.by_phone[lead.phone]
            if not self.other_email(lead, at):
                return at, "same phone"
        return None

    def other_email(self, lead: Lead, at: int) -> bool:
        """The lead and the deal at `at` each have an e-mail, and not the same one."""
        theirs = self.leads.known.emails[at]
        return bool(lead.email and theirs and theirs != lead.email)

    def alike(self, lead: Lead) -> list[tuple[int, str]]:
        """(position, why) of open deals that may be this lead's, for a person to decide:
        a similar name at the same company, then the same phone with another e-mail."""
        known, open_ = self.leads.known, self.leads.open
        found = [
            (at, "similar name and company")
            for at in known.similar_person(lead.get("Name"), lead.get("Company"), lead.domain)
            if open_[at]
        ]
        at = known.by_phone.get(lead.phone) if lead.phone else None
        if at is not None and open_[at] and self.other_email(lead, at):
            found.append((at, "same phone, another e-mail"))
        return found

    def create(self, lead: Lead, note: str, earlier_at: int | None = None) -> None:
        """A new deal in the pipeline's first stage; `note` is a template (see Decision)."""
        owner, why, other = self.owners.owner_for(lead)
        values = self.deal_cells.deal_values(lead, owner)
        row = self.leads.first_new + len(self.leads.new)
        self.leads.new.append(values)
        self.leads.known.add(
            "", lead.get("Name") or str(values["deal"]), lead.get("Company"), lead.email, lead.phone
        )
        self.leads.rows.append(row)
        self.leads.open.append(True)
        self.leads.owners.append(owner)
        refs = {"deal": row}
        if other is not None:
            refs["other"] = self.leads.rows[other]
        if earlier_at is not None:
            refs["earlier"] = self.leads.rows[earlier_at]
        detail = "; ".join(p for p in (why, note) if p)
        who = f" for {_braced(owner)}" if owner else ", no owner"
        self.decide(lead, "Created {deal}" + who + (f" ({detail})" if detail else ""), **refs)
        self.cycle.created.append((self.leads.name, row, lead.tab, lead.row))

    def merge(self, lead: Lead, at: int, why: str) -> None:
        row = self.leads.rows[at]
        self.deal_cells.fill(row, lead, contact_date=True)
        self.deal_cells.returning_task(lead, at)
        when = lead.submitted.date().isoformat()
        self.decide(lead, "Merged into {deal} (" + why + f", {when})", deal=row)

    def merge_into_id(self, lead: Lead, deal_id: str) -> None:
        ids = [cells.norm(i) for i in self.leads.known.ids]
        if cells.norm(deal_id) not in ids:
            return self.decide(
                lead,
                f"Rejected: {_braced(deal_id)} is no deal of "
                f"{self.leads.name}; write create, or merge into an ID from "
                "its ID column.",
            )
        self.merge(lead, ids.index(cells.norm(deal_id)), "as asked")

    def edited(self, lead: Lead, status: str) -> None:
        """A handled response changed since: its deal gets the cells it lacks."""
        deal_id = DEAL_REF.match(status).group(1)  # type: ignore[union-attr]
        ids = [cells.norm(i) for i in self.leads.known.ids]
        base = status.split(" · edited ")[0]
        when = self.cycle.now.date().isoformat()
        if cells.norm(deal_id) in ids:
            self.deal_cells.fill(
                self.leads.rows[ids.index(cells.norm(deal_id))], lead, contact_date=False
            )
        else:
            base += " (the deal is no longer in " + self.leads.name + ")"
        self.decide(lead, _braced(base) + f" · edited {when}")


@dataclass
class _Owners:
    """Who owns a new deal: an owner typed on the response, the owner of the company's
    open deal when they can take it, else the rotation (or the Fallback owner)."""

    leads: PipelineLeads
    robin: RoundRobin
    settings: Settings
    problems: list[Problem]

    def owner_for(self, lead: Lead) -> tuple[str, str, int | None]:
        """(owner, why, position of the deal that decided it) for a new deal: an owner typed
        on the response; else the owner of the company's open deal when they can take it
        (not out, not at capacity, …); else the rotation, saying why the owner did not."""
        typed = lead.extra.get("owner")
        if not cells.is_blank(typed):
            return cells.text(typed).strip(), "owner as given", None
        keeps, passed_over = self.company_owner(lead)
        if keeps is not None:
            return keeps
        owner, why = self.rotation_owner(lead)
        if passed_over is not None:
            return owner, f"{why}; {passed_over[0]}", passed_over[1]
        return owner, why, None

    def company_owner(
        self, lead: Lead
    ) -> tuple[tuple[str, str, int] | None, tuple[str, int] | None]:
        """(owner, why, position) when an owner of the company's open deals can take this
        one; else (None, (why the first of them cannot, as a template, position))."""
        passed_over = None
        for at in self.leads.known.same_company(lead.get("Company"), lead.domain):
            owner = self.leads.owners[at]
            if not self.leads.open[at] or not owner.strip():
                continue
            member = self.robin.by_name.get(cells.norm(owner))
            cannot = self.robin.why_not(member, self.leads.name)
            if member is not None and cannot is None:
                self.robin.give(member.name)
                return (member.name, "owns the company's deal {other}", at), None
            if passed_over is None:
                passed_over = (
                    f"{_braced(owner.strip())}, who owns the company's deal {{other}}, "
                    + _braced(cast(str, cannot)),
                    at,
                )
        return None, passed_over

    def rotation_owner(self, lead: Lead) -> tuple[str, str]:
        """(owner, why) by round-robin; else the Fallback owner, reported."""
        found = self.robin.next_owner(self.leads.name)
        if found is not None:
            return found
        fallback = _braced(self.settings.fallback_owner)
        self.problems.append(
            Problem(
                cells.a1(lead.tab, lead.row, 1),
                "nobody in Team can take this lead now (all inactive, out, at capacity or on "
                "other pipelines); "
                + (
                    f"it went to the Fallback owner, {fallback}."
                    if fallback
                    else "it has no owner. Set Fallback owner in Settings, or free someone up."
                ),
                "warning",
            )
        )
        if fallback:
            return fallback, "fallback owner: nobody in Team could take it"
        return fallback, "nobody in Team could take it"


@dataclass
class _DealCells:
    """What a new deal holds, the cells a merged deal lacks filled in from the lead, and
    the task a returning lead gets."""

    cycle: IntakeCycle
    leads: PipelineLeads
    first_stage: str

    def deal_values(self, lead: Lead, owner: str) -> dict[str, object]:
        """The new deal's cells by norm(column)."""
        values: dict[str, object] = {
            k: v
            for k, v in lead.extra.items()
            if k in self.leads.table.cols and not cells.is_blank(v)
        }
        for name, column in ON_DEAL.items():
            if lead.get(name):
                values[cells.norm(column)] = lead.get(name)
        values.setdefault("source", lead.tab)
        values["deal"] = (
            lead.get("Company") or lead.get("Name") or lead.get("Email") or lead.get("Phone")
        )
        values["stage"] = self.first_stage
        values["last contact"] = lead.submitted.date()
        if owner:
            values["owner"] = owner
        values.pop("id", None)
        for column in values:
            self.leads.col(_column_name(column))
        return values

    def fill(self, row: int, lead: Lead, contact_date: bool) -> None:
        """Fill the deal's empty cells from the lead; move Last contact on if newer."""
        table = self.leads.table
        if row >= self.leads.first_new:  # a deal this cycle creates
            edits = self.leads.new[row - self.leads.first_new]
        else:
            edits = self.leads.edits.setdefault(row, {})
        for name in CONTACT_FIELDS:
            key = cells.norm(ON_DEAL[name])
            if lead.get(name) and cells.is_blank(_cell(table, row, key, edits)):
                edits[key] = lead.get(name)
                self.leads.col(ON_DEAL[name])
        if contact_date:
            last = cells.parse_date(
                _cell(table, row, "last contact", edits),
                self.cycle.settings.date_order,
                table.serial_numbers,
            )
            if last is None or last < lead.submitted.date():
                edits["last contact"] = lead.submitted.date()
                self.leads.col("Last contact")
        if not edits and row in self.leads.edits:
            del self.leads.edits[row]

    def returning_task(self, lead: Lead, at: int) -> None:
        message = lead.get("Message")
        who = lead.get("Name") or lead.get("Email") or lead.get("Phone")
        text = f"Returning lead: {who} got in touch again through {lead.tab}"
        other = self.not_on_deal(lead, self.leads.rows[at])
        if other:  # e.g. a merge a person asked for: what the deal does not say goes with it
            text += " (not on the deal: " + ", ".join(other) + ")"
        text += f": {message}" if message else "."
        self.cycle.tasks.append(
            {
                "Task ID": f"{slug(self.leads.name)}/{{deal}}/returning-{lead.digest}",
                "_deal": (self.leads.name, self.leads.rows[at]),
                "Created": self.cycle.now,
                "Due": self.cycle.now.date(),
                "Owner": self.leads.owners[at],
                "Deal": _deal_name(self.leads, at),
                "Task": text,
                "Kind": "returning",
                "Done": "No",
            }
        )

    def not_on_deal(self, lead: Lead, row: int) -> list[str]:
        """The lead's name, e-mail, company and phone where the deal holds another one
        (`fill` gave it those it had none of), each as "email zed@zeta.example"."""
        table, first = self.leads.table, self.leads.first_new
        edits = self.leads.new[row - first] if row >= first else self.leads.edits.get(row, {})
        region = self.cycle.settings.phone_region
        same_as = {
            "Email": lambda held: known_email_key(held) == lead.email,
            "Phone": lambda held: phone_key(held, region) == lead.phone,
        }
        out = []
        for name in CONTACT_FIELDS:
            given = lead.get(name)
            held = cells.text(_cell(table, row, cells.norm(ON_DEAL[name]), edits)).strip()
            if not (given and held):
                continue
            alike = same_as.get(name, lambda h, g=given: _words(h) == _words(g))
            if not alike(held):
                out.append(f"{ON_DEAL[name].lower()} {given}")
        return out


def _words(text: str) -> str:
    return " ".join(cells.norm(text).split())


def _deal_name(leads: PipelineLeads, at: int) -> str:
    row = leads.rows[at]
    if row >= leads.first_new:
        return str(leads.new[row - leads.first_new]["deal"])
    return cells.text(leads.table.get("Deal")[row]).strip()


def _cell(table: Table, row: int, key: str, edits: dict[str, object]) -> object:
    if key in edits:
        return edits[key]
    if row >= len(table.tab.rows) + 1 or key not in table.cols:
        return None
    return table.get(key)[row]


def _column_name(key: str) -> str:
    """The contract's spelling of a deal column known by its norm."""
    for column in (*ON_DEAL.values(), *PEOPLE_COLUMNS, FROM_DEAL):
        if cells.norm(column) == key:
            return column
    return key


def _braced(text: str) -> str:
    """Text safe inside a str.format template."""
    return text.replace("{", "{{").replace("}", "}}")
