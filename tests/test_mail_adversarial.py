"""E-mail alerts against careless people and hostile cells, through a real SMTP server on
loopback and real workbooks on disk: a row that cannot go fails alone and never strands
its batch (issue 21, finding 1), a fate the server gave is never thrown away, even with
the workbook open in LibreOffice (3), a waiting alert follows its deal to a new owner
(11), `check --smtp` says what is wrong (15), and the behaviours mutation testing found
untested (the Hot e-mail, the daily cap's level, how often a moved Outbox is re-read)."""

from __future__ import annotations

import email.utils
import os
import smtplib
import socket
import ssl
import threading
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from aiosmtpd.controller import Controller

from sheetpipe.backends.xlsx import XlsxBackend
from sheetpipe.config import load_config
from sheetpipe.core.tabs.outbox import Outgoing
from sheetpipe.errors import WorkbookBusy
from sheetpipe.mail import delivery, open_mailer
from sheetpipe.mail import smtp as sending
from sheetpipe.mail import templates as mail_templates
from sheetpipe.model import ChangeSet, ColumnWrite
from sheetpipe.sync import SideInputs, run_cycle

from .helpers import free_port, tabs, write_workbook
from .test_mail import (
    NOW,
    Mailbox,
    check,
    config,
    cycle,
    outbox,
    response,
    set_status,
    workbook,
)


@pytest.fixture
def smtp():
    """A real SMTP server on loopback (aiosmtpd); it keeps what it is given."""
    yield from _server()


@pytest.fixture
def ascii_smtp():
    """The same, without SMTPUTF8: it takes no address with letters beyond ASCII."""
    yield from _server(enable_SMTPUTF8=False)


def _server(**options):
    inbox = Mailbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


TWO_LEADS = [response("P0", "p0@firm0.example", "Firm 0"), response("P1", "p1@firm1.example",
                                                                      "Firm 1")]  # fmt: skip


def set_cell(folder: Path, tab: str, row: int, header: str, value: object) -> None:
    """What a person does: one cell retyped and saved."""
    backend = XlsxBackend(folder / "pipeline.xlsx")
    with backend.session():
        col = backend.read().find(tab).header.index(header) + 1
        backend.apply(ChangeSet(writes=[ColumnWrite(tab, col, header, [row], [value])]), "Status")


def body(message) -> str:
    return message.get_content().replace("\r\n", "\n")


def statuses(folder: Path) -> list[str]:
    return [r["Status"] for r in outbox(folder)]


# ---- 1: a row that cannot go fails alone; fixed, it goes ------------------------------------


def test_an_owner_given_an_email_after_failing_gets_the_alert_once_it_is_queued_again(
    tmp_path, smtp
):
    """Status said: give them an Email, then set the row to queued. Doing exactly that
    mails them the whole alert (it was never made), and records it on the row."""
    workbook(tmp_path, [response()], team=[["Ana Ruiz", "", "Yes"]])
    path = config(tmp_path, smtp.port)
    cycle(path)
    assert statuses(tmp_path) == ["failed: Ana Ruiz has no Email in Team"]
    set_cell(tmp_path, "Team", 2, "Email", "ana@sales.example")
    set_status(tmp_path, 2, "queued")
    report = cycle(path, NOW + timedelta(minutes=5))
    assert report.delivery.sent == 1 and report.delivery.error == ""
    [message] = smtp.messages
    assert smtp.recipients == [["ana@sales.example"]]
    assert message["Subject"] == "New lead for you: Beta Ltd (D-0002)"
    assert "Hi Ana Ruiz," in body(message) and "Contact: Cara Diaz" in body(message)
    assert "Why you: you are the Owner of D-0002 in Deals" in body(message)
    [row] = outbox(tmp_path)
    assert (row["Status"], row["To"], row["Subject"]) == ("sent", "ana@sales.example",
                                                          message["Subject"])  # fmt: skip
    assert row["Body"] == body(message) and row["Message-ID"] == message["Message-ID"]


def test_a_row_that_cannot_go_fails_alone_and_the_rest_of_its_batch_is_sent(tmp_path, smtp):
    """Set back to queued with the Team still lacking the Email: that row fails again,
    saying why; the other e-mail of the same batch goes, and nothing stays `sending`."""
    workbook(tmp_path, TWO_LEADS, team=[["Ana Ruiz", "", "Yes"], ["Ben Ode", "ben@sales.example",
                                                                  "Yes"]])  # fmt: skip
    down = free_port()
    cycle(config(tmp_path, down))
    assert statuses(tmp_path) == ["failed: Ana Ruiz has no Email in Team", "queued"]
    set_status(tmp_path, 2, "queued")
    report = cycle(config(tmp_path, smtp.port), NOW + timedelta(minutes=5))
    assert statuses(tmp_path) == ["failed: Ana Ruiz has no Email in Team", "sent"]
    assert smtp.recipients == [["ben@sales.example"]]
    assert (report.delivery.sent, report.delivery.failed, report.delivery.in_doubt) == (1, 1, 0)


@pytest.mark.parametrize(
    ("email", "status"),
    [
        ("ana at sales", 'failed: Ana Ruiz\'s Email in Team, "ana at sales", is not an e-mail '
                         "address"),
        ("ana@sales.example, eve@evil.example",
         'failed: Ana Ruiz\'s Email in Team, "ana@sales.example, eve@evil.example", holds more '
         "than one address; an alert goes to one person"),
        ("Ana Ruiz", 'failed: Ana Ruiz\'s Email in Team, "Ana Ruiz", is not an e-mail address'),
    ],
)  # fmt: skip
def test_a_team_email_that_is_not_one_address_fails_the_alert_with_the_reason(
    tmp_path, smtp, email, status
):
    workbook(tmp_path, [response()], team=[["Ana Ruiz", email, "Yes"]])
    report = cycle(config(tmp_path, smtp.port))
    assert smtp.messages == []
    assert statuses(tmp_path) == [status]
    [problem] = [p for p in report.plan.problems if p.where == "Deals!A3"]
    assert problem.level == "warning"
    assert problem.message.endswith("; fix it, then set the Outbox row deals/D-0002/new-lead to "
                                    "queued to send it.")  # fmt: skip


def hand_made_row(folder: Path, values: dict) -> None:
    """A person adds (or pastes) a row into Outbox in their spreadsheet program."""
    book = openpyxl.load_workbook(folder / "pipeline.xlsx")
    sheet = book["Outbox"]
    header = [c.value for c in sheet[1]]
    sheet.append([values.get(h) for h in header])
    book.save(folder / "pipeline.xlsx")


