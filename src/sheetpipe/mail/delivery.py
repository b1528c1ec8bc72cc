"""E-mail alerts: the templates, the SMTP server, and delivering the Outbox.

The core decides which alerts a cycle wants and queues them in Outbox (core/tabs/outbox.py);
this module fills in their templates and carries queued rows to the mail server:

    read Outbox, Team and the deals → address each row of a batch to its deal's owner
    now, and make its message (a row that cannot go is failed alone) → mark the batch
    `sending` (each with its Message-ID) → one SMTP transaction per e-mail → read again
    → record `sent` / `failed: …` / `queued`

A fate the server gave is never dropped: a workbook open in Excel or LibreOffice is
waited for (RECORD_WAIT), and fates the sheet still will not take are kept in a small
file beside sheetpipe.toml (FateStore), written at the start of the next cycle.

Templates are Jinja2, sandboxed (a template cannot reach Python) and strict (a field
it names that the deal lacks stops that e-mail with a problem, rather than mailing a
half-filled one). A team's own folder ([smtp] templates) comes before the defaults in
sheetpipe's `templates/mail`. Each template's first line is `Subject: …`.

Until each e-mail of a marked batch is handed to the server, the same file holds it as
going back to `queued`: a run killed mid-batch leaves only the e-mail it was sending in
doubt; the next cycle puts the untried rest back in the queue.

Limits: plain-text e-mails; an SMTP server cannot be asked whether it already took a
message, so a row left `sending` is only reported (core/tabs/outbox.py).
"""

from __future__ import annotations

import contextlib
import email.errors
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.message import EmailMessage
from email.utils import parseaddr

from sheetpipe.backends.base import Backend
from sheetpipe.config import Config, SmtpConfig
from sheetpipe.core.contract import Names
from sheetpipe.core.cycle import local_now
from sheetpipe.core.deals.tasks import slug
from sheetpipe.core.inputs.settings import settings_of
from sheetpipe.core.inputs.team import Member, read_team
from sheetpipe.core.sheet.table import Table, read_table, table_of
from sheetpipe.core.tabs import outbox
from sheetpipe.core.tabs.outbox import Outgoing
from sheetpipe.core.tabs.unsubscribe import unsubscribe_token
from sheetpipe.errors import Replan, SheetpipeError, WorkbookBusy
from sheetpipe.mail.fates import FateStore, Outcome
from sheetpipe.mail.smtp import MailError, Postman
from sheetpipe.mail.templates import Templates
from sheetpipe.model import ChangeSet

log = logging.getLogger("sheetpipe")

RECORD_TRIES = 4  # reads to find the rows again when the Outbox moves under the write
RECORD_WAIT = 120.0  # seconds to wait for a workbook open in Excel or LibreOffice to record
RECORD_PAUSE = 5.0  # the longest pause between two looks at whether it is still open


@dataclass
class Delivery:
    """What one cycle's delivery did."""

    sent: int = 0
    failed: int = 0
    in_doubt: int = 0
    error: str = ""  # why the server took nothing, or why fates wait for the next cycle
    fates: dict[str, str] = field(default_factory=dict)  # Outbox ID → status written
    handled: set[str] = field(default_factory=set)  # IDs taken this delivery: each once
    inputs: BatchInputs | None = None  # the recipients' tabs, read with the first batch

    def line(self) -> str:
        said = f"mail: {self.sent} sent, {self.failed} failed"
        said += f", {self.in_doubt} in doubt" if self.in_doubt else ""
        return said + (f"; {self.error}" if self.error else "")


