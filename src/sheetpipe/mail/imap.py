"""Replies to nurture e-mails, read over IMAP (imap-tools) and recorded in the Replies tab.

Each cycle reads only what is new in the mailbox (UIDs above the highest the Replies tab
holds for this mailbox's UIDVALIDITY), never marks a message read (BODY.PEEK), and
appends one row per message: its sender, subject, Message-ID, what it refers to
(In-Reply-To and References), what it is (a person's reply, an auto-reply, a bounce, an
unsubscribe) and its first lines without the quoted text. The cycle then acts on each
row once (core/tabs/replies.py); a restart reads nothing twice, since a message whose
Message-ID the tab holds is skipped.
"""

from __future__ import annotations

import logging
import re
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from email.utils import getaddresses

from imap_tools import AND, MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessage

from sheetpipe.backends.base import Backend
from sheetpipe.config import ImapConfig
from sheetpipe.core.contract import REPLIES_COLUMNS, Names
from sheetpipe.core.sheet.table import first_new_row, table_of
from sheetpipe.mail.smtp import MailError, password
from sheetpipe.model import ChangeSet, Problem

log = logging.getLogger("sheetpipe")
AUTO_SUBJECTS = re.compile(r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?reply|"
                           r"autoreply|abwesenheit|absence|vacation)", re.I)  # fmt: skip
QUOTE_START = re.compile(r"^(>|on .+ wrote:\s*$|-----\s*original message|from: )", re.I)


@dataclass(frozen=True)
class Incoming:
    uid: int
    received: datetime | None
    sender: str  # the address
    subject: str
    message_id: str
    refers_to: str  # In-Reply-To and References, space-separated
    kind: str  # reply, auto-reply, bounce or unsubscribe
    first_lines: str
    bounced: str = ""  # the address a bounce reports, and why
    mailbox: str = ""  # folder and UIDVALIDITY: UIDs count only within it

    def row(self) -> list[object]:
        return [self.received.replace(tzinfo=None) if self.received else None, self.sender,
                self.subject, self.kind, self.first_lines, self.message_id, self.refers_to,
                self.bounced, self.mailbox, self.uid, ""]  # fmt: skip


@dataclass
class ReplyReader:
    """[imap] at work: before each cycle, new messages into the Replies tab."""

    config: ImapConfig

    def take(self, backend: Backend, names: Names) -> list[Problem]:
        """What is new in the mailbox, appended to Replies; a mailbox that cannot be read
        is a problem on Status and the cycle goes on."""
        with backend.session():
            table = table_of(backend.read(only=(names.replies,)), names.replies)
            seen = set(table.column("Message-ID").stripped()) if table is not None else set()
            try:
                found = fetch_new(self.config, table)
            except MailError as err:
                return [Problem("sheetpipe.toml [imap]", str(err))]
            new = [m for m in found if m.message_id not in seen]
            if not new:
                return []
            changes = ChangeSet()
            if table is None:
                changes.new_tabs.append((names.replies, [list(REPLIES_COLUMNS)]))
            start = first_new_row(table.tab if table is not None else None)
            changes.appends.append((names.replies, start, [m.row() for m in new]))
            backend.apply(changes, names.status)
        log.info("read %d new messages from %s", len(new), self.config.describe())
        return []


def fetch_new(config: ImapConfig, table) -> list[Incoming]:  # noqa: ANN001 - a Table
    """The messages above the highest UID the Replies tab holds for this mailbox."""
    try:
        with _connect(config) as box:
            box.folder.set(config.folder)
            validity = box.folder.status(config.folder, ["UIDVALIDITY"])["UIDVALIDITY"]
            mailbox = f"{config.folder} {validity}"
            last = _last_uid(table, mailbox)
            messages = box.fetch(AND(uid=f"{last + 1}:*"), mark_seen=False, bulk=True)
            return [_read_or_note(m, mailbox) for m in messages if int(m.uid or 0) > last]
    except (OSError, ssl.SSLError) as err:
        raise MailError(f"{config.describe()}: cannot connect ({err})") from None
    except Exception as err:  # imap-tools' errors: a refused login, a missing folder
        raise MailError(f"{config.describe()}: {type(err).__name__}: {err}") from None