@pytest.mark.parametrize(
    ("row", "status"),
    [
        ({"ID": "mine/1", "To": "a@x.example, b@y.example", "Subject": "Hi"},
         'failed: To, "a@x.example, b@y.example", holds more than one address'),
        ({"ID": "mine/1", "To": "a@x.example\nBcc: victim@y.example", "Subject": "Hi"},
         'failed: To, "a@x.example Bcc: victim@y.example", holds more than one address'),
        ({"ID": "mine/1", "To": "", "Subject": "Hi"}, "failed: To is empty"),
        ({"ID": "mine/1", "To": "a@x.example", "Subject": ""}, "failed: the Subject is empty"),
        ({"ID": "mine/1", "To": "a@x.example", "Subject": "Hi\nBcc: victim@y.example"},
         "failed: the e-mail cannot be made: Header values may not contain linefeed"),
        ({"ID": "", "To": "a@x.example", "Subject": "Hi"},
         "failed: the row has no ID; give it one no other row has"),
    ],
)  # fmt: skip
def test_a_hand_made_row_that_cannot_go_fails_alone_with_the_reason(tmp_path, smtp, row, status):
    workbook(tmp_path, [response()])
    cycle(config(tmp_path, free_port()))  # the server is down: the lead's alert waits
    hand_made_row(tmp_path, {**row, "Status": "queued", "Body": "text"})
    cycle(config(tmp_path, smtp.port), NOW + timedelta(minutes=5))
    assert [m["Subject"] for m in smtp.messages] == ["New lead for you: Beta Ltd (D-0002)"]
    first, second = statuses(tmp_path)
    assert first == "sent" and second.startswith(status), second


def test_a_hand_made_row_to_one_address_goes_as_written(tmp_path, smtp):
    workbook(tmp_path, [response()])
    cycle(config(tmp_path, smtp.port))
    hand_made_row(tmp_path, {"ID": "mine/1", "To": "boss@sales.example", "Subject": "Note",
                             "Body": "Call Cara.", "Status": "queued", "Kind": "note"})  # fmt: skip
    cycle(config(tmp_path, smtp.port), NOW + timedelta(minutes=5))
    assert smtp.recipients[-1] == ["boss@sales.example"]
    assert body(smtp.messages[-1]) == "Call Cara.\n"
    assert statuses(tmp_path) == ["sent", "sent"]


def test_a_row_copied_by_a_person_is_one_cause_and_mails_once(tmp_path, smtp):
    """Two rows with one ID (a paste): one e-mail, its fate on both rows, and no batch
    after batch re-sending the copy up to the daily cap."""
    workbook(tmp_path, [response()])
    cycle(config(tmp_path, free_port()))
    [queued] = outbox(tmp_path)
    hand_made_row(tmp_path, queued)
    report = cycle(config(tmp_path, smtp.port), NOW + timedelta(minutes=5))
    assert len(smtp.messages) == 1 and report.delivery.sent == 1
    rows = outbox(tmp_path)
    assert [r["Status"] for r in rows] == ["sent", "sent"]
    assert rows[0]["Message-ID"] == rows[1]["Message-ID"] == smtp.messages[0]["Message-ID"]


def test_an_outbox_row_deleted_while_its_email_goes_is_not_an_error(tmp_path, smtp):
    workbook(tmp_path, [response()])

    def person_deletes(message):
        book = openpyxl.load_workbook(tmp_path / "pipeline.xlsx")
        book["Outbox"].delete_rows(2)
        book.save(tmp_path / "pipeline.xlsx")

    smtp.on_data = person_deletes
    report = cycle(config(tmp_path, smtp.port))
    assert len(smtp.messages) == 1 and report.delivery.sent == 1
    assert outbox(tmp_path) == []
    smtp.on_data = None
    cycle(config(tmp_path, smtp.port), NOW + timedelta(minutes=5))
    assert len(smtp.messages) == 1, "a deleted row is not queued again"


def test_an_address_the_server_cannot_take_fails_that_row_only(tmp_path, ascii_smtp):
    """A Team Email with letters beyond ASCII, to a server without SMTPUTF8: that row
    fails with the reason (it never left), the next one goes."""
    team = [["Ana Ruiz", "aná@sales.example", "Yes"], ["Ben Ode", "ben@sales.example", "Yes"]]
    workbook(tmp_path, TWO_LEADS, team=team)
    smtp = ascii_smtp
    report = cycle(config(tmp_path, smtp.port))
    assert statuses(tmp_path) == [
        "failed: the server takes no address with letters beyond ASCII (it lacks SMTPUTF8)",
        "sent",
    ]
    assert smtp.recipients == [["ben@sales.example"]] and report.delivery.in_doubt == 0


# ---- 3: a fate once known is recorded, whatever holds the workbook ---------------------------


def office_opens(folder: Path, for_seconds: float | None):
    """An on_data hook: LibreOffice opens the workbook the moment the server takes the
    e-mail (its lock file appears), and closes it `for_seconds` later (None: stays)."""
    lock = folder / ".~lock.pipeline.xlsx#"

    def hook(message):
        lock.write_text("someone,at,their,desk;", encoding="utf-8")
        if for_seconds is not None:
            threading.Timer(for_seconds, lambda: lock.unlink(missing_ok=True)).start()

    return hook, lock


def test_a_workbook_opened_while_the_fates_are_recorded_is_waited_for(tmp_path, smtp):
    workbook(tmp_path, TWO_LEADS)
    smtp.on_data, _ = office_opens(tmp_path, 1.5)
    report = cycle(config(tmp_path, smtp.port))
    assert report.delivery.sent == 2 and report.delivery.error == ""
    assert statuses(tmp_path) == ["sent", "sent"]
    assert [r["Message-ID"] for r in outbox(tmp_path)] == [m["Message-ID"] for m in smtp.messages]


def test_fates_the_workbook_never_took_are_kept_and_written_first_at_the_next_cycle(
    tmp_path, smtp, monkeypatch, caplog
):
    monkeypatch.setattr(delivery, "RECORD_WAIT", 0.5)
    workbook(tmp_path, TWO_LEADS)
    path = config(tmp_path, smtp.port)
    smtp.on_data, lock = office_opens(tmp_path, None)
    report = cycle(path)
    kept = tmp_path / "sheetpipe.mail-fates.json"
    assert report.delivery.sent == 2 and kept.exists()
    assert f"2 kept in {kept}, written at the next cycle" in report.delivery.error
    assert report.delivery.error.startswith(
        "the e-mails' fates could not be written (pipeline.xlsx is open in Excel or LibreOffice "
        "(.~lock.pipeline.xlsx# exists)); "
    )
    assert statuses(tmp_path) == ["sending", "sending"]  # what the workbook could hold
    smtp.on_data = None
    with pytest.raises(WorkbookBusy), caplog.at_level("WARNING", logger=delivery.log.name):
        cycle(path, NOW + timedelta(minutes=5))  # still open: the cycle waits, as every one does
    assert kept.exists()
    assert f"2 e-mails' fates kept in {kept} wait: pipeline.xlsx is open in Excel" in caplog.text
    lock.unlink()
    later = cycle(path, NOW + timedelta(minutes=10))
    assert statuses(tmp_path) == ["sent", "sent"] and not kept.exists()
    assert [r["Message-ID"] for r in outbox(tmp_path)] == [m["Message-ID"] for m in smtp.messages]
    assert [r["Sent"] for r in outbox(tmp_path)] == [NOW, NOW]
    assert not any("a run stopped while sending" in p.message for p in later.plan.problems)
    assert len(smtp.messages) == 2