@dataclass
class Mailer:
    """[smtp] at work: the composer a cycle queues with, and delivery after it."""

    config: SmtpConfig
    kept: FateStore | None = None  # where fates wait when the sheet cannot take them
    links: UnsubscribeLinks | None = None  # [serve] public_url: one-click unsubscribe

    def composer(self, backend: Backend) -> Templates:
        return Templates(self.config.templates, backend.describe(), backend.row_link)

    def deliver(self, backend: Backend, names: Names, now: datetime) -> Delivery:
        """Send what Outbox holds queued, batch by batch, within today's cap."""
        done = Delivery()
        try:
            while self._one_batch(backend, names, now, done):
                pass
        except MailError as err:
            done.error = str(err)
        except Replan as err:  # the Outbox moved before a batch was marked: nothing sent
            done.error = f"the sheet changed while sending ({err}); the rest wait for next time"
        except WorkbookBusy:  # opened before a batch was marked: nothing sent
            done.error = ("the workbook was opened in Excel or LibreOffice before the e-mails "
                          "left; they wait for the next cycle")  # fmt: skip
        return done

    def settle(self, backend: Backend, names: Names) -> None:
        """Write the fates an earlier delivery had to keep (its workbook was open, …),
        before the cycle reads the Outbox: it then shows `sent`, not `sending`."""
        if self.kept is None:
            return
        sheet = backend.describe()
        try:
            outcomes, marked = self.kept.load(sheet)
        except OSError:  # said in the log; the cycle goes on
            return
        if not outcomes:
            return
        why = _write_fates(backend, names, outcomes, marked, wait=0)
        if why:  # still not writable: they stay kept, and the cycle says why it stops
            log.warning("%d e-mails' fates kept in %s wait: %s", len(outcomes), self.kept.path,
                        why)  # fmt: skip
            return
        self.kept.forget(sheet, outcomes)
        log.info("wrote %d e-mails' fates kept since an earlier cycle", len(outcomes))

    def _one_batch(self, backend: Backend, names: Names, now: datetime, done: Delivery) -> bool:
        """Send one batch; True when the next one may follow."""
        with backend.session():
            found = done.inputs = _read_batch(backend, names, now, done.inputs)
            batch = [m for m in found.batch if m.id not in done.handled]
            if not batch or found.table is None:
                return False
            done.handled.update(m.id for m in batch)
            addressed = outbox.address(batch, found.pipelines, found.team, found.tasks,
                                       self.composer(backend))  # fmt: skip
            letters, refused = self._messages(addressed)
            failures = {i: (f"{outbox.FAILED}: {why}", "", None) for i, why in refused.items()}
            done.failed += len(failures)
            if not letters:
                _apply(backend, names, outbox.fates(found.table, failures))
                return True
            with contextlib.ExitStack() as connection:
                try:
                    postman = connection.enter_context(Postman(self.config))
                except MailError:  # the rows that cannot go are failed all the same
                    _apply(backend, names, outbox.fates(found.table, failures))
                    raise
                marks = {i: (outbox.SENDING, m["Message-ID"], found.local)
                         for i, (_, m) in letters.items()}  # fmt: skip
                marked = {i: m["Message-ID"] for i, (_, m) in letters.items()}
                untried = self._untried(backend, marked)
                _apply(backend, names, outbox.fates(found.table, marks | failures,
                                                    addressed.remade))  # fmt: skip
                outcomes, broken = _send_all(postman, letters, found.local, untried)
            try:
                why = _write_fates(backend, names, outcomes, marked, wait=RECORD_WAIT)
            except Exception as err:  # a surprise: what the server answered is kept all the same
                self._keep(backend, outcomes, marked, f"{type(err).__name__}: {err}")
                raise
        _count(done, outcomes, broken)
        if why:
            done.error = self._keep(backend, outcomes, marked, why)
            return False
        self._forget(backend, marked)  # the untried ones are `queued` in the sheet now
        # A broken connection, or a server asking to try later: the rest wait for next time.
        return not broken and all(o[0] != outbox.QUEUED for o in outcomes.values())

    def _messages(
        self, addressed: outbox.Addressed
    ) -> tuple[dict[str, tuple[Outgoing, EmailMessage]], dict[str, str]]:
        """Each ready row as the message it will be, made before anything is marked, and
        with the refused rows, the ones whose message cannot be made (a line break in a
        Subject a person typed…): each is failed alone."""
        postman = Postman(self.config)
        letters, refused = {}, dict(addressed.refused)
        for mail in addressed.ready:
            try:
                message = self._to_a_lead(mail, postman)
                bytes(message)  # what send_message does first: a problem shows now
            except (ValueError, UnicodeError, email.errors.MessageError) as err:
                refused[mail.id] = f"the e-mail cannot be made: {err}"
                continue
            letters[mail.id] = (mail, message)
        return letters, refused

    def _to_a_lead(self, mail: Outgoing, postman: Postman) -> EmailMessage:
        """The message; one to a lead (nurture) says how to stop them: RFC 8058's one-click
        link (with [serve] public_url) and a mailto, in its headers and its last line."""
        if mail.kind != outbox.NURTURE:
            return postman.message(mail, postman.message_id())
        sender = parseaddr(self.config.sender)[1]
        mailto = f"mailto:{sender}?subject=unsubscribe"
        link = self.links.link(mail.to) if self.links is not None else ""
        stop = f"To get no more of these e-mails: {link or 'reply with the word unsubscribe'}"
        message = postman.message(replace(mail, body=f"{mail.body}\n-- \n{stop}\n"),
                                  postman.message_id())  # fmt: skip
        message["List-Unsubscribe"] = f"<{link}>, <{mailto}>" if link else f"<{mailto}>"
        if link:
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        return message

    def _untried(self, backend: Backend, marked: dict[str, str]) -> Callable[[str], None]:
        """Until it is handed to the server, each marked e-mail is kept as going back to
        `queued`: a run killed mid-batch leaves only the one e-mail it was sending in
        doubt, and the next cycle's settle puts the untried rest back in the queue.
        Returns what to call as each one is tried."""
        kept, sheet = self.kept, backend.describe()
        if kept is None:  # a Mailer made without a fate file (open_mailer always gives one)
            return lambda mail_id: None
        try:
            kept.keep(sheet, {i: (outbox.QUEUED, "", None) for i in marked}, marked)
        except OSError as err:  # as before: a kill leaves the whole batch `sending`
            log.warning("a kill now would leave all %d e-mails in doubt: %s", len(marked), err)
            return lambda mail_id: None

        def trying(mail_id: str) -> None:
            try:
                kept.forget(sheet, [mail_id])
            except OSError as err:  # then a kill puts it back in the queue: said, not fatal
                log.error("%s could not be marked as tried in %s: %s", mail_id, kept.path, err)

        return trying

    def _forget(self, backend: Backend, ids: Iterable[str]) -> None:
        if self.kept is not None:
            with contextlib.suppress(OSError):  # said in the log by the store
                self.kept.forget(backend.describe(), ids)

    def _keep(self, backend: Backend, outcomes: dict[str, Outcome], marked: dict[str, str],
              why: str) -> str:  # fmt: skip
        """Fates the sheet would not take, kept for the next cycle; never dropped."""
        if self.kept is not None:
            try:
                self.kept.keep(backend.describe(), outcomes, marked)
            except OSError as err:
                why += f"; keeping them in {self.kept.path} failed too ({err.strerror})"
            else:
                return (f"the e-mails' fates could not be written ({why}); {len(outcomes)} "
                        f"kept in {self.kept.path}, written at the next cycle")  # fmt: skip
        listing = ", ".join(f"{i} {o[0]} {marked.get(i, '')}" for i, o in outcomes.items())
        log.error("set these Outbox rows by hand: %s", listing)
        return f"the e-mails' fates could not be written ({why}); see the log"


