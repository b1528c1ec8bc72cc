"""E-mail alerts: the templates, the SMTP server, and delivering the Outbox.

The core decides which alerts a cycle wants and queues them in Outbox (core/outbox.py);
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

Limits: plain-text e-mails; an SMTP server cannot be asked whether it already took a
message, so a row left `sending` is only reported (core/outbox.py).
"""

from __future__ import annotations

import contextlib
import email.errors
import errno
import json
import logging
import os
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from sheetpipe.backends.base import Backend
from sheetpipe.config import Config, SmtpConfig
from sheetpipe.core import outbox
from sheetpipe.core.contract import Names
from sheetpipe.core.outbox import Alert, Letter, MailProblem, Outgoing
from sheetpipe.core.plan import local_now
from sheetpipe.core.settings import settings_of
from sheetpipe.core.table import Table, read_table
from sheetpipe.core.tasks import slug
from sheetpipe.core.team import Member, read_team
from sheetpipe.errors import Replan, SheetpipeError, WorkbookBusy
from sheetpipe.layout import templates
from sheetpipe.model import ChangeSet

log = logging.getLogger("sheetpipe")
RECORD_TRIES = 4  # reads to find the rows again when the Outbox moves under the write
RECORD_WAIT = 120.0  # seconds to wait for a workbook open in Excel or LibreOffice to record
LOGIN_METHODS = frozenset({"PLAIN", "LOGIN", "CRAM-MD5"})  # what smtplib.SMTP.login speaks
RECORD_PAUSE = 5.0  # the longest pause between two looks at whether it is still open


class MailError(SheetpipeError):
    """The mail server could not be reached or refused the login; nothing was sent."""


# ---- templates -----------------------------------------------------------------------


class Templates:
    """Fills in the alert templates (the Composer the core queues e-mails with)."""

    def __init__(self, own: Path | None, sheet: str, link=lambda tab, row: ""):  # noqa: ANN001
        loaders: list[jinja2.BaseLoader] = [jinja2.FunctionLoader(_default_template)]
        if own is not None:
            loaders.insert(0, jinja2.FileSystemLoader(own))
        self.env = SandboxedEnvironment(
            loader=jinja2.ChoiceLoader(loaders),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # plain text; no cell reaches a page
            keep_trailing_newline=True,
        )
        self.sheet, self.link = sheet, link

    def compose(self, alert: Alert, to: Member) -> Letter:
        name = f"{alert.kind}.txt"
        tab, row = alert.where
        fields = {
            "deal": alert.deal,
            "owner": {"name": to.name, "email": to.email},
            "kind": alert.kind,
            "detail": alert.detail,
            "where": f"{tab} row {row}",
            "link": self.link(tab, row),
            "sheet": self.sheet,
        }
        try:
            subject, body = self._parts(name)
            return _letter(subject.render(fields), body.render(fields), name)
        except jinja2.TemplateNotFound:
            raise MailProblem(f"no template {name}") from None
        except jinja2.UndefinedError as err:
            raise MailProblem(f"{name}: {err.message} (the deal lacks that field)") from None
        except jinja2.TemplateError as err:  # the sandbox refused something
            raise MailProblem(f"{name}: {err}") from None

    def _parts(self, name: str) -> tuple[jinja2.Template, jinja2.Template]:
        """The subject line and the body as two templates, so that a line break in a
        deal's cell can only ever reach the body."""
        source, _, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
        found = SUBJECT_LINE.search(source)
        if found is None:
            raise MailProblem(f"{name}: it needs a line Subject: … before the body")
        subject_line = source.count("\n", 0, found.start()) + 1
        return (
            self._compile(found.group(1), name, subject_line),
            self._compile(source[found.end() :].removeprefix("\n"), name, subject_line + 1),
        )

    def _compile(self, text: str, name: str, first_line: int) -> jinja2.Template:
        """`text`, which starts at `first_line` of the file `name`: an error names the
        file's line, where the person who wrote it will look."""
        try:
            return self.env.from_string(text)
        except jinja2.TemplateSyntaxError as err:
            line = (err.lineno or 1) + first_line - 1
            raise MailProblem(f"{name} line {line}: {err.message}") from None


SUBJECT_LINE = re.compile(r"^Subject:(.*)$", re.M | re.I)


def _default_template(name: str) -> str | None:
    found = templates().joinpath("mail").joinpath(name)
    return found.read_text(encoding="utf-8") if found.is_file() else None


def _letter(subject: str, body: str, name: str) -> Letter:
    subject = " ".join(subject.split())  # one line: a cell's line break is no header break
    if not subject:
        raise MailProblem(f"{name}: the subject is empty")
    return Letter(subject, body.strip("\n") + "\n")