def test_a_kept_fate_never_overwrites_what_a_person_set_since(tmp_path, smtp, monkeypatch):
    """The person read "may have gone", found it in the Sent folder and typed sent:
    their row is left as they set it."""
    monkeypatch.setattr(delivery, "RECORD_WAIT", 0.2)
    workbook(tmp_path, [response()])
    path = config(tmp_path, smtp.port)
    smtp.on_data, lock = office_opens(tmp_path, None)
    cycle(path)
    lock.unlink()
    set_status(tmp_path, 2, "sent (checked by Ana)")
    smtp.on_data = None
    cycle(path, NOW + timedelta(minutes=5))
    assert statuses(tmp_path) == ["sent (checked by Ana)"]
    assert not (tmp_path / "sheetpipe.mail-fates.json").exists()


class MovingOutbox(XlsxBackend):
    """Someone saves the workbook right after each of the first `saves` reads that look
    for the e-mails' rows to record their fates: each write finds it moved."""

    def __init__(self, path: Path, saves: int):
        super().__init__(path)
        self.saves, self.record_reads = saves, 0

    def read(self, only=None):
        snapshot = super().read(only)
        if only is not None and tuple(only) == ("Outbox",):
            self.record_reads += 1
            if self.record_reads <= self.saves:
                stat = self.path.stat()
                os.utime(self.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
        return snapshot


@pytest.mark.parametrize("saves", [delivery.RECORD_TRIES - 1, delivery.RECORD_TRIES])
def test_a_moved_outbox_is_read_again_up_to_record_tries_times(tmp_path, smtp, saves, caplog):
    workbook(tmp_path, [response()])
    loaded = load_config(config(tmp_path, smtp.port))
    backend = MovingOutbox(loaded.workbook, saves)
    with caplog.at_level("INFO", logger=delivery.log.name):
        report = run_cycle(backend, loaded.names, NOW, side=SideInputs(mailer=open_mailer(loaded)))
    assert backend.record_reads == delivery.RECORD_TRIES
    again = "recording the e-mails' fates again: "
    assert caplog.text.count(again) == min(saves, delivery.RECORD_TRIES - 1)
    kept = tmp_path / "sheetpipe.mail-fates.json"
    if saves < delivery.RECORD_TRIES:
        assert statuses(tmp_path) == ["sent"] and not kept.exists()
    else:  # it kept moving: the fate waits beside the config, and lands next cycle
        assert statuses(tmp_path) == ["sending"] and kept.exists()
        assert "the Outbox kept changing" in report.delivery.error
        cycle(config(tmp_path, smtp.port), NOW + timedelta(minutes=5))
        assert statuses(tmp_path) == ["sent"] and not kept.exists()
    assert len(smtp.messages) == 1


# ---- 11: a waiting alert follows its deal -----------------------------------------------------


def test_a_deal_reassigned_while_its_alert_waits_mails_the_new_owner_only(tmp_path, smtp):
    workbook(tmp_path, [response()])
    cycle(config(tmp_path, free_port()))  # the server is down: the alert waits
    assert [(r["To"], r["Status"]) for r in outbox(tmp_path)] == [("ana@sales.example", "queued")]
    set_cell(tmp_path, "Deals", 3, "Owner", "Ben Ode")  # the manager hands the lead to Ben
    cycle(config(tmp_path, smtp.port), NOW + timedelta(minutes=5))
    [message] = smtp.messages
    assert smtp.recipients == [["ben@sales.example"]]
    assert "Hi Ben Ode," in body(message)
    assert "Why you: D-0002 is yours now; it was Ana Ruiz's when this e-mail was queued" in body(
        message
    )
    [row] = outbox(tmp_path)
    assert (row["To"], row["Status"], row["Body"]) == ("ben@sales.example", "sent", body(message))


def test_a_waiting_alert_goes_to_the_owners_email_as_team_has_it_now(tmp_path, smtp):
    workbook(tmp_path, [response()])
    cycle(config(tmp_path, free_port()))
    set_cell(tmp_path, "Team", 2, "Email", "ana.ruiz@sales.example")  # Ana's new address
    cycle(config(tmp_path, smtp.port), NOW + timedelta(minutes=5))
    assert smtp.recipients == [["ana.ruiz@sales.example"]]
    assert "Hi Ana Ruiz," in body(smtp.messages[0])


def test_a_deal_reassigned_to_someone_without_an_email_fails_its_alert_and_mails_nobody(
    tmp_path, smtp
):
    workbook(tmp_path, [response()])
    cycle(config(tmp_path, free_port()))
    set_cell(tmp_path, "Deals", 3, "Owner", "Cy New")  # not in Team
    cycle(config(tmp_path, smtp.port), NOW + timedelta(minutes=5))
    assert smtp.messages == []
    assert statuses(tmp_path) == ["failed: Cy New has no Email in Team"]


def test_a_reassigned_stalled_alert_keeps_its_task_and_greets_the_new_owner(tmp_path, smtp):
    quiet = {"Deal": "Gamma", "Stage": "Contact", "Owner": "Ben Ode",
             "Last contact": NOW.date() - timedelta(days=20)}  # fmt: skip
    workbook(tmp_path, [], deals=[quiet], settings={"Alert when Stalled": "Yes"})
    cycle(config(tmp_path, free_port()))
    set_cell(tmp_path, "Deals", 2, "Owner", "Ana Ruiz")
    cycle(config(tmp_path, smtp.port), NOW + timedelta(minutes=5))
    [message] = smtp.messages
    assert message["To"] == "ana@sales.example" and message["Subject"] == "Stalled: Gamma (D-0001)"
    assert "Hi Ana Ruiz," in body(message)
    assert "Deal stalled: no contact for 20 days" in body(message)


def test_a_waiting_alert_a_person_retyped_for_its_owner_goes_as_they_wrote_it(tmp_path, smtp):
    workbook(tmp_path, [response()])
    cycle(config(tmp_path, free_port()))
    set_cell(tmp_path, "Outbox", 2, "Subject", "Call Cara today")
    cycle(config(tmp_path, smtp.port), NOW + timedelta(minutes=5))
    assert [m["Subject"] for m in smtp.messages] == ["Call Cara today"]


# ---- 15: check --smtp says what is wrong -------------------------------------------------------


def test_check_smtp_with_a_login_against_a_server_offering_none_says_so(tmp_path, smtp):
    section = (f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\n'
               'user = "alerts"\npassword_env = "SMTP_PASSWORD"\n'
               'sender = "pipeline@sales.example"\n')  # fmt: skip
    done = check(tmp_path, section, {"SMTP_PASSWORD": "s3cret"})
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line == (
        f"Error: SMTP 127.0.0.1:{smtp.port}: the server offers no login (no AUTH, unencrypted): "
        "if it relays without one, leave out [smtp] user and its password; if it offers one "
        'only over TLS, use security = "starttls" or "ssl"'
    )
    assert "STARTTLS" not in line and "s3cret" not in done.stdout + done.stderr


@pytest.fixture
def implicit_tls_smtp(tmp_path):
    """An SMTP server that speaks TLS at once (as port 465 does)."""
    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    controller = Controller(Mailbox(), hostname="127.0.0.1", port=free_port(),
                            ssl_context=context)  # fmt: skip
    controller.start()
    yield controller.port
    controller.stop()


@pytest.mark.parametrize("security", ["starttls", "none"])
def test_check_smtp_on_a_port_that_speaks_tls_at_once_says_use_ssl(
    tmp_path, implicit_tls_smtp, security
):
    section = (f'[smtp]\nhost = "127.0.0.1"\nport = {implicit_tls_smtp}\n'
               f'security = "{security}"\nsender = "pipeline@sales.example"\ntimeout = "1s"\n')  # fmt: skip
    done = check(tmp_path, section)
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith(f"Error: SMTP 127.0.0.1:{implicit_tls_smtp}: this port speaks TLS at "
                           'once (as 465 does): use security = "ssl"')  # fmt: skip
    assert "SMTPServerDisconnected" not in line


def test_check_smtp_on_a_silent_port_says_it_never_greeted(tmp_path):
    """A port that takes the connection and says nothing (no SMTP, no TLS)."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        section = (f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "starttls"\n'
                   'sender = "pipeline@sales.example"\ntimeout = "1s"\n')  # fmt: skip
        done = check(tmp_path, section)
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert "never greeted" in line and "check [smtp] port and security" in line
    assert "SMTPServerDisconnected" not in line


# ---- what mutation testing found untested ------------------------------------------------------


def test_a_deal_turning_hot_mails_its_owner_when_settings_ask_for_it(tmp_path, smtp):
    sheets = tabs([{"Deal": "Acme", "Stage": "Contact", "Owner": "Ben Ode", "Source": "Referral",
                    "Last contact": NOW.date()}],
                  weights=[["Source", "is", "Referral", 65, "", ""]],
                  settings={"Alert when Hot": "Yes"})  # fmt: skip
    sheets["Team"] = [["Name", "Email", "Active"], ["Ben Ode", "ben@sales.example", "Yes"]]
    sheets["Web leads"] = [["Submitted at", "Full name", "E-mail", "Organisation"]]
    write_workbook(tmp_path / "pipeline.xlsx", sheets)
    cycle(config(tmp_path, smtp.port))
    [message] = smtp.messages
    assert message["To"] == "ben@sales.example"
    assert message["Subject"] == "Hot deal: Acme (D-0001)"
    assert "Acme is Hot: score 65 (SQL from 60)." in body(message)
    [row] = outbox(tmp_path)
    assert row["Kind"] == "hot" and row["ID"].endswith("/hot") and row["Status"] == "sent"
    cycle(config(tmp_path, smtp.port), NOW + timedelta(hours=1))
    assert len(smtp.messages) == 1, "Hot once is one e-mail"


def test_a_hot_deal_mails_nobody_when_alert_when_hot_is_off(tmp_path, smtp):
    sheets = tabs([{"Deal": "Acme", "Stage": "Contact", "Owner": "Ben Ode", "Source": "Referral",
                    "Last contact": NOW.date()}],
                  weights=[["Source", "is", "Referral", 65, "", ""]])  # fmt: skip
    sheets["Team"] = [["Name", "Email", "Active"], ["Ben Ode", "ben@sales.example", "Yes"]]
    sheets["Web leads"] = [["Submitted at", "Full name", "E-mail", "Organisation"]]
    write_workbook(tmp_path / "pipeline.xlsx", sheets)
    report = cycle(config(tmp_path, smtp.port))
    assert smtp.messages == [] and report.plan.mail_queued == 0


def test_the_daily_cap_reached_is_a_warning_not_an_error(tmp_path, smtp):
    leads = [response(f"P{i}", f"p{i}@firm{i}.example", f"Firm {i}") for i in range(2)]
    workbook(tmp_path, leads, settings={"E-mails per day": 1})
    cycle(config(tmp_path, smtp.port))
    later = cycle(config(tmp_path, smtp.port), NOW + timedelta(hours=1))
    [capped] = [p for p in later.plan.problems if "cap of 1" in p.message]
    assert (capped.where, capped.level) == ("Outbox tab", "warning")
    assert later.plan.errors == []


def test_a_deliverys_log_line_says_what_went_and_what_is_in_doubt():
    from sheetpipe.mail import Delivery

    assert Delivery(sent=3, failed=1).line() == "mail: 3 sent, 1 failed"
    assert Delivery(sent=2, in_doubt=1, error="the server closed the connection").line() == (
        "mail: 2 sent, 0 failed, 1 in doubt; the server closed the connection")  # fmt: skip


# ---- the connection, in-process (the subprocess tests above are invisible to mutmut) -------


def tls_server(tmp_path: Path, *, implicit: bool, handler: Mailbox | None = None,
               **options) -> tuple[Controller, Mailbox]:  # fmt: skip
    """A real SMTP server on loopback with a certificate from a test CA (ca.pem in
    tmp_path): STARTTLS, or TLS at once as port 465 speaks it when `implicit`."""
    import trustme

    from .test_mail import Accounts

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    # aiosmtpd offers AUTH over implicit TLS only when told TLS is not required for it.
    tls = ({"ssl_context": context, "auth_require_tls": False} if implicit
           else {"tls_context": context, "require_starttls": True})  # fmt: skip
    options.setdefault("authenticator", Accounts("alerts", "s3cret"))
    inbox = handler or Mailbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **tls, **options)
    controller.start()
    inbox.port = controller.port
    return controller, inbox


def trusted_ca() -> str:
    import trustme

    return trustme.CA().cert_pem.bytes().decode()


def login_section(port: int, security: str, password: str = 'password_env = "SMTP_PASSWORD"'):
    return (f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "{security}"\n'
            f'user = "alerts"\n{password}\nsender = "pipeline@sales.example"\n'
            'ca_file = "ca.pem"\n')  # fmt: skip


def check_in_process(tmp_path: Path, section: str) -> str:
    write_workbook(tmp_path / "pipeline.xlsx", tabs([{"Deal": "Acme", "Stage": "Contact"}]))
    from .helpers import write_config

    return sending.check_smtp(load_config(write_config(tmp_path, extra=section)).smtp)


def refused_by(controller: Controller, tmp_path: Path, section: str):  # noqa: ANN201
    """`check --smtp` in-process against `controller`'s server, which must refuse it; the
    server is stopped either way. Returns pytest's ExceptionInfo of the MailError."""
    try:
        with pytest.raises(sending.MailError) as refused:
            check_in_process(tmp_path, section)
    finally:
        controller.stop()
    return refused


@pytest.mark.parametrize(("implicit", "security", "said"),
                         [(False, "starttls", "STARTTLS"), (True, "ssl", "over TLS")])  # fmt: skip
def test_check_smtp_logs_in_over_starttls_and_over_tls_at_once(
    tmp_path, monkeypatch, implicit, security, said
):
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret")
    controller, inbox = tls_server(tmp_path, implicit=implicit)
    try:
        line = check_in_process(tmp_path, login_section(inbox.port, security))
    finally:
        controller.stop()
    assert line == f"SMTP 127.0.0.1:{inbox.port}: connected ({said}), logged in as alerts."


def test_a_refused_login_names_the_password_file_it_read_and_never_its_content(
    tmp_path, monkeypatch
):
    (tmp_path / "smtp-password").write_text("wrong-one\n", encoding="utf-8")
    controller, inbox = tls_server(tmp_path, implicit=False)
    section = login_section(inbox.port, "starttls", 'password_file = "smtp-password"')
    try:
        with pytest.raises(sending.MailError) as refused:
            check_in_process(tmp_path, section)
        monkeypatch.setenv("SMTP_PASSWORD", "wrong-two")
        with pytest.raises(sending.MailError) as from_env:
            check_in_process(tmp_path, login_section(inbox.port, "starttls"))
    finally:
        controller.stop()
    assert str(refused.value).endswith(
        f"check [smtp] user and the password in {tmp_path / 'smtp-password'}"
    )
    assert str(from_env.value).endswith("check [smtp] user and the password in $SMTP_PASSWORD")
    assert "wrong-one" not in str(refused.value) and "wrong-two" not in str(from_env.value)


class NoLogin(Mailbox):
    """A relay that offers no AUTH at all, not even after STARTTLS."""

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        session.host_name = hostname
        return [r for r in responses if "AUTH" not in r]


@pytest.mark.parametrize(("security", "over", "hint"), [
    ("starttls", "after STARTTLS", ""),
    ("ssl", "over TLS", ""),
    ("none", "unencrypted", '; if it offers one only over TLS, use security = "starttls" or "ssl"'),
])  # fmt: skip
def test_a_login_against_a_server_offering_none_says_how_it_was_asked(
    tmp_path, monkeypatch, security, over, hint
):
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret")
    if security == "none":  # a plain relay
        (tmp_path / "ca.pem").write_text(trusted_ca(), encoding="utf-8")
        controller = Controller(NoLogin(), hostname="127.0.0.1", port=free_port())
        controller.start()
    else:
        controller, _ = tls_server(tmp_path, implicit=security == "ssl", handler=NoLogin())
    refused = refused_by(controller, tmp_path, login_section(controller.port, security))
    assert str(refused.value) == (
        f"SMTP 127.0.0.1:{controller.port}: the server offers no login (no AUTH, {over}): if it "
        f"relays without one, leave out [smtp] user and its password{hint}")  # fmt: skip


@pytest.mark.parametrize(("content", "why"), [(None, "No such file or directory)"),
                                              ("not a certificate", "no certificate or crl found)")])  # fmt: skip
def test_a_ca_file_that_cannot_be_used_is_named_with_what_to_do(tmp_path, smtp, content, why):
    section = (f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "starttls"\n'
               'sender = "pipeline@sales.example"\nca_file = "ca.pem"\n')  # fmt: skip
    if content is not None:
        (tmp_path / "ca.pem").write_text(content, encoding="utf-8")
    with pytest.raises(sending.MailError) as refused:
        check_in_process(tmp_path, section)
    said = str(refused.value)
    assert said.startswith(f"SMTP 127.0.0.1:{smtp.port}: [smtp] ca_file {tmp_path / 'ca.pem'} "
                           f"cannot be used ({why}")  # fmt: skip
    assert said.endswith("point it at the PEM file of the CA that signed the server's certificate")


class OtherLogins(Mailbox):
    """A server whose only logins are ones smtplib does not speak."""

    async def auth_XOAUTH2(self, server, args):  # noqa: N802
        return None

    async def auth_GSSAPI(self, server, args):  # noqa: N802
        return None


@pytest.mark.parametrize(("handler", "offered"), [(Mailbox, "with no method"),
                                                  (OtherLogins, "GSSAPI XOAUTH2")])  # fmt: skip
def test_a_server_offering_no_login_method_sheetpipe_speaks_says_so(
    tmp_path, monkeypatch, handler, offered
):
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret")
    controller, inbox = tls_server(tmp_path, implicit=False, handler=handler(),
                                   auth_exclude_mechanism=["LOGIN", "PLAIN"])  # fmt: skip
    refused = refused_by(controller, tmp_path, login_section(inbox.port, "starttls"))
    assert str(refused.value) == (
        f"SMTP 127.0.0.1:{inbox.port}: the server offers no login sheetpipe can use (AUTH "
        f"{offered}; sheetpipe logs in with CRAM-MD5, LOGIN, PLAIN): ask its administrator for "
        "one of those")  # fmt: skip


def test_a_tls_at_once_port_with_the_wrong_security_says_use_ssl_in_process(tmp_path):
    controller, inbox = tls_server(tmp_path, implicit=True, authenticator=None)
    section = (f'[smtp]\nhost = "127.0.0.1"\nport = {inbox.port}\nsecurity = "starttls"\n'
               'sender = "pipeline@sales.example"\ntimeout = "1s"\n')  # fmt: skip
    refused = refused_by(controller, tmp_path, section)
    assert 'this port speaks TLS at once (as 465 does): use security = "ssl"' in str(refused.value)


def test_alerts_go_over_tls_at_once_with_a_login(tmp_path, monkeypatch):
    """security = "ssl" (port 465's implicit TLS): the lead's owner gets the e-mail."""
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret")
    controller, inbox = tls_server(tmp_path, implicit=True)
    workbook(tmp_path, [response()])
    section = login_section(inbox.port, "ssl").removeprefix("[smtp]\n")
    try:
        report = cycle(_config_with(tmp_path, section))
    finally:
        controller.stop()
    assert report.delivery.sent == 1 and statuses(tmp_path) == ["sent"]
    [message] = inbox.messages
    assert message["To"] == "ana@sales.example"


def _config_with(folder: Path, smtp_lines: str) -> Path:
    from .helpers import write_config

    return write_config(folder, extra=f'[[intake]]\ntab = "Web leads"\n[smtp]\n{smtp_lines}')


def test_a_postman_leaves_no_connection_behind(tmp_path, smtp):
    workbook(tmp_path, [response()])
    loaded = load_config(config(tmp_path, smtp.port))
    with sending.Postman(loaded.smtp) as postman:
        assert postman.smtp is not None
    assert postman.smtp is None
    postman._close()  # closing again is harmless
    with pytest.raises(AssertionError):
        postman.send(postman.message(Outgoing(2, "x", "to@b.example", "S", "B"), "<m@x>"), NOW)


def test_a_message_the_server_refuses_for_good_fails_with_its_words(tmp_path, smtp):
    workbook(tmp_path, [response()])
    smtp.answer = "554 5.6.0 Message   content rejected"
    report = cycle(config(tmp_path, smtp.port))
    assert statuses(tmp_path) == ["failed: 554 5.6.0 Message content rejected"]
    assert report.delivery.failed == 1 and report.delivery.in_doubt == 0


def test_a_template_with_a_syntax_error_names_its_line_in_the_file(tmp_path, smtp):
    from .test_mail import own_template

    own = own_template(tmp_path, "Subject: Lead {{ deal['Deal'] }}\n\nHello\n{{ owner.name }\n")
    workbook(tmp_path, [response()])
    cycle(config(tmp_path, smtp.port, own))
    [row] = outbox(tmp_path)
    assert row["Status"].startswith("failed: new-lead.txt line 4: ")
    assert smtp.messages == []


def test_a_template_folder_without_the_kind_falls_back_to_the_default(tmp_path, smtp):
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "stalled.txt").write_text("Subject: s\n\nb\n", encoding="utf-8")
    workbook(tmp_path, [response()])
    cycle(config(tmp_path, smtp.port, 'templates = "mail"\n'))
    [message] = smtp.messages
    assert message["Subject"] == "New lead for you: Beta Ltd (D-0002)"
    assert mail_templates._default_template("no-such-kind.txt") is None


