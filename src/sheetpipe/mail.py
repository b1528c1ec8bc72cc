"""E-mail alerts: the templates, the SMTP server, and delivering the Outbox.

The core decides which alerts a cycle wants and queues them in Outbox (core/outbox.py);
this module fills in their templates and carries queued rows to the mail server:

    read Outbox → mark a batch `sending` (each with its Message-ID) → one SMTP
    transaction per e-mail → read again → record `sent` / `failed: …` / `queued`

Templates are Jinja2, sandboxed (a template cannot reach Python) and strict (a field
it names that the deal lacks stops that e-mail with a problem, rather than mailing a
half-filled one). A team's own folder ([smtp] templates) comes before the defaults in
sheetpipe's `templates/mail`. Each template's first line is `Subject: …`.

Limits: plain-text e-mails; an SMTP server cannot be asked whether it already took a
message, so a row left `sending` is only reported (core/outbox.py).
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import socket
import ssl
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
from sheetpipe.core.settings import Settings, settings_of
from sheetpipe.core.table import Table, read_table
from sheetpipe.core.team import Member
from sheetpipe.errors import Replan, SheetpipeError
from sheetpipe.layout import templates

log = logging.getLogger("sheetpipe")
RECORD_TRIES = 4  # reads to find the rows again when the Outbox moves under the write


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
            subject, body, offset = self._parts(name)
            return _letter(subject.render(fields), body.render(fields), name)
        except jinja2.TemplateNotFound:
            raise MailProblem(f"no template {name}") from None
        except jinja2.TemplateSyntaxError as err:
            raise MailProblem(f"{name} line {(err.lineno or 0) + offset}: {err.message}") from None
        except jinja2.UndefinedError as err:
            raise MailProblem(f"{name}: {err.message} (the deal lacks that field)") from None
        except jinja2.TemplateError as err:  # the sandbox refused something
            raise MailProblem(f"{name}: {err}") from None

    def _parts(self, name: str) -> tuple[jinja2.Template, jinja2.Template, int]:
        """The subject line and the body as two templates (and the body's first line), so
        that a line break in a deal's cell can only ever reach the body."""
        source, _, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
        found = SUBJECT_LINE.search(source)
        if found is None:
            raise MailProblem(f"{name}: it needs a line Subject: … before the body")
        offset = source.count("\n", 0, found.end()) + 1
        return (
            self.env.from_string(found.group(1)),
            self.env.from_string(source[found.end() :].removeprefix("\n")),
            offset,
        )


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
        context = ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
        if config.security == "ssl":
            self.smtp = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout,
                                         context=context)  # fmt: skip
        else:
            self.smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
            if config.security == "starttls":
                self.smtp.starttls(context=context)
        if config.user:
            self.smtp.login(config.user, _password(config))
        return self.smtp

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

    def send(self, mail: Outgoing, message_id: str, now: datetime) -> Fate:
        assert self.smtp is not None, "send() inside `with Postman(...)`"
        try:
            message = self.message(mail, message_id)
        except ValueError as err:  # a line break in To: no header may carry one
            return Fate(f"{outbox.FAILED}: {err}")
        try:
            self.smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as err:
            code, said = next(iter(err.recipients.values()))
            return _refused(code, said)
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as err:
            return _refused(err.smtp_code, err.smtp_error)
        except (OSError, smtplib.SMTPException):
            # The connection broke mid-transaction: the server may have the message.
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


@dataclass
class Delivery:
    """What one cycle's delivery did."""

    sent: int = 0
    failed: int = 0
    in_doubt: int = 0
    error: str = ""  # why the server took nothing, when it did not
    fates: dict[str, str] = field(default_factory=dict)  # Outbox ID → status written

    def line(self) -> str:
        said = f"mail: {self.sent} sent, {self.failed} failed"
        said += f", {self.in_doubt} in doubt" if self.in_doubt else ""
        return said + (f"; {self.error}" if self.error else "")


@dataclass
class Mailer:
    """[smtp] at work: the composer a cycle queues with, and delivery after it."""

    config: SmtpConfig

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
        return done

    def _one_batch(self, backend: Backend, names: Names, now: datetime, done: Delivery) -> bool:
        """Send one batch; True when the next one may follow."""
        with backend.session():
            table, settings, local = _outbox(backend, names, now)
            state = outbox.read_outbox(table, local, settings.date_order)
            batch = outbox.next_batch(state, int(settings.e_mails_per_day))
            if not batch or table is None:
                return False
            with Postman(self.config) as postman:
                ids = {mail.id: postman.message_id() for mail in batch}
                marks = {i: (outbox.SENDING, ids[i], local) for i in ids}
                backend.apply(outbox.fates(table, marks), names.status)
                outcomes, broken = self._send(postman, batch, ids, local)
            _record(backend, names, now, outcomes)
        for status, _, _ in outcomes.values():
            done.sent += status == outbox.SENT
            done.failed += status.startswith(outbox.FAILED)
        done.in_doubt += broken
        done.fates.update({i: o[0] for i, o in outcomes.items()})
        # A broken connection, or a server asking to try later: the rest wait for next time.
        return not broken and all(o[0] != outbox.QUEUED for o in outcomes.values())

    @staticmethod
    def _send(
        postman: Postman, batch: list[Outgoing], ids: dict[str, str], now: datetime
    ) -> tuple[dict[str, tuple[str, str, datetime | None]], bool]:
        """Each e-mail's fate; after a broken transaction (its e-mail stays `sending`, in
        doubt) the rest go back to `queued`, unsent."""
        outcomes: dict[str, tuple[str, str, datetime | None]] = {}
        broken = False
        for mail in batch:
            if broken:
                outcomes[mail.id] = (outbox.QUEUED, "", None)
                continue
            fate = postman.send(mail, ids[mail.id], now)
            if fate.status is None:
                broken = True
            else:
                outcomes[mail.id] = (fate.status, ids[mail.id], fate.sent)
        return outcomes, broken


def open_mailer(config: Config) -> Mailer | None:
    """The mailer sheetpipe.toml's [smtp] asks for; None without one."""
    return Mailer(config.smtp) if config.smtp is not None else None


def _outbox(
    backend: Backend, names: Names, now: datetime
) -> tuple[Table | None, Settings, datetime]:
    """The Outbox as it is now, the Settings, and the sheet's local time."""
    snapshot = backend.read(only=(names.outbox, names.settings))  # not the whole sheet
    settings = settings_of(snapshot, names.settings)
    tab = snapshot.find(names.outbox)
    table = read_table(tab, date_cells=snapshot.date_cells) if tab else None
    return table, settings, local_now(now, settings)


def _record(backend: Backend, names: Names, now: datetime, outcomes: dict) -> None:
    """Write each e-mail's fate, finding its row again by ID (people may sort Outbox)."""
    for attempt in range(1, RECORD_TRIES + 1):
        try:
            table, _, _ = _outbox(backend, names, now)
            if table is not None:
                backend.apply(outbox.fates(table, outcomes), names.status)
            return
        except Replan as err:
            if attempt == RECORD_TRIES:
                log.warning("the e-mails' fates could not be recorded: %s", err)
                return
            log.info("recording the e-mails' fates again: %s", err)