# ---- the SMTP server --------------------------------------------------------------------


@dataclass(frozen=True)
class Fate:
    """What became of one e-mail: a status for Outbox, or None when it is unknown."""

    status: str | None
    sent: datetime | None = None


class Postman:
    """One SMTP connection, logged in, for a batch of e-mails."""

    def __init__(self, config: SmtpConfig):
        self.config = config
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Postman:
        try:
            self.smtp = self._connect()
        except (OSError, smtplib.SMTPException) as err:
            self._close()
            raise MailError(f"{self.config.describe()}: {_why(err, self.config)}") from None
        except MailError:
            self._close()
            raise
        return self

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        context = _tls_context(config)
        if config.security == "ssl":
            self.smtp = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout,
                                         context=context)  # fmt: skip
        else:
            self.smtp = self._plain()
            if config.security == "starttls":
                self.smtp.starttls(context=context)
        if config.user:
            self._login(self.smtp)
        return self.smtp

    def _plain(self) -> smtplib.SMTP:
        """A connection that starts unencrypted; on a port that speaks TLS at once the
        server waits for a TLS hello and never greets, so a missing greeting is told apart
        from a silent server by trying TLS there."""
        config = self.config
        try:
            return smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        except smtplib.SMTPServerDisconnected:
            if _speaks_tls_at_once(config):
                raise MailError(f'{config.describe()}: this port speaks TLS at once (as 465 does): '
                                f'use security = "ssl", or the STARTTLS port (587) with '
                                f'security = "{config.security}"') from None  # fmt: skip
            raise

    def _login(self, smtp: smtplib.SMTP) -> None:
        config = self.config
        smtp.ehlo_or_helo_if_needed()
        offered = smtp.esmtp_features.get("auth", "").upper().split()
        if smtp.has_extn("auth") and not LOGIN_METHODS.intersection(offered):
            raise MailError(f"{config.describe()}: the server offers no login sheetpipe can use "
                            f"(AUTH {' '.join(offered) or 'with no method'}; sheetpipe logs in "
                            f"with {', '.join(sorted(LOGIN_METHODS))}): ask its administrator "
                            "for one of those")  # fmt: skip
        try:
            smtp.login(config.user, _password(config))
        except smtplib.SMTPNotSupportedError:  # AUTH is not among the EHLO's extensions
            over = {"none": "unencrypted", "starttls": "after STARTTLS", "ssl": "over TLS"}
            hint = ('; if it offers one only over TLS, use security = "starttls" or "ssl"'
                    if config.security == "none" else "")  # fmt: skip
            raise MailError(f"{config.describe()}: the server offers no login (no AUTH, "
                            f"{over[config.security]}): if it relays without one, leave out "
                            f"[smtp] user and its password{hint}") from None  # fmt: skip

    def __exit__(self, *exc: object) -> None:
        self._close()

    def _close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None

    def message_id(self) -> str:
        domain = parseaddr(self.config.sender)[1].rpartition("@")[2] or None
        return make_msgid("sheetpipe", domain=domain)

    def send(self, message: EmailMessage, now: datetime) -> Fate:
        """One SMTP transaction. Never raises: what it cannot tell is in doubt (None)."""
        assert self.smtp is not None, "send() inside `with Postman(...)`"
        try:
            self.smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as err:
            code, said = next(iter(err.recipients.values()), (550, "no recipient"))
            return _refused(code, said)
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as err:
            return _refused(err.smtp_code, err.smtp_error)
        except smtplib.SMTPNotSupportedError:  # asked before any transaction: nothing went
            return Fate(f"{outbox.FAILED}: the server takes no address with letters beyond "
                        "ASCII (it lacks SMTPUTF8)")  # fmt: skip
        except (OSError, smtplib.SMTPException):
            # The connection broke mid-transaction: the server may have the message.
            return Fate(None)
        except Exception as err:  # noqa: BLE001 - one e-mail's surprise never strands its batch
            log.error("sending %s failed unexpectedly (%s: %s); it stays `sending`, in doubt",
                      message["Message-ID"], type(err).__name__, err)  # fmt: skip
            return Fate(None)
        return Fate(outbox.SENT, now)

    def message(self, mail: Outgoing, message_id: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.config.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = message_id
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
        message["X-Auto-Response-Suppress"] = "All"  # the same, for Exchange
        message.set_content(mail.body)
        return message


def _tls_context(config: SmtpConfig) -> ssl.SSLContext:
    """The certificates trusted: the system's, or [smtp] ca_file's."""
    try:
        return ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
    except (OSError, ssl.SSLError) as err:
        why = getattr(err, "strerror", None) or getattr(err, "reason", None) or err
        raise MailError(f"{config.describe()}: [smtp] ca_file {config.ca_file} cannot be used "
                        f"({why}); point it at the PEM file of the CA that signed the "
                        "server's certificate") from None  # fmt: skip


def _speaks_tls_at_once(config: SmtpConfig) -> bool:
    """Whether the server at host:port answers a TLS hello (implicit TLS). Only the
    handshake: no certificate is trusted by it, nothing is sent over it."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    address, seconds = (config.host, config.port), min(config.timeout, 10)
    try:
        with socket.create_connection(address, timeout=seconds) as raw:
            context.wrap_socket(raw, server_hostname=config.host).close()
            return True
    except (OSError, ssl.SSLError):
        return False


def _refused(code: int, said: bytes | str) -> Fate:
    text = said.decode(errors="replace") if isinstance(said, bytes) else str(said)
    words = " ".join(text.split())
    if 400 <= code < 500:  # try again later
        return Fate(outbox.QUEUED)
    return Fate(f"{outbox.FAILED}: {code} {words}")


def _password(config: SmtpConfig) -> str:
    if config.password_env:
        value = os.environ.get(config.password_env)
        if value is None:
            raise MailError(f"{config.describe()}: the environment variable "
                            f"{config.password_env} ([smtp] password_env) is not set")  # fmt: skip
        return value
    assert config.password_file is not None  # config.py requires one of the two
    try:
        return config.password_file.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise MailError(f"{config.describe()}: the password file {config.password_file} "
                        f"cannot be read ({err.strerror})") from None  # fmt: skip


def _why(err: Exception, config: SmtpConfig) -> str:
    """What went wrong and what to do, in a few words."""
    if isinstance(err, MailError):
        return str(err).removeprefix(f"{config.describe()}: ")
    if isinstance(err, smtplib.SMTPAuthenticationError):
        where = (f"${config.password_env}" if config.password_env
                 else str(config.password_file))  # fmt: skip
        return (f"the login was refused ({err.smtp_code} {_said(err.smtp_error)}); check "
                f"[smtp] user and the password in {where}")  # fmt: skip
    if isinstance(err, smtplib.SMTPNotSupportedError):
        return ('the server does not offer STARTTLS; use security = "ssl" (port 465), or '
                '"none" on a relay of your own network')  # fmt: skip
    if isinstance(err, ssl.SSLCertVerificationError):
        return (f"its certificate is not trusted ({err.verify_message}); if the server uses "
                "a private CA, point [smtp] ca_file at it")  # fmt: skip
    if isinstance(err, ssl.SSLError):
        return (f"the TLS handshake failed ({err.reason}); check [smtp] security and port "
                "(ssl is usually 465, starttls 587)")  # fmt: skip
    if isinstance(err, socket.gaierror):
        return "no such host; check [smtp] host"
    if isinstance(err, ConnectionRefusedError):
        return "nothing answers there (connection refused); check [smtp] host and port"
    if isinstance(err, TimeoutError | socket.timeout):
        return f"no answer within {config.timeout:g} s; check [smtp] host, port and firewall"
    if isinstance(err, smtplib.SMTPResponseException):
        return f"the server refused ({err.smtp_code} {_said(err.smtp_error)})"
    if isinstance(err, smtplib.SMTPServerDisconnected):
        return (f"the server closed the connection or never greeted ({err}); check [smtp] "
                "port and security")  # fmt: skip
    return f"{type(err).__name__}: {err}"


def _said(raw: bytes | str) -> str:
    return " ".join((raw.decode(errors="replace") if isinstance(raw, bytes) else raw).split())


def check_smtp(config: SmtpConfig) -> str:
    """`sheetpipe check --smtp`: connect, say EHLO, log in; one line of what worked."""
    with Postman(config) as postman:
        assert postman.smtp is not None
        postman.smtp.ehlo_or_helo_if_needed()
        secure = {"ssl": "over TLS", "starttls": "STARTTLS", "none": "unencrypted"}
        login = f", logged in as {config.user}" if config.user else ", no login"
        return f"{config.describe()}: connected ({secure[config.security]}){login}."


# ---- delivering the Outbox ---------------------------------------------------------------

Outcome = tuple[str, str, datetime | None]  # Status, Message-ID, Sent: one row's fate


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
                _apply(backend, names, outbox.fates(found.table, marks | failures,
                                                    addressed.remade))  # fmt: skip
                outcomes, broken = _send_all(postman, letters, found.local)
            marked = {i: m["Message-ID"] for i, (_, m) in letters.items()}
            try:
                why = _write_fates(backend, names, outcomes, marked, wait=RECORD_WAIT)
            except Exception as err:  # a surprise: what the server answered is kept all the same
                self._keep(backend, outcomes, marked, f"{type(err).__name__}: {err}")
                raise
        _count(done, outcomes, broken)
        if why:
            done.error = self._keep(backend, outcomes, marked, why)
            return False
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
                message = postman.message(mail, postman.message_id())
                bytes(message)  # what send_message does first: a problem shows now
            except (ValueError, UnicodeError, email.errors.MessageError) as err:
                refused[mail.id] = f"the e-mail cannot be made: {err}"
                continue
            letters[mail.id] = (mail, message)
        return letters, refused

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
    postman: Postman, letters: dict[str, tuple[Outgoing, EmailMessage]], now: datetime
) -> tuple[dict[str, Outcome], bool]:
    """Each e-mail's fate; after a broken transaction (its e-mail stays `sending`, in
    doubt) the rest go back to `queued`, unsent."""
    outcomes: dict[str, Outcome] = {}
    broken = False
    for mail_id, (_, message) in letters.items():
        if broken:
            outcomes[mail_id] = (outbox.QUEUED, "", None)
            continue
        fate = postman.send(message, now)
        if fate.status is None:
            broken = True
        else:
            outcomes[mail_id] = (fate.status, message["Message-ID"], fate.sent)
    return outcomes, broken


def open_mailer(config: Config) -> Mailer | None:
    """The mailer sheetpipe.toml's [smtp] asks for; None without one. Fates the sheet
    cannot take wait beside sheetpipe.toml (sheetpipe.mail-fates.json)."""
    if config.smtp is None:
        return None
    kept = FateStore(config.path.with_name(f"{config.path.stem}.mail-fates.json"))
    return Mailer(config.smtp, kept)


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
    batch = outbox.next_batch(state, int(settings.e_mails_per_day))
    if known is not None:
        return BatchInputs(found, local, batch, known.pipelines, known.team, known.tasks)
    pipelines = {slug(n): t for n in names.pipelines if (t := table(n, dict(names.columns)))}
    team = read_team(table(names.team), settings.date_order, [])
    tasks = outbox.task_texts(table(names.tasks), (m.id for m in state.waiting))
    return BatchInputs(found, local, batch, pipelines, team, tasks)


def _outbox(backend: Backend, names: Names) -> Table | None:
    """The Outbox as it is now."""
    snapshot = backend.read(only=(names.outbox,))  # not the whole sheet
    tab = snapshot.find(names.outbox)
    return read_table(tab, date_cells=snapshot.date_cells) if tab else None


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


class FateStore:
    """Fates the sheet could not take, in a small JSON file beside sheetpipe.toml, until a
    later cycle writes them (Mailer.settle): what the mail server answered is never lost.
    Each is kept with the Message-ID its row was marked `sending` with, so that it lands
    only on a row still waiting for it."""

    def __init__(self, path: Path):
        self.path = path

    def load(self, sheet: str) -> tuple[dict[str, Outcome], dict[str, str]]:
        kept = self._read().get(sheet, {})
        outcomes = {i: (e["status"], e["message_id"],
                        datetime.fromisoformat(e["sent"]) if e.get("sent") else None)
                    for i, e in kept.items()}  # fmt: skip
        return outcomes, {i: e.get("marked", "") for i, e in kept.items()}

    def keep(self, sheet: str, outcomes: dict[str, Outcome], marked: dict[str, str]) -> None:
        every = self._read()
        every.setdefault(sheet, {}).update({
            i: {"status": status, "message_id": message_id, "marked": marked.get(i, ""),
                "sent": sent.isoformat() if sent else None}
            for i, (status, message_id, sent) in outcomes.items()
        })  # fmt: skip
        self._write(every)

    def forget(self, sheet: str, ids: Iterable[str]) -> None:
        every = self._read()
        for i in ids:
            every.get(sheet, {}).pop(i, None)
        self._write({k: v for k, v in every.items() if v})

    def _read(self) -> dict[str, dict[str, dict]]:
        try:
            found = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as err:  # kept aside for a person, never overwritten
            log.error("%s cannot be read (%s); it is left as it is", self.path, err)
            raise OSError(errno.EIO, f"{self.path} cannot be read") from err
        return found if isinstance(found, dict) else {}

    def _write(self, every: dict) -> None:
        if not every:
            self.path.unlink(missing_ok=True)
            return
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(every, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)  # whole or not at all