def test_more_than_one_batch_goes_to_each_owner_read_once(tmp_path, smtp):
    """25 leads: three batches of at most BATCH; Team, Tasks and the deals are read by
    the first batch only, and later batches still address and time each e-mail."""
    from sheetpipe.core.tabs.outbox import BATCH

    leads = [response(f"P{i}", f"p{i}@firm{i}.example", f"Firm {i}") for i in range(25)]
    workbook(tmp_path, leads)
    loaded = load_config(config(tmp_path, smtp.port))
    backend = ReadCounting(loaded.workbook)
    report = run_cycle(backend, loaded.names, NOW, side=SideInputs(mailer=open_mailer(loaded)))
    assert report.delivery.sent == 25 and len(smtp.messages) == 25 > 2 * BATCH
    rows = outbox(tmp_path)
    assert {r["Status"] for r in rows} == {"sent"} and {r["Sent"] for r in rows} == {NOW}
    assert [m["To"] for m in smtp.messages] == [r["To"] for r in rows]
    assert {m["To"] for m in smtp.messages} == {"ana@sales.example", "ben@sales.example"}
    team_reads = [only for only in backend.reads_of if only and "Team" in only]
    batch_reads = [only for only in backend.reads_of if only and "Outbox" in only[:1]]
    assert len(team_reads) == 1 and len(batch_reads) >= 3, "Team read by the first batch only"


