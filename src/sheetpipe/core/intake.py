"""Intake tabs: each response becomes a deal, a merge or a question, exactly once.

A response is taken when its `Intake status` cell is empty. sheetpipe then writes what it
did there (`Created D-0123 for Ana Ruiz (round-robin, turn 18)`, `Merged into D-0045
(same e-mail)`, `Possible duplicate of D-0045 …`, `Rejected: …`) and, in `Intake key`, a
digest of the response as it read it. A response edited later (Google Forms lets people
edit theirs) no longer matches its key and is handled again: a created or merged deal
gets the cells it lacks, a rejected or doubtful one is decided afresh. A person answers a
possible duplicate by writing `create` or `merge` (or `merge into D-0045`) in its status.

New deals are planned in the same cycle as the rest of their pipeline: plan_cycle plans
the pipeline tab with the new rows in it (`IntakeCycle.tabs`), then `finish` turns the
values planned for them into appended rows and writes each response's status.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

import pandas as pd

from sheetpipe.core import cells
from sheetpipe.core.contract import (
    FROM_DEAL,
    INTAKE_KEY,
    INTAKE_STATUS,
    LEAD_HEADERS,
    ON_DEAL,
    PEOPLE_COLUMNS,
    IntakeTab,
    Names,
)
from sheetpipe.core.diff import DATE_FORMS
from sheetpipe.core.leads import Known, company_domain, email_key, known_email_key, phone_key
from sheetpipe.core.settings import Settings
from sheetpipe.core.stages import Stages
from sheetpipe.core.table import Table, read_table
from sheetpipe.core.tasks import slug
from sheetpipe.core.team import RoundRobin, last_turn, read_team
from sheetpipe.model import ChangeSet, ColumnWrite, DateCells, Problem, Snapshot, Tab, tab_key

OURS = re.compile(r"^(created|merged into|possible duplicate of|rejected)\b", re.I)
DEAL_REF = re.compile(r"^(?:created|merged into) (\S+)", re.I)
# What a returning lead or an edited response fills in where the deal has nothing; its
# message goes into a task instead, and the deal keeps its first Source.
CONTACT_FIELDS = ("Name", "Email", "Company", "Phone")
MERGE_INTO = re.compile(r"^merge(?: into)?\s+(\S+)$", re.I)


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
        self.pipelines: dict[str, PipelineLeads] = {}
        self.tasks: list[dict[str, object]] = []
        self.intake_tables: dict[str, Table] = {}
        self._robin: RoundRobin | None = None
        self.written: dict[tuple[str, int], str] = {}  # (tab, row) → status written now
        # What the first History row of a row this cycle adds says of it, by (tab, row):
        # "from D-0012; round-robin, turn 7" (see core/transfer.py).
        self.history_notes: dict[tuple[str, int], str] = {}
        self.problems: list[Problem] = []  # set by plan_intake
        self.created: list[tuple[str, int, str, int]] = []  # (pipeline, row, intake tab, row)

    def robin(self, pipelines: dict[str, Table | None], stages: Stages) -> RoundRobin:
        """The rotation, read from the sheet when first needed: Team, who holds how many
        open deals, and the last turn any status or Source recorded."""
        if self._robin is None:
            team_tab = self.snapshot.find(self.names.team)
            team_table = read_table(team_tab, date_cells=self.snapshot.date_cells) if (
                team_tab) else None  # fmt: skip
            team = read_team(team_table, self.settings.date_order, self.problems)
            recorded = [s for t in self.intake_tables.values()
                        for s in cells.texts(t.get(INTAKE_STATUS))]  # fmt: skip
            if self.history is not None:
                recorded += list(cells.texts(self.history.get("By")))
            counts = _open_deals(pipelines, stages)
            self._robin = RoundRobin(team, counts, last_turn(recorded), self.now.date())
        return self._robin

    def leads_of(self, name: str, table: Table) -> PipelineLeads:
        """What this cycle adds to a pipeline tab (made on first use)."""
        if name not in self.pipelines:
            self.pipelines[name] = PipelineLeads(name, table, self.snapshot.date_cells)
        return self.pipelines[name]

    def tab(self, pipeline: str) -> Tab | None:
        """The pipeline tab to plan in place of the one read, when this cycle adds to it."""
        leads = self.pipelines.get(pipeline)
        return leads.tab(self.names) if leads and (leads.new or leads.edits) else None

    # ---- finishing, once the pipelines are planned ----------------------------------

    def write_edits(self, changes: ChangeSet) -> None:
        """Cells filled in on deals already there (before the pipelines are planned, so
        the guard checks those rows too)."""
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

    def finish(
        self, ids: dict[str, pd.Series], changes: ChangeSet, existing_tasks: set[str]
    ) -> list[dict[str, object]]:
        """Appended rows for the new deals and the responses' statuses; returns the
        returning-lead tasks Tasks lacks. `ids`: each pipeline's deal IDs by sheet row, as
        planned this cycle."""
        for leads in self.pipelines.values():
            for column in leads.added:
                changes.new_columns.append(
                    (leads.table.name, leads.col(column), self.names.col(column))
                )
            if leads.new:
                _fold_into_appends(leads, changes)
        self._write_statuses(ids, changes)
        tasks = []
        for task in self.tasks:
            deal_id = _id_at(ids, *task["_deal"])  # type: ignore[misc]
            task_id = str(task["Task ID"]).format(deal=deal_id)
            if task_id not in existing_tasks:
                existing_tasks.add(task_id)
                row = {k: v for k, v in task.items() if k != "_deal"}
                tasks.append({**row, "Task ID": task_id, "Deal ID": deal_id})
        return tasks

    def new_leads(self) -> list[tuple[str, int, str]]:
        """(pipeline, row, the response's status) of each deal made this cycle; after
        `finish`, which writes the statuses."""
        written = {(tab_key(tab), at): status for (tab, at), status in self.written.items()}
        return [(p, row, written.get((tab_key(tab), at), "")) for p, row, tab, at in self.created]

    def origins(self) -> dict[str, list[str]]:
        """Deal ID (case-folded) → how it came in: "Web leads row 7: Created D-0052 …",
        from every status, as read or as written this cycle (for `explain`)."""
        found: dict[str, list[str]] = {}
        for name, table in self.intake_tables.items():
            statuses = dict(cells.texts(table.get(INTAKE_STATUS)).items())
            statuses.update({r: t for (tab, r), t in self.written.items() if tab == name})
            for row, status in sorted(statuses.items()):
                ref = DEAL_REF.match(status)
                if ref:
                    found.setdefault(ref.group(1).casefold(), []).append(
                        f"{name} row {row}: {status}"
                    )
        return found

    def _write_statuses(self, ids: dict[str, pd.Series], changes: ChangeSet) -> None:
        by_tab: dict[str, list[Decision]] = {}
        for decision in self.decisions:
            by_tab.setdefault(decision.tab, []).append(decision)
        for tab_name, decisions in by_tab.items():
            table = self.intake_tables[tab_name]
            status_col, key_col = _owned_cols(table, changes)
            rows = [d.row for d in decisions]
            texts = [
                d.template.format(**{k: _id_at(ids, *ref) for k, ref in d.refs.items()})
                for d in decisions
            ]
            changes.writes.append(ColumnWrite(table.name, status_col, INTAKE_STATUS, rows, texts))
            self.written.update(((table.name, r), t) for r, t in zip(rows, texts, strict=True))
            digests = [d.digest for d in decisions]
            changes.writes.append(ColumnWrite(table.name, key_col, INTAKE_KEY, rows, digests))
            anchor = _anchor(table)
            read = cells.texts(table.get(INTAKE_STATUS)[rows])
            held = cells.texts(table.get(anchor)[rows])
            changes.expect[table.name] = dict(zip(rows, zip(read, held, strict=True), strict=True))
            changes.expect_cols[table.name] = (status_col, table.cols.get(cells.norm(anchor), 1))


def plan_intake(
    snapshot: Snapshot,
    names: Names,
    settings: Settings,
    stages: Stages,
    pipelines: dict[str, Table | None],
    now: datetime,
    problems: list[Problem],
    history: Table | None = None,
) -> IntakeCycle:
    """Decide what becomes of every response waiting on the intake tabs."""
    cycle = IntakeCycle(snapshot, names, settings, now, history)
    cycle.problems = problems
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
        waiting.append((intake, table, _waiting(table, intake, settings, now, problems)))
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
) -> list[tuple[Lead, str]]:
    """Responses to handle now, each with its status as read ("" for a new one)."""
    fields = _field_columns(table, intake)
    statuses = cells.texts(table.get(INTAKE_STATUS)).str.strip()
    keys = cells.texts(table.get(INTAKE_KEY)).str.strip()
    submitted = (
        table.column(fields["Submitted"]).datetimes(settings.date_order)
        if ("Submitted" in fields)
        else None
    )
    extra = [
        c
        for c in table.cols
        if c not in {cells.norm(h) for h in fields.values()}
        and c not in (cells.norm(INTAKE_STATUS), cells.norm(INTAKE_KEY))
    ]
    out = []
    for row in table.index:
        texts = {f: cells.text(table.get(h)[row]).strip() for f, h in fields.items()}
        texts.pop("Submitted", None)
        extras = {
            c: table.tab.rows[row - 1][table.cols[c] - 1]
            for c in extra
            if table.cols[c] - 1 < len(table.tab.rows[row - 1])
        }
        if not any(texts.values()) and all(cells.is_blank(v) for v in extras.values()):
            continue  # an empty row
        digest = _digest(texts, extras)
        status = statuses[row]
        if status and keys[row] == digest and not _command(status):
            continue  # handled, unchanged since
        if status and not OURS.match(status) and not _command(status):
            continue  # a person's own note: left to them
        if status and not keys[row] and OURS.match(status):
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
    return out


def _field_columns(table: Table, intake: IntakeTab) -> dict[str, str]:
    """Lead field → the intake column holding it: as config maps it, else a usual header."""
    found = {}
    for name, aliases in LEAD_HEADERS.items():
        wanted = intake.columns.get(name)
        if wanted is not None:
            if table.has(wanted):
                found[name] = wanted
            continue
        header = next((a for a in aliases if table.has(a)), None)
        if header is not None:
            found[name] = header
    return found


def _digest(texts: dict[str, str], extras: dict[str, object]) -> str:
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
    """Decides each response of one intake tab against one pipeline."""

    cycle: IntakeCycle
    leads: PipelineLeads
    first_stage: str
    robin: RoundRobin
    problems: list[Problem]

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
        similar = [
            at
            for at in self.leads.known.similar_person(
                lead.get("Name"), lead.get("Company"), lead.domain
            )
            if self.leads.open[at]
        ]
        if word == "merge":
            if similar:
                return self.merge(lead, similar[0], "as asked")
            return self.decide(
                lead,
                "Rejected: no similar open deal to merge into; write "
                "create, or merge into followed by a deal ID.",
            )
        if similar:
            return self.decide(
                lead,
                "Possible duplicate of {other} (similar name and company). Write create here "
                "for a new deal, or merge to add it to {other}.",
                other=self.leads.rows[similar[0]],
            )
        if same is not None:  # the same person on a closed deal: a new deal, said so
            return self.create(lead, note="returning: {earlier} is closed", earlier_at=same[0])
        self.create(lead, note="")

    def same_contact(self, lead: Lead) -> tuple[int, str] | None:
        """(position, why) of a deal with the lead's e-mail, else with its phone."""
        known = self.leads.known
        if lead.email and lead.email in known.by_email:
            return known.by_email[lead.email], "same e-mail"
        if lead.phone and lead.phone in known.by_phone:
            return known.by_phone[lead.phone], "same phone"
        return None

    # ---- the outcomes ---------------------------------------------------------------

    def create(self, lead: Lead, note: str, earlier_at: int | None = None) -> None:
        """A new deal in the pipeline's first stage; `note` is a template (see Decision)."""
        owner, why, other = self.owner_for(lead)
        values = self.deal_values(lead, owner)
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

    def owner_for(self, lead: Lead) -> tuple[str, str, int | None]:
        """(owner, why, position of the deal that decided it) for a new deal."""
        typed = lead.extra.get("owner")
        if not cells.is_blank(typed):
            return cells.text(typed).strip(), "owner as given", None
        robin = self.robin
        for at in self.leads.known.same_company(lead.get("Company"), lead.domain):
            owner = self.leads.owners[at]
            member = robin.by_name.get(cells.norm(owner))
            if self.leads.open[at] and member is not None and member.active:
                robin.give(owner)
                return member.name, "owns the company's deal {other}", at
        found = robin.next_owner(self.leads.name)
        if found is not None:
            return found[0], found[1], None
        fallback = _braced(self.cycle.settings.fallback_owner)
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
        return (
            fallback,
            "fallback owner: nobody in Team could take it"
            if fallback
            else ("nobody in Team could take it"),
            None,
        )

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

    def merge(self, lead: Lead, at: int, why: str) -> None:
        row = self.leads.rows[at]
        self.fill(row, lead, contact_date=True)
        self.returning_task(lead, at)
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
            self.fill(self.leads.rows[ids.index(cells.norm(deal_id))], lead, contact_date=False)
        else:
            base += " (the deal is no longer in " + self.leads.name + ")"
        self.decide(lead, _braced(base) + f" · edited {when}")

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
        self.cycle.tasks.append(
            {
                "Task ID": f"{slug(self.leads.name)}/{{deal}}/returning-{lead.digest}",
                "_deal": (self.leads.name, self.leads.rows[at]),
                "Created": self.cycle.now,
                "Due": self.cycle.now.date(),
                "Owner": self.leads.owners[at],
                "Deal": _deal_name(self.leads, at),
                "Task": text + (f": {message}" if message else "."),
                "Kind": "returning",
                "Done": "No",
            }
        )


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


def _fold_into_appends(leads: PipelineLeads, changes: ChangeSet) -> None:
    """The values planned for the new rows go into the rows appended; the new rows get
    no separate cell writes (and no guard: they are not there to move)."""
    first, tab = leads.first_new, leads.table.name
    new = [dict(values) for values in leads.new]
    rows: list[list[object]] = [[] for _ in new]
    for values, out in zip(new, rows, strict=True):
        for key, value in values.items():
            _put(out, leads.col(_column_name(key)), value)
    for write in changes.writes:
        if write.tab != tab:
            continue
        kept = [(r, v) for r, v in zip(write.rows, write.values, strict=True) if r < first]
        for r, v in zip(write.rows, write.values, strict=True):
            if r >= first:
                _put(rows[r - first], write.col, v)
        write.rows, write.values = [r for r, _ in kept], [v for _, v in kept]
    changes.writes[:] = [w for w in changes.writes if w.rows]
    if tab in changes.expect:
        changes.expect[tab] = {r: v for r, v in changes.expect[tab].items() if r < first}
    changes.appends.append((tab, first, rows))


def _put(row: list[object], col: int, value: object) -> None:
    row.extend([None] * (col - len(row)))
    row[col - 1] = value