def _count(done: Delivery, outcomes: dict[str, Outcome], broken: bool) -> None:
    for status, _, _ in outcomes.values():
        done.sent += status == outbox.SENT
        done.failed += status.startswith(outbox.FAILED)
    done.in_doubt += broken
    done.fates.update({i: o[0] for i, o in outcomes.items()})


def _send_all(
    postman: Postman,
    letters: dict[str, tuple[Outgoing, EmailMessage]],
    now: datetime,
    trying: Callable[[str], None],
) -> tuple[dict[str, Outcome], bool]:
    """Each e-mail's fate; after a broken transaction (its e-mail stays `sending`, in
    doubt) the rest go back to `queued`, unsent. `trying` is told of each e-mail just
    before it is handed to the server."""
    outcomes: dict[str, Outcome] = {}
    broken = False
    for mail_id, (_, message) in letters.items():
        if broken:
            outcomes[mail_id] = (outbox.QUEUED, "", None)
            continue
        trying(mail_id)
        fate = postman.send(message, now)
        if fate.status is None:
            broken = True
        else:
            outcomes[mail_id] = (fate.status, message["Message-ID"], fate.sent)
    return outcomes, broken


@dataclass
class UnsubscribeLinks:
    """Links to `sheetpipe serve`'s unsubscribe page, signed with its journal's secret
    (`secret`: read when the first link is made; sync.open_side_inputs hands it over)."""

    public_url: str
    secret: Callable[[], bytes]
    _key: bytes = b""

    def link(self, address: str) -> str:
        self._key = self._key or self.secret()
        return f"{self.public_url}/unsubscribe/{unsubscribe_token(self._key, address)}"