class ReadCounting(XlsxBackend):
    def __init__(self, path: Path):
        super().__init__(path)
        self.reads_of: list[tuple[str, ...] | None] = []

    def read(self, only=None):
        self.reads_of.append(tuple(only) if only is not None else None)
        return super().read(only)


def test_a_workbook_opened_before_the_emails_leave_sends_nothing_and_says_so(tmp_path, smtp):
    workbook(tmp_path, [response()])
    path = config(tmp_path, smtp.port)
    smtp.answer = "451 RCPT Try again later"
    cycle(path)
    assert statuses(tmp_path) == ["queued"]
    smtp.answer = "250 Message accepted"
    (tmp_path / ".~lock.pipeline.xlsx#").write_text("someone,at,their,desk;", encoding="utf-8")
    loaded = load_config(path)
    done = open_mailer(loaded).deliver(XlsxBackend(loaded.workbook), loaded.names, NOW)
    assert done.error == ("the workbook was opened in Excel or LibreOffice before the e-mails "
                          "left; they wait for the next cycle")  # fmt: skip
    assert smtp.messages == [] and done.sent == 0


def test_a_surprise_while_recording_fates_keeps_them_for_the_next_cycle(tmp_path, smtp,
                                                                       monkeypatch):  # fmt: skip
    workbook(tmp_path, [response()])
    path = config(tmp_path, smtp.port)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in recording")

    monkeypatch.setattr(delivery, "_write_fates", broken)
    with pytest.raises(RuntimeError):
        cycle(path)
    kept = tmp_path / "sheetpipe.mail-fates.json"
    [message] = smtp.messages
    assert kept.exists() and message["Message-ID"] in kept.read_text(encoding="utf-8")
    monkeypatch.undo()
    cycle(path, NOW + timedelta(minutes=5))
    assert statuses(tmp_path) == ["sent"] and not kept.exists() and len(smtp.messages) == 1


