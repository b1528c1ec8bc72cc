"""The SMTP server: one connection per batch (Postman), logged in over STARTTLS or
TLS at once; each failure said in one line with what to do (`sheetpipe check --smtp`)."""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr

from sheetpipe.config import ImapConfig, SmtpConfig
from sheetpipe.core.tabs import outbox
from sheetpipe.core.tabs.outbox import Outgoing
from sheetpipe.errors import SheetpipeError

log = logging.getLogger("sheetpipe")

LOGIN_METHODS = frozenset({"PLAIN", "LOGIN", "CRAM-MD5"})  # what smtplib.SMTP.login speaks


class MailError(SheetpipeError):
    """The mail server could not be reached or refused the login; nothing was sent."""


# ---- templates -----------------------------------------------------------------------


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
            smtp.login(config.user, password(config))
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
        sender = self.config.sender
        if mail.sender_name:  # the sender's address, under the name of the person it is from
            sender = formataddr((mail.sender_name, parseaddr(sender)[1]))
        message["From"] = sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = message_id
        if mail.kind != outbox.NURTURE:  # a lead's answer, even an auto-reply, is wanted
            message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
            message["X-Auto-Response-Suppress"] = "All"  # the same, for Exchange
        message.set_content(mail.body)
        return message


def _tls_context(config: SmtpConfig) -> ssl.SSLContext:
    """The certificates trusted: the system's, or [smtp] ca_file's."""
    try:
        return ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
    except (OSError, ssl.SSLError) as err:
        reason = getattr(err, "reason", None)  # OpenSSL's, e.g. NO_CERTIFICATE_OR_CRL_FOUND
        why = reason.replace("_", " ").lower() if reason else err.strerror or err
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


def password(config: SmtpConfig | ImapConfig, section: str = "smtp") -> str:
    """The password of [smtp] or [imap], from its environment variable or its file."""
    if config.password_env:
        value = os.environ.get(config.password_env)
        if value is None:
            where = f"{config.password_env} ([{section}] password_env)"
            raise MailError(f"{config.describe()}: the environment variable {where} is not set")
        return value
    assert config.password_file is not None  # config.py requires one of the two
    try:
        return config.password_file.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise MailError(f"{config.describe()}: the password file {config.password_file} "
                        f"cannot be read ({err.strerror})") from None  # fmt: skip


def _why(err: Exception, config: SmtpConfig) -> str:
    """What went wrong and what to do, in a few words."""
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
        said = getattr(err, "reason", None) or err.strerror or err  # OpenSSL's reason first
        return (f"the TLS handshake failed ({said}); check [smtp] security and port "
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