def open_mailer(config: Config) -> Mailer | None:
    """The mailer sheetpipe.toml's [smtp] asks for; None without one. Fates the sheet
    cannot take wait beside sheetpipe.toml (sheetpipe.mail-fates.json)."""
    if config.smtp is None:
        return None
    kept = FateStore(config.path.with_name(f"{config.path.stem}.mail-fates.json"))
    serve = config.serve
    links = (
        UnsubscribeLinks(serve.public_url, serve.journal) if serve and serve.public_url else None
    )
    return Mailer(config.smtp, kept, links)


@dataclass
class BatchInputs:
    """What a batch is decided on: the Outbox, and who each e-mail goes to now."""

    table: Table | None
    local: datetime  # the sheet's local time
    batch: list[Outgoing]
    pipelines: dict[str, Table]  # by slug of the pipeline's name, as alert IDs hold it
    team: list[Member]
    tasks: dict[str, str]  # Task ID → Task, for the batch's alert tasks


def _read_batch(
    backend: Backend, names: Names, now: datetime, known: BatchInputs | None
) -> BatchInputs:
    """The next batch, with the deals, Team and tasks their recipients come from (one
    read: on Google one request however many tabs).

    Those tabs are read for a delivery's first batch only; later batches take them from
    `known`. Re-reading 20 k deals for each batch of ten cost a 100-lead cycle 28 s
    instead of 5 s (docs/benchmarks.md (f)); an owner changed in the seconds a delivery
    takes is met by the next cycle's."""
    tabs = (names.outbox, names.settings)
    if known is None:
        tabs += (names.team, names.tasks, *names.pipelines)
    snapshot = backend.read(only=tabs)
    settings = settings_of(snapshot, names.settings)
    local = local_now(now, settings)

    def table(name: str, renames: dict[str, str] | None = None) -> Table | None:
        tab = snapshot.find(name)
        return read_table(tab, renames, date_cells=snapshot.date_cells) if tab else None

    found = table(names.outbox)
    state = outbox.read_outbox(found, local, settings.date_order)
    open_now = settings.window().is_open(local)
    batch = outbox.next_batch(state, int(settings.e_mails_per_day), open_now)
    if known is not None:
        return BatchInputs(found, local, batch, known.pipelines, known.team, known.tasks)
    pipelines = {slug(n): t for n in names.pipelines if (t := table(n, dict(names.columns)))}
    team, _ = read_team(table(names.team), settings.date_order)  # said by the cycle
    tasks = outbox.task_texts(table(names.tasks), (m.id for m in state.waiting))
    return BatchInputs(found, local, batch, pipelines, team, tasks)


def _outbox(backend: Backend, names: Names) -> Table | None:
    """The Outbox as it is now."""
    return table_of(backend.read(only=(names.outbox,)), names.outbox)  # not the whole sheet


def _apply(backend: Backend, names: Names, changes: ChangeSet) -> None:
    if changes.writes:
        backend.apply(changes, names.status)


def _write_fates(
    backend: Backend,
    names: Names,
    outcomes: dict[str, Outcome],
    marked: dict[str, str],
    wait: float,
) -> str:
    """Write each e-mail's fate, finding its row again by ID (people may sort Outbox);
    "" when written, else why not. A sheet that moves under the write is read again
    (RECORD_TRIES reads); a workbook open in Excel or LibreOffice is waited for (`wait`
    seconds), since a fate once known must reach the sheet."""
    deadline, pause, tries = time.monotonic() + wait, 0.5, 0
    while True:
        try:
            with backend.session():
                table = _outbox(backend, names)
                if table is not None:
                    _apply(backend, names, outbox.fates(table, outcomes, marked=marked))
            return ""
        except Replan as err:
            tries += 1
            if tries == RECORD_TRIES:
                return f"the Outbox kept changing: {err}"
            log.info("recording the e-mails' fates again: %s", err)
        except WorkbookBusy as err:
            if time.monotonic() + pause > deadline:
                return str(err).split(";")[0]
            log.info("waiting for the workbook to be closed, to record %d e-mails' fates",
                     len(outcomes))  # fmt: skip
            time.sleep(pause)
            pause = min(pause * 2, RECORD_PAUSE)
        except SheetpipeError as err:  # the storage failed: the fates are kept, not lost
            return str(err)