def test_fates_nobody_can_keep_are_logged_with_their_message_ids(tmp_path, smtp, caplog):
    workbook(tmp_path, [response()])
    loaded = load_config(config(tmp_path, smtp.port))
    mailer = delivery.Mailer(loaded.smtp, kept=None)
    marked = {"D-0002/new-lead": "<abc@sales.example>"}
    with caplog.at_level("ERROR", logger=delivery.log.name):
        outcomes = {"D-0002/new-lead": ("sent", "", NOW), "D-0003/new-lead": ("queued", "", None)}
        said = mailer._keep(XlsxBackend(loaded.workbook), outcomes, marked, "the disk is full")
    assert said == "the e-mails' fates could not be written (the disk is full); see the log"
    assert ("set these Outbox rows by hand: D-0002/new-lead sent <abc@sales.example>, "
            "D-0003/new-lead queued \n") in caplog.text + "\n"  # fmt: skip


@pytest.mark.parametrize("content", ["[1, 2]", "{not json"])
def test_a_fate_file_that_is_not_ours_never_stops_the_mail(tmp_path, smtp, caplog, content):
    kept = tmp_path / "sheetpipe.mail-fates.json"
    kept.write_text(content, encoding="utf-8")
    workbook(tmp_path, [response()])
    with caplog.at_level("ERROR", logger=delivery.log.name):
        report = cycle(config(tmp_path, smtp.port))
    assert report.delivery.sent == 1 and statuses(tmp_path) == ["sent"]
    if content.startswith("{"):  # unreadable: left for a person, and said
        assert kept.read_text(encoding="utf-8") == content
        assert f"{kept} cannot be read (" in caplog.text and "it is left as it is" in caplog.text


