"""The web form's journal: each submission on local disk before it is acknowledged, and
moved into the intake tab by a cycle exactly once.

A submission is committed to SQLite (WAL, synchronous=FULL: on disk when the commit
returns) before `sheetpipe serve` answers 2xx. A cycle then appends the waiting ones to
the intake tab, each with its `Submission ID`, and only after that write marks them moved.
A crash between the two leaves them waiting, and the next cycle finds their IDs already in
the tab: it marks them moved without appending them again. So a submission lands once,
even after Google was unreachable for hours or the process was killed in between.

Limits: one journal per intake tab; the journal lives on the machine that serves the
form, so the cycle that moves submissions must run there too.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sheetpipe.backends.base import Backend
from sheetpipe.config import Config
from sheetpipe.core.contract import LEAD_HEADERS, SUPPRESSION_COLUMNS, Names
from sheetpipe.core.deals.intake import lead_columns
from sheetpipe.core.inputs.settings import settings_of
from sheetpipe.core.sheet import cells
from sheetpipe.core.sheet.table import table_of
from sheetpipe.errors import JournalError
from sheetpipe.model import ChangeSet

SUBMISSION_ID = "Submission ID"
# The intake tab's columns for a submission, in order: lead fields as intake reads them.
COLUMNS = ("Submitted", "Name", "Email", "Company", "Phone", "Message", "Source", SUBMISSION_ID)


@dataclass(frozen=True)
class Submission:
    id: str
    received: datetime
    fields: dict[str, str]


class Journal:
    def __init__(self, path: Path):
        self.path = path
        # The file is opened on first use, not here: a damaged journal then fails inside
        # the cycle that uses it (which reports it and goes on), not as sheetpipe starts.
        self._ready = False

    def open(self) -> Journal:
        """Open the file now (made if missing) and check every page of it; raises
        JournalError when it is unusable. For `sheetpipe serve`, which must not start on a
        journal it cannot keep submissions in (a damaged page fails only when read)."""
        with self._db() as db:
            found = db.execute("PRAGMA quick_check").fetchall()
        if found != [("ok",)]:
            damage = "; ".join(str(row[0]) for row in found[:3])
            raise journal_error(sqlite3.DatabaseError(damage), self.path)
        return self

    def _create_tables(self, db: sqlite3.Connection) -> None:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS submissions (id TEXT PRIMARY KEY, received TEXT, "
            "fields TEXT, moved INTEGER NOT NULL DEFAULT 0)"
        )
        db.execute("CREATE TABLE IF NOT EXISTS secret (value TEXT)")
        db.execute("CREATE TABLE IF NOT EXISTS unsubscribes (address TEXT, received TEXT, "
                   "moved INTEGER NOT NULL DEFAULT 0)")  # fmt: skip

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise journal_error(exc, self.path) from exc
        try:
            db.execute("PRAGMA synchronous=FULL")  # a commit is on disk when it returns
            if not self._ready:
                self._create_tables(db)
                self._ready = True
            yield db
        except sqlite3.Error as exc:  # the body's statements too: the file, not a bug
            self._ready = False  # a file put in its place later gets its tables
            raise journal_error(exc, self.path) from exc
        finally:
            db.close()

    def add(self, fields: dict[str, str], received: datetime | None = None) -> str:
        """Keep a submission; returns its ID once it is committed to disk."""
        submission = uuid.uuid4().hex
        at = (received or datetime.now(UTC)).isoformat()
        with self._db() as db:
            db.execute("INSERT INTO submissions (id, received, fields) VALUES (?, ?, ?)",
                       (submission, at, json.dumps(fields)))  # fmt: skip
        return submission

    def waiting(self) -> list[Submission]:
        with self._db() as db:
            rows = db.execute(
                "SELECT id, received, fields FROM submissions WHERE moved = 0 ORDER BY rowid"
            ).fetchall()
        return [Submission(i, datetime.fromisoformat(r), json.loads(f)) for i, r, f in rows]

    def mark_moved(self, ids: list[str]) -> None:
        with self._db() as db:
            db.executemany("UPDATE submissions SET moved = 1 WHERE id = ?", [(i,) for i in ids])

    def unsubscribe(self, address: str, received: datetime | None = None) -> None:
        """Keep a click on an unsubscribe link; returns once it is on disk."""
        at = (received or datetime.now(UTC)).isoformat()
        with self._db() as db:
            db.execute("INSERT INTO unsubscribes (address, received) VALUES (?, ?)", (address, at))

    def unsubscribes(self) -> list[tuple[int, str, datetime]]:
        """(its key, the address, when) of each click not yet on Suppression."""
        with self._db() as db:
            rows = db.execute("SELECT rowid, address, received FROM unsubscribes WHERE moved = 0 "
                              "ORDER BY rowid").fetchall()  # fmt: skip
        return [(key, address, datetime.fromisoformat(at)) for key, address, at in rows]

    def mark_unsubscribes_moved(self, keys: list[int]) -> None:
        with self._db() as db:
            db.executemany("UPDATE unsubscribes SET moved = 1 WHERE rowid = ?",
                           [(k,) for k in keys])  # fmt: skip

    def secret(self) -> bytes:
        """The key that signs the form's fill-time tokens, made once and kept here."""
        with self._db() as db:
            found = db.execute("SELECT value FROM secret").fetchone()
            if found is None:
                found = (secrets.token_hex(32),)
                db.execute("INSERT INTO secret (value) VALUES (?)", found)
        return bytes.fromhex(found[0])

    def claim_form_token(self, token: str, content: str, expires: float, now: float) -> str | None:
        """Mark a form token used (sheetpipe/web/serve.py: each form is sent once). None when
        this call claimed it; else the `content` it was first claimed with. Kept here, on
        disk, so a restart does not make used tokens good again; forgotten once expired."""
        with self._db() as db:
            db.execute("CREATE TABLE IF NOT EXISTS form_tokens "
                       "(token TEXT PRIMARY KEY, content TEXT, expires REAL)")  # fmt: skip
            db.execute("DELETE FROM form_tokens WHERE expires < ?", (now,))
            # One statement: two requests racing with one token cannot both claim it.
            claimed = db.execute("INSERT OR IGNORE INTO form_tokens VALUES (?, ?, ?)",
                                 (token, content, expires)).rowcount  # fmt: skip
            if claimed:
                return None
            return db.execute("SELECT content FROM form_tokens WHERE token = ?",
                              (token,)).fetchone()[0]  # fmt: skip


