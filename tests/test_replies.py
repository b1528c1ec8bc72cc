"""Replies to nurture e-mails: what a message is (sheetpipe/mail/imap.py), what [imap] in
sheetpipe.toml must say, and a mailbox that cannot be read (the cycle goes on)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from imap_tools import MailMessage

from sheetpipe.config import ImapConfig, parse_imap
from sheetpipe.core.contract import Names
from sheetpipe.mail.imap import ReplyReader, first_lines, read
from sheetpipe.sync import SideInputs, run_cycle

from .helpers import free_port, memory
from .test_nurture_installed import IMAP_PASSWORD, IMAP_USER, deliver, imap  # noqa: F401


def message(headers: dict[str, str], body: str = "Thanks!") -> MailMessage:
    lines = [f"{k}: {v}" for k, v in {"From": "Cara <Cara@Beta.example>", "Subject": "Re: demo",
                                       "Message-ID": "<r1@beta.example>", **headers}.items()]  # fmt: skip
    return MailMessage.from_bytes(("\r\n".join(lines) + "\r\n\r\n" + body).encode())


@pytest.mark.parametrize(("headers", "body", "kind"), [
    ({}, "Sounds good, Tuesday?", "reply"),
    ({"Auto-Submitted": "auto-replied"}, "Away", "auto-reply"),  # RFC 3834 (Gmail sets it)
    ({"Auto-Submitted": "no"}, "I am here", "reply"),
    ({"X-Auto-Response-Suppress": "All", "Subject": "Automatic reply: demo"}, "Away",
     "auto-reply"),  # Exchange
    ({"Subject": "Out of Office: A demo"}, "Back Monday", "auto-reply"),
    ({"Precedence": "auto_reply"}, "Away", "auto-reply"),
    ({"X-Autoreply": "yes"}, "Away", "auto-reply"),
    ({}, "Please unsubscribe me from these e-mails.", "unsubscribe"),
    ({}, "Subscriber numbers are up!", "reply"),
])  # fmt: skip
def test_each_message_is_told_apart_by_its_headers_and_words(headers, body, kind):
    found = read(message(headers, body), "INBOX 1")
    assert found.kind == kind
    assert found.sender == "cara@beta.example"


def test_a_delivery_report_names_the_address_and_why():
    raw = (
        "From: MAILER-DAEMON@mx.example\r\nSubject: Undelivered\r\nMessage-ID: <b@mx>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; "
        'boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nNot delivered.\r\n'
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        "Final-Recipient: rfc822; Dan@Delta.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n\r\n--b--\r\n"
    )
    found = read(MailMessage.from_bytes(raw.encode()), "INBOX 1")
    assert found.kind == "bounce"
    assert found.bounced == "dan@delta.example: 5.1.1 smtp; 550 5.1.1 no such user"
    delayed = raw.replace("Action: failed", "Action: delayed")
    assert read(MailMessage.from_bytes(delayed.encode()), "INBOX 1").kind != "bounce"


@pytest.mark.parametrize(("body", "said"), [
    ("Sounds good, Tuesday?\n\nOn Wed, 2 Dec 2026, Ana wrote:\n> Could we show you", "Sounds good, Tuesday?"),
    ("Yes.\nCall me.\n> quoted", "Yes. Call me."),
    ("Fine\n-----Original Message-----\nFrom: Ana", "Fine"),
    ("=HYPERLINK(\"http://x.example\")", '=HYPERLINK("http://x.example")'),
])  # fmt: skip
def test_the_first_lines_leave_the_quoted_message_out(body, said):
    assert first_lines(body) == said


def test_long_first_lines_are_cut_to_200_characters():
    said = first_lines("word " * 100)
    assert len(said) == 200 and said.endswith("…") and said.startswith("word word")


@pytest.mark.parametrize(("raw", "says"), [
    ({"host": "imap.example.com", "user": "u@example.com"}, "its password goes in an environment"),
    ({"host": "imap.example.com", "user": "u@example.com", "password": "x"},
     "never in sheetpipe.toml"),
    ({"user": "u@example.com", "password_env": "P"}, "[imap] host is missing"),
    ({"host": "imap.example.com", "user": "u@example.com", "password_env": "P",
      "security": "none"}, 'security = "none" would send the password unencrypted'),
    ({"host": "h", "user": "u", "password_env": "P", "security": "tls"}, "must be ssl, starttls"),
    ({"host": "h", "user": "u", "password_env": "P", "port": "993"}, "must be a port number"),
    ({"host": "h", "user": "u", "password_env": "P", "folders": "x"}, "folders"),
])  # fmt: skip
def test_a_bad_imap_section_says_which_key_and_what_to_write(raw, says):
    problems: list[str] = []
    assert parse_imap(raw, Path("."), problems) is None
    assert any(says in p for p in problems), problems


def test_a_good_imap_section_defaults_to_ssl_on_993():
    problems: list[str] = []
    found = parse_imap({"host": "imap.example.com", "user": "u@example.com",
                        "password_env": "SHEETPIPE_IMAP_PASSWORD"}, Path("."), problems)  # fmt: skip
    assert problems == []
    assert (found.security, found.port, found.folder) == ("ssl", 993, "INBOX")


def test_a_mailbox_that_cannot_be_read_is_a_problem_on_status_and_the_cycle_goes_on(monkeypatch):
    monkeypatch.setenv("SHEETPIPE_IMAP_PASSWORD", "x")
    nobody = ImapConfig("127.0.0.1", free_port(), "none", "u@example.com",
                        "SHEETPIPE_IMAP_PASSWORD")  # fmt: skip
    backend = memory(deals=[{"Deal": "Acme", "Stage": "Discovery"}])
    report = run_cycle(backend, Names(mail=True), datetime(2026, 3, 10, 9, 30),
                       side=SideInputs(replies=ReplyReader(nobody)))  # fmt: skip
    [problem] = [p for p in report.plan.problems if p.where == "sheetpipe.toml [imap]"]
    assert "cannot connect" in problem.message
    assert report.plan.deals == 1  # the rest of the cycle ran


# ---- one-click unsubscribe links -------------------------------------------------------


@pytest.mark.parametrize(
    "address", ["cara@beta.example", "Cara@Beta.Example", "o'neil+x@b.example"]
)
def test_an_unsubscribe_link_names_its_address_and_nothing_else(address):
    from sheetpipe.core.tabs.unsubscribe import address_of, unsubscribe_token

    token = unsubscribe_token(b"k" * 32, address)
    assert address_of(b"k" * 32, token) == address.lower()
    assert "/" not in token and "?" not in token  # one path segment
    assert address_of(b"other key", token) is None
    coded, _, signature = token.partition(".")
    other = unsubscribe_token(b"k" * 32, "eve@x.example").partition(".")[0]
    assert address_of(b"k" * 32, f"{other}.{signature}") is None  # a signature is per address
    for garbage in ("", ".", "!!!.abc", coded, f"{coded}.", "%%.%%"):
        assert address_of(b"k" * 32, garbage) is None


@pytest.mark.parametrize(("url", "ok"), [
    ("https://forms.example.com", True), ("https://forms.example.com/", True),
    ("http://127.0.0.1:8787", True), ("http://forms.example.com", False),
    ("forms.example.com", False), (42, False),
])  # fmt: skip
def test_public_url_must_be_an_https_address(url, ok):
    from sheetpipe.config import parse_serve

    problems: list[str] = []
    found = parse_serve({"tab": "Web leads", "public_url": url}, Path("."), ("Web leads",),
                        problems)  # fmt: skip
    assert (found is not None) == ok, problems
    if ok:
        assert not found.public_url.endswith("/")
    else:
        assert any("[serve] public_url" in p for p in problems)


def test_a_clicked_link_lands_on_suppression_once_in_its_email_column(tmp_path):
    from sheetpipe.web.journal import Journal, move_unsubscribes

    from .helpers import column

    backend = memory(deals=[{"Deal": "Acme", "Stage": "Discovery"}])
    from sheetpipe.model import Tab

    backend.snapshot.tabs["Suppression"] = Tab("Suppression", [
        ["Source", "Reason", "Email", "When"], ["a person", "manual", "old@x.example", None]])  # fmt: skip
    journal = Journal(tmp_path / "journal.sqlite")
    journal.unsubscribe("cara@beta.example")
    journal.unsubscribe("cara@beta.example")  # clicked twice
    journal.unsubscribe("OLD@x.example")  # already there
    assert move_unsubscribes(journal, backend, Names(mail=True)) == 1
    assert column(backend.snapshot, "Suppression", "Email") == ["old@x.example",
                                                                "cara@beta.example"]  # fmt: skip
    assert column(backend.snapshot, "Suppression", "Reason") == ["manual", "unsubscribed"]
    assert journal.unsubscribes() == []  # moved: the next cycle adds nothing
    assert move_unsubscribes(journal, backend, Names(mail=True)) == 0


# ---- messages as they arrive: odd, broken, without an ID ---------------------------------

ODD = [
    # Raw Latin-1 in the headers (old mail clients): Python hands these back as Header objects
    "From: J\u00f6rg <jorg@beta.example>\r\nSubject: Gr\u00fc\u00dfe\r\n"
    "Message-ID: <j1@beta.example>\r\n\r\nGerne am Dienstag.\r\n".encode("latin-1"),
    # A charset no parser knows, with a NUL in it: reading the body raises
    b"From: x@beta.example\r\nSubject: ?\r\nMessage-ID: <x1@beta.example>\r\n"
    b'Content-Type: text/plain; charset="utf-8\x00"\r\n\r\nhi\r\n',
    # No Message-ID at all, twice
    b"From: a@beta.example\r\nSubject: one\r\n\r\nFirst.\r\n",
    b"From: b@beta.example\r\nSubject: two\r\n\r\nSecond.\r\n",
]


def test_a_message_that_cannot_be_read_is_noted_and_the_ones_after_it_are_read(
    monkeypatch,
    imap,  # noqa: F811
):
    """One broken message in the mailbox must not hold back every reply after it, and
    messages without a Message-ID are each recorded (once)."""
    for raw in ODD:
        deliver(imap, raw)
    monkeypatch.setenv("SHEETPIPE_IMAP_PASSWORD", IMAP_PASSWORD)
    config = ImapConfig("127.0.0.1", imap, "none", IMAP_USER, "SHEETPIPE_IMAP_PASSWORD")
    backend = memory(deals=[{"Deal": "Acme", "Stage": "Discovery"}])
    reader = ReplyReader(config)
    assert reader.take(backend, Names(mail=True)) == []
    rows = backend.read().find("Replies").rows[1:]
    got = [(r[1], r[3]) for r in rows]
    assert got == [("jorg@beta.example", "reply"), ("", "unreadable"),
                   ("a@beta.example", "reply"), ("b@beta.example", "reply")]  # fmt: skip
    assert "Gerne am Dienstag." in rows[0][4]
    assert len({r[5] for r in rows}) == 4  # each its own Message-ID
    assert reader.take(backend, Names(mail=True)) == []
    assert len(backend.read().find("Replies").rows) == 5  # nothing read twice