# ---- what the second mutation sample found unchecked -------------------------------------


def test_many_rows_that_cannot_go_are_each_counted_across_batches(tmp_path, smtp):
    workbook(tmp_path, [response()])
    cycle(config(tmp_path, free_port()))  # the server is down: the lead's alert waits
    book = openpyxl.load_workbook(tmp_path / "pipeline.xlsx")
    header = [c.value for c in book["Outbox"][1]]
    for n in range(12):  # more than one batch, none of which can go
        row = {"ID": f"mine/{n}", "To": "", "Subject": "Hi", "Body": "b", "Status": "queued"}
        book["Outbox"].append([row.get(h) for h in header])
    book.save(tmp_path / "pipeline.xlsx")
    report = cycle(config(tmp_path, smtp.port), NOW + timedelta(minutes=5))
    assert report.delivery.failed == 12 and report.delivery.sent == 1
    assert statuses(tmp_path)[1:] == ["failed: To is empty"] * 12


def test_rows_that_cannot_go_are_failed_even_when_the_server_is_down(tmp_path):
    workbook(tmp_path, [response()])
    path = config(tmp_path, free_port())
    cycle(path)
    hand_made_row(tmp_path, {"ID": "mine/1", "To": "", "Subject": "Hi", "Status": "queued"})
    report = cycle(path, NOW + timedelta(minutes=5))
    assert statuses(tmp_path) == ["queued", "failed: To is empty"]
    assert "nothing answers there (connection refused)" in report.delivery.error


def test_an_owners_template_can_name_the_kind_and_a_subject_error_names_line_one(tmp_path, smtp):
    from .test_mail import own_template

    own = own_template(tmp_path, "Subject: {{ kind }}: {{ deal['Deal'] }}\n\nHi\n")
    workbook(tmp_path, [response()])
    cycle(config(tmp_path, smtp.port, own))
    [message] = smtp.messages
    assert message["Subject"] == "new-lead: Beta Ltd"
    assert email.utils.parsedate_to_datetime(message["Date"]).tzinfo is not None
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Auto-Response-Suppress"] == "All"
    (tmp_path / "mail" / "new-lead.txt").write_text("Subject: {{ kind }\n\nHi\n", encoding="utf-8")
    workbook(tmp_path, [response()])
    cycle(config(tmp_path, smtp.port, own))
    assert statuses(tmp_path)[0].startswith("failed: new-lead.txt line 1: ")


@pytest.mark.parametrize(("make", "said"), [
    (lambda: socket.gaierror(-2, "Name or service not known"), "no such host; check [smtp] host"),
    (lambda: smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."),
     'the server does not offer STARTTLS; use security = "ssl" (port 465), or "none" on a '
     "relay of your own network"),
    (lambda: ConnectionRefusedError(111, "refused"),
     "nothing answers there (connection refused); check [smtp] host and port"),
    (lambda: TimeoutError("timed out"),
     "no answer within 1.5 s; check [smtp] host, port and firewall"),
    (lambda: smtplib.SMTPResponseException(421, b"Too   busy"), "the server refused (421 Too busy)"),
    (lambda: ValueError("odd"), "ValueError: odd"),
    (lambda: ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"),
     "the TLS handshake failed ([SSL: WRONG_VERSION_NUMBER] wrong version number); check [smtp] "
     "security and port (ssl is usually 465, "
     "starttls 587)"),
])  # fmt: skip
def test_each_connection_failure_is_said_in_words(tmp_path, make, said):
    write_workbook(tmp_path / "pipeline.xlsx", tabs([{"Deal": "Acme", "Stage": "Contact"}]))
    from .helpers import write_config

    section = ('[smtp]\nhost = "mail.example"\nsender = "a@b.example"\ntimeout = "1.5s"\n'
               'user = "u"\npassword_file = "pw"\n')  # fmt: skip
    config_ = load_config(write_config(tmp_path, extra=section)).smtp
    assert sending._why(make(), config_) == said


def test_an_untrusted_certificate_says_where_to_point_ca_file():
    err = ssl.SSLCertVerificationError(1, "certificate verify failed")
    err.verify_message = "self-signed certificate"
    from sheetpipe.config import SmtpConfig

    said = sending._why(
        err, SmtpConfig(host="h", port=587, security="starttls", sender="a@b.example")
    )
    assert said == ("its certificate is not trusted (self-signed certificate); if the server "
                    "uses a private CA, point [smtp] ca_file at it")  # fmt: skip


def test_check_smtp_without_a_login_says_so(tmp_path, smtp):
    section = (f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\n'
               'sender = "pipeline@sales.example"\n')  # fmt: skip
    said = check_in_process(tmp_path, section)
    assert said == f"SMTP 127.0.0.1:{smtp.port}: connected (unencrypted), no login."


def test_a_password_variable_that_is_not_set_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    controller, inbox = tls_server(tmp_path, implicit=False)
    unset = refused_by(controller, tmp_path, login_section(inbox.port, "starttls"))
    assert str(unset.value) == (f"SMTP 127.0.0.1:{inbox.port}: the environment variable "
                                "SMTP_PASSWORD ([smtp] password_env) is not set")  # fmt: skip


@pytest.fixture
def closing_port():
    """A port that takes each connection and closes it at once: no SMTP, no TLS."""
    import socketserver

    class Close(socketserver.BaseRequestHandler):
        def handle(self):
            self.request.close()

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Close)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_port_that_closes_at_once_is_not_taken_for_tls(tmp_path, closing_port):
    section = (f'[smtp]\nhost = "127.0.0.1"\nport = {closing_port}\nsecurity = "starttls"\n'
               'sender = "pipeline@sales.example"\ntimeout = "1s"\n')  # fmt: skip
    with pytest.raises(sending.MailError) as closed:
        check_in_process(tmp_path, section)
    assert "never greeted" in str(closed.value) and "TLS at once" not in str(closed.value)


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_a_silent_port_gives_up_within_the_timeout(tmp_path, security):
    import time

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        section = (f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "{security}"\n'
                   'sender = "pipeline@sales.example"\ntimeout = "1s"\n')  # fmt: skip
        started = time.monotonic()
        with pytest.raises(sending.MailError) as silent_error:
            check_in_process(tmp_path, section)
    assert time.monotonic() - started < 20
    assert "1 s" in str(silent_error.value) or "never greeted" in str(silent_error.value)