@dataclass(frozen=True)
class Inbox:
    """[serve]: the journal, and the intake tab its submissions go to."""

    journal: Journal
    tab: str

    def move(self, backend: Backend, names: Names) -> int:
        moved = move_into(self.journal, backend, self.tab, names)
        return moved + move_unsubscribes(self.journal, backend, names)


def move_unsubscribes(journal: Journal, backend: Backend, names: Names) -> int:
    """The unsubscribe links clicked since the last cycle, onto Suppression (made if
    missing), then marked moved; an address already there is not added again."""
    waiting = journal.unsubscribes()
    if not waiting:
        return 0
    with backend.session():
        snapshot = backend.read(only=(names.suppression, names.settings))
        tz = settings_of(snapshot, names.settings).tz
        found = snapshot.find(names.suppression)
        table = table_of(snapshot, names.suppression)
        there = set(table.column("Email").norms()) if table is not None else set()
        new: dict[str, list[object]] = {}
        # Laid out by the tab's header: people may have moved its columns.
        header = [cells.norm(h) for h in found.header] if found else []
        order = header or [cells.norm(c) for c in SUPPRESSION_COLUMNS]
        for _, address, at in waiting:
            if cells.norm(address) not in there:
                local = at.astimezone(tz).replace(tzinfo=None, microsecond=0)
                values = {"email": address, "reason": "unsubscribed", "when": local,
                          "source": "unsubscribe link"}  # fmt: skip
                new.setdefault(cells.norm(address), [values.get(h) for h in order])
        if new:
            changes = ChangeSet()
            if found is None:
                changes.new_tabs.append((names.suppression, [list(SUPPRESSION_COLUMNS)]))
            start = len(found.rows) + 1 if found else 2
            changes.appends.append((names.suppression, start, list(new.values())))
            backend.apply(changes, names.status)
    journal.mark_unsubscribes_moved([key for key, _, _ in waiting])
    return len(new)