def _connect(config: ImapConfig):  # noqa: ANN202 - a logged-in imap-tools MailBox
    kind = {"ssl": MailBox, "starttls": MailBoxStartTls, "none": MailBoxUnencrypted}
    box = kind[config.security](config.host, config.port, timeout=config.timeout)
    return box.login(config.user, password(config, "imap"))


def _last_uid(table, mailbox: str) -> int:  # noqa: ANN001 - a Table
    if table is None or table.index.empty:
        return 0
    same = table.column("Mailbox").stripped() == mailbox
    uids = table.column("UID").numbers()[same].dropna()
    return int(uids.max()) if len(uids) else 0


def _read_or_note(message: MailMessage, mailbox: str) -> Incoming:
    """The message read, or a row saying it could not be: one broken message must not
    hold back every message after it (its UID is recorded, so it is not read again)."""
    try:
        return read(message, mailbox)
    except Exception as err:  # whatever a malformed message makes the parser raise
        uid = int(message.uid or 0)
        log.warning("message %d in %s could not be read: %s", uid, mailbox, type(err).__name__)
        return Incoming(uid, None, "", "", _stand_in_id(uid, mailbox), "", "unreadable",
                        f"could not be read ({type(err).__name__}); look at it in the mailbox",
                        mailbox=mailbox)  # fmt: skip


def _stand_in_id(uid: int, mailbox: str) -> str:
    """An ID for a message without a Message-ID, so it is still recorded once."""
    return f"<uid-{uid}.{mailbox.replace(' ', '.')}@sheetpipe.invalid>"


def read(message: MailMessage, mailbox: str) -> Incoming:
    """One message as the Replies tab records it."""
    raw = message.obj
    refers = f"{_header(raw, 'In-Reply-To')} {_header(raw, 'References')}"
    bounced = _bounce(raw)
    first = first_lines(message.text or message.html or "")
    kind = "bounce" if bounced else "auto-reply" if _automatic(raw, message.subject) else (
        "unsubscribe" if re.search(r"\bunsubscribe\b", f"{message.subject} {first}", re.I)
        else "reply")  # fmt: skip
    uid = int(message.uid or 0)
    return Incoming(uid, message.date if message.date.year > 1900 else None,
                    message.from_.strip().lower(), " ".join(message.subject.split()),
                    _header(raw, "Message-ID").strip() or _stand_in_id(uid, mailbox),
                    " ".join(refers.split()), kind, first, bounced, mailbox)  # fmt: skip


def _header(raw: Message, name: str) -> str:
    """A header as text: raw 8-bit bytes in a header come back as a Header object."""
    return str(raw.get(name, "") or "")


def first_lines(body: str, limit: int = 200) -> str:
    """The reply's own words: the lines before the quoted message, on one line."""
    kept = []
    for line in body.splitlines():
        if QUOTE_START.match(line.strip()):
            break
        if line.strip():
            kept.append(line.strip())
    said = " ".join(kept)
    return said if len(said) <= limit else said[: limit - 1] + "…"


def _automatic(raw: Message, subject: str) -> bool:
    """RFC 3834's Auto-Submitted, the headers Exchange and others set, the usual subjects."""
    if (_header(raw, "Auto-Submitted") or "no").strip().lower() != "no":
        return True
    if any(raw.get(h) for h in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress")):
        return True
    if _header(raw, "Precedence").strip().lower() in ("bulk", "junk", "auto_reply", "list"):
        return True
    return bool(AUTO_SUBJECTS.match(subject))


def _bounce(raw: Message) -> str:
    """An RFC 3464 delivery report's failed recipient and why ("" for any other message)."""
    if raw.get_content_type() != "multipart/report":
        return ""
    if raw.get_param("report-type", "").lower() != "delivery-status":
        return ""
    for part in raw.walk():
        blocks = part.get_payload()
        if part.get_content_type() != "message/delivery-status" or not isinstance(blocks, list):
            continue  # (a report sent base64-encoded is a string Python leaves unparsed)
        fields = [f for block in blocks for f in block.items()]
        found = dict((k.lower(), v) for k, v in fields)
        if found.get("action", "").strip().lower() != "failed":
            continue
        recipient = found.get("final-recipient") or found.get("original-recipient") or ""
        address = getaddresses([recipient.split(";")[-1]])[0][1].lower()
        if "@" not in address:
            continue  # no address to put on Suppression
        why = " ".join(f"{found.get('status', '')} {found.get('diagnostic-code', '')}".split())
        return f"{address}: {why}".strip()
    return ""