def test_an_unexpected_failure_while_sending_leaves_that_email_in_doubt(tmp_path, smtp, caplog):
    workbook(tmp_path, [response()])
    loaded = load_config(config(tmp_path, smtp.port))
    with sending.Postman(loaded.smtp) as postman:
        message = postman.message(Outgoing(2, "x", "to@b.example", "S", "B"), "<m1@sales.example>")

        def broken(*args, **kwargs):
            raise RuntimeError("a bug below smtplib")

        postman.smtp.send_message = broken
        with caplog.at_level("ERROR", logger=delivery.log.name):
            fate = postman.send(message, NOW)
    assert fate.status is None
    assert ("sending <m1@sales.example> failed unexpectedly (RuntimeError: a bug below smtplib); "
            "it stays `sending`, in doubt") in caplog.text  # fmt: skip


def test_a_fate_store_keeps_failures_and_forgets_what_it_never_held(tmp_path):
    from sheetpipe.mail.fates import FateStore

    store = FateStore(tmp_path / "fates.json")
    store.forget("book.xlsx", ["D-1/new-lead"])  # nothing kept yet: nothing to do
    assert not store.path.exists()
    store.keep("book.xlsx", {"D-1/new-lead": ("failed: 550 no such user", "<a@x>", None),
                             "D-2/new-lead": ("sent", "<b@x>", NOW)}, {"D-1/new-lead": "<a@x>"})  # fmt: skip
    store.forget("other.xlsx", ["D-1/new-lead"])
    outcomes, marked = store.load("book.xlsx")
    assert outcomes == {"D-1/new-lead": ("failed: 550 no such user", "<a@x>", None),
                        "D-2/new-lead": ("sent", "<b@x>", NOW)}  # fmt: skip
    assert marked == {"D-1/new-lead": "<a@x>", "D-2/new-lead": ""}
    store.forget("book.xlsx", ["D-1/new-lead", "D-2/new-lead"])
    assert not store.path.exists()
    store.path.write_text('{"book.xlsx": {"D-3/new-lead": {"status": "sent", "message_id": '
                          '"<c@x>", "sent": null}}}', encoding="utf-8")  # fmt: skip
    assert store.load("book.xlsx") == ({"D-3/new-lead": ("sent", "<c@x>", None)},
                                       {"D-3/new-lead": ""}), "a fate kept without its mark"  # fmt: skip


def test_the_wait_for_an_open_workbook_is_logged(tmp_path, smtp, caplog):
    workbook(tmp_path, TWO_LEADS)
    smtp.on_data, _ = office_opens(tmp_path, 1.5)
    with caplog.at_level("INFO", logger=delivery.log.name):
        cycle(config(tmp_path, smtp.port))
    assert "waiting for the workbook to be closed, to record 2 e-mails' fates" in caplog.text


def test_a_refusal_in_bytes_that_are_not_utf8_is_still_said():
    assert sending._refused(550, b"no such  user \xff here") == sending.Fate(
        "failed: 550 no such user \ufffd here"
    )
    assert sending._refused(451, "try later").status == "queued"


class CountingMailbox(Mailbox):
    """The same server, counting the recipients it is asked to take."""

    asked = 0

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        self.asked += 1
        return await super().handle_RCPT(server, session, envelope, address, options)


def test_a_server_asking_to_try_later_is_not_asked_again_in_the_same_delivery(tmp_path):
    inbox = CountingMailbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        leads = [response(f"P{i}", f"p{i}@firm{i}.example", f"Firm {i}") for i in range(15)]
        workbook(tmp_path, leads)
        inbox.answer = "451 RCPT Try again later"
        report = cycle(config(tmp_path, controller.port))
    finally:
        controller.stop()
    from sheetpipe.core.tabs.outbox import BATCH

    assert inbox.asked == BATCH, "one batch tried; the rest wait for the next cycle"
    assert set(statuses(tmp_path)) == {"queued"} and report.delivery.sent == 0


def test_an_alert_refused_by_its_new_owners_template_fails_with_the_reason(tmp_path, smtp):
    from .test_mail import own_template

    workbook(tmp_path, [response()])
    cycle(config(tmp_path, free_port()))  # the server is down: the alert waits
    set_cell(tmp_path, "Deals", 3, "Owner", "Ben Ode")
    own = own_template(tmp_path, "Subject: Lead {{ deal['Deal'] }}\n\nFax: {{ deal['Fax'] }}\n")
    cycle(config(tmp_path, smtp.port, own), NOW + timedelta(minutes=5))
    assert smtp.messages == []
    assert statuses(tmp_path) == [
        "failed: new-lead.txt: 'dict object' has no attribute 'Fax' (the deal lacks that field)"
    ]


def test_a_hand_made_row_naming_no_pipeline_goes_as_written(tmp_path, smtp):
    workbook(tmp_path, [response()])
    cycle(config(tmp_path, smtp.port))
    hand_made_row(tmp_path, {"ID": "notes/42/call-back", "To": "boss@sales.example",
                             "Subject": "Note", "Body": "Call.", "Status": "queued"})  # fmt: skip
    cycle(config(tmp_path, smtp.port), NOW + timedelta(minutes=5))
    assert smtp.recipients[-1] == ["boss@sales.example"]
    assert statuses(tmp_path) == ["sent", "sent"]


def test_an_aware_now_is_recorded_in_the_sheets_time_zone(tmp_path, smtp):
    from datetime import UTC

    workbook(tmp_path, [response()], settings={"Timezone": "Europe/Oslo"})
    cycle(config(tmp_path, smtp.port), datetime(2026, 3, 10, 9, 30, tzinfo=UTC))
    [row] = outbox(tmp_path)
    assert row["Status"] == "sent" and row["Sent"] == datetime(2026, 3, 10, 10, 30)


@pytest.mark.parametrize(("implicit", "security"), [(False, "starttls"), (True, "ssl")])
def test_a_certificate_nobody_trusts_is_refused_in_process(tmp_path, monkeypatch, implicit,
                                                          security):  # fmt: skip
    """No ca_file: the system's CAs, which never signed the test CA's certificate. A
    connection that skipped the check would log in to anyone in the middle."""
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret")
    controller, inbox = tls_server(tmp_path, implicit=implicit)
    section = login_section(inbox.port, security).replace('ca_file = "ca.pem"\n', "")
    untrusted = refused_by(controller, tmp_path, section)
    assert "its certificate is not trusted" in str(untrusted.value)