def move_into(journal: Journal, backend: Backend, tab: str, names: Names) -> int:
    """Append the waiting submissions to `tab` (made if missing), then mark them moved.
    Returns how many were appended."""
    waiting = journal.waiting()
    if not waiting:
        return 0
    with backend.session():
        snapshot = backend.read(only=(tab, names.settings))
        tz = settings_of(snapshot, names.settings).tz
        found = snapshot.find(tab)
        header = found.header if found else []
        present = set()
        if found is not None and SUBMISSION_ID in header:
            at = header.index(SUBMISSION_ID)
            present = {cells.text(r[at]).strip() for r in found.rows[1:] if at < len(r)}
        new = [s for s in waiting if s.id not in present]
        if new:
            mapped = next(
                (dict(i.columns) for i in names.intakes if cells.norm(i.tab) == cells.norm(tab)),
                {},
            )  # [intake.columns]: the tab's own headers for lead fields
            changes = _appends(tab, found, list(header), new, tz, mapped)
            backend.apply(changes, names.status)
    journal.mark_moved([s.id for s in waiting])
    return len(new)


def _appends(  # noqa: ANN001
    tab: str, found, header: list[str], new: list[Submission], tz, mapped: dict[str, str]
) -> ChangeSet:
    """The rows for `new`, each value in the column intake reads it from: a lead field in
    the column sheetpipe.toml maps it to or under one of its usual headers (a tab's
    `Submitted at` takes the timestamp, `E-mail` the e-mail), so no second column is added
    beside one the tab has; a column only where the tab has none for that field."""
    changes = ChangeSet()
    names = [cells.norm(h) for h in header]
    fields = lead_columns(header, mapped)
    at: dict[str, int] = {}  # column of COLUMNS → 0-based position in the tab
    for column in COLUMNS:
        key = fields.get(column, cells.norm(column) if column not in LEAD_HEADERS else None)
        if key is None or key not in names:
            header.append(mapped.get(column, column))
            names.append(cells.norm(header[-1]))
            if found is not None:
                changes.new_columns.append((found.name, len(header), header[-1]))
            key = names[-1]
        at[column] = names.index(key)
    if found is None:
        changes.new_tabs.append((tab, [header]))
    rows = []
    for submission in new:
        values = {
            **submission.fields,
            "Submitted": submission.received.astimezone(tz).replace(tzinfo=None, microsecond=0),
            "Source": submission.fields.get("Source") or "web form",
            SUBMISSION_ID: submission.id,
        }
        row: list[object] = [None] * len(names)
        for name, value in values.items():
            if name in at:
                row[at[name]] = value
            elif cells.norm(name) in names:  # a field the form has and the tab too
                row[names.index(cells.norm(name))] = value
        rows.append(row)
    first = len(found.rows) + 1 if found is not None else 2
    changes.appends.append((found.name if found else tab, first, rows))
    return changes


SQLITE_HEADER = b"SQLite format 3\x00"  # the first bytes of every SQLite database


def journal_error(exc: sqlite3.Error, path: Path) -> JournalError:
    """One line for a journal sheetpipe cannot use: what is wrong and what to do. The file
    is never deleted or written over here: it may hold submissions not yet moved."""
    if isinstance(exc, sqlite3.OperationalError):  # locked, unreadable folder, disk error
        return JournalError(
            f"the journal {path} cannot be used ({exc}); check that the user running "
            "sheetpipe can read and write it and its folder. sheetpipe tries again next cycle."
        )
    if not _starts_like_sqlite(path):
        return JournalError(
            f"{path} is not a SQLite file, so not a journal; sheetpipe left it as it is. "
            "If [serve] journal in sheetpipe.toml names the wrong file, correct it; "
            "otherwise move the file aside, and `sheetpipe serve` starts a new journal."
        )
    return JournalError(
        f"the journal {path} is damaged ({exc}). sheetpipe left it as it is: it may hold "
        "submissions not yet moved. Stop `sheetpipe serve`, move the file aside (keep it, "
        "to recover them with sqlite3's .recover), and start serve again: it makes a new one."
    )


def _starts_like_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            head = file.read(len(SQLITE_HEADER))
    except OSError:
        return True  # unreadable: say "damaged" rather than guess it is the wrong file
    return head == SQLITE_HEADER


def open_inbox(config: Config) -> Inbox | None:
    """The journal [serve] names, and its tab; None without [serve]."""
    if config.serve is None:
        return None
    return Inbox(Journal(config.serve.journal), config.serve.tab)
