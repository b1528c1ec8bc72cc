"""E-mail alerts through a real SMTP server on loopback (aiosmtpd): what the owner of a
new lead receives, the Outbox rows that record each e-mail's fate, and that no cause
mails twice, across cycles, failures and a kill between `sending` and `sent`
(core/tabs/outbox.py, sheetpipe/mail/)."""

from __future__ import annotations

import email
import os
import ssl
import subprocess
import sys
from datetime import datetime, timedelta
from email.policy import default as default_policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from python_calamine import CalamineWorkbook

from sheetpipe.backends.xlsx import XlsxBackend
from sheetpipe.config import load_config
from sheetpipe.mail import open_mailer
from sheetpipe.model import ChangeSet, ColumnWrite
from sheetpipe.sync import SideInputs, run_cycle

from .helpers import free_port, tabs, write_config, write_workbook

NOW = datetime(2026, 3, 10, 9, 30)
FORM = "Web leads"
FORM_HEADER = ["Submitted at", "Full name", "E-mail", "Organisation", "Phone", "Message"]


# ---- a real SMTP server on loopback ------------------------------------------------------


class Mailbox:
    """aiosmtpd's handler: keeps every message; `answer` lets a test refuse some."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.answer = "250 Message accepted"
        self.on_data = None  # called with the message before answering (a kill)

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if self.answer.startswith(("4", "5")) and "RCPT" in self.answer:
            return self.answer.replace(" RCPT", "")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = email.message_from_bytes(envelope.original_content, policy=default_policy)
        self.messages.append(message)
        self.recipients.append(list(envelope.rcpt_tos))
        self.server = server
        if self.on_data is not None:
            self.on_data(message)
        return self.answer if "RCPT" not in self.answer else "250 OK"


@pytest.fixture
def smtp():
    inbox = Mailbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


# ---- a workbook with a form tab, and its config -------------------------------------------


def response(name="Cara Diaz", email_="cara@beta.example", company="Beta Ltd", phone="",
             message="Please call me", at="2026-03-09 10:00") -> list:  # fmt: skip
    return [at, name, email_, company, phone, message]


def workbook(folder: Path, responses: list[list], *, team=None, settings=None, deals=None) -> Path:
    sheets = tabs(deals or [{"Deal": "Acme", "Stage": "Contact", "Owner": "Ben",
                            "Last contact": NOW.date()}], settings=settings)  # fmt: skip
    sheets["Team"] = [["Name", "Email", "Active"]] + (
        team or [["Ana Ruiz", "ana@sales.example", "Yes"], ["Ben Ode", "ben@sales.example", "Yes"]]
    )
    sheets[FORM] = [FORM_HEADER, *responses]
    return write_workbook(folder / "pipeline.xlsx", sheets)


def config(folder: Path, port: int, extra: str = "") -> Path:
    smtp = (
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        f'sender = "Pipeline <pipeline@sales.example>"\n{extra}'
    )
    return write_config(folder, extra=f'[[intake]]\ntab = "{FORM}"\n{smtp}')


def cycle(path: Path, now: datetime = NOW):
    loaded = load_config(path)
    backend = XlsxBackend(loaded.workbook)
    return run_cycle(backend, loaded.names, now, side=SideInputs(mailer=open_mailer(loaded)))


def outbox(folder: Path) -> list[dict]:
    book = CalamineWorkbook.from_path(str(folder / "pipeline.xlsx"))
    rows = book.get_sheet_by_name("Outbox").to_python()
    return [dict(zip(rows[0], r, strict=False)) for r in rows[1:]]


def set_status(folder: Path, row: int, status: str) -> None:
    """What a person does in the Outbox: a row's Status retyped."""
    backend = XlsxBackend(folder / "pipeline.xlsx")
    with backend.session():
        tab = backend.read().find("Outbox")
        col = tab.header.index("Status") + 1
        backend.apply(ChangeSet(writes=[ColumnWrite("Outbox", col, "Status", [row], [status])]),
                      "Status")  # fmt: skip


# ---- a new lead's owner hears about it --------------------------------------------------


def test_a_new_leads_owner_gets_one_email_with_the_lead_and_a_link_to_its_row(tmp_path, smtp):
    workbook(tmp_path, [response(phone="+44 20 7946 0000")])
    report = cycle(config(tmp_path, smtp.port))
    assert report.delivery is not None and report.delivery.sent == 1
    [message] = smtp.messages
    assert smtp.recipients == [["ana@sales.example"]]
    assert message["To"] == "ana@sales.example"
    assert message["From"] == "Pipeline <pipeline@sales.example>"
    assert message["Subject"] == "New lead for you: Beta Ltd (D-0002)"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@sales.example>")
    body = message.get_content().replace("\r\n", "\n")  # as it came over the wire
    assert "Hi Ana Ruiz," in body
    assert "Contact: Cara Diaz" in body and "Email:   cara@beta.example" in body
    assert "Phone:   +44 20 7946 0000" in body and "Notes:   Please call me" in body
    assert "Why you: Created D-0002 for Ana Ruiz (round-robin, turn 1)" in body
    link = (tmp_path / "pipeline.xlsx").resolve().as_uri() + "#Deals!A3"
    assert f"Find it in Deals row 3 of {tmp_path / 'pipeline.xlsx'}:\n{link}\n" in body
    [row] = outbox(tmp_path)
    assert row["ID"] == "deals/D-0002/new-lead" and row["Kind"] == "new-lead"
    assert row["To"] == "ana@sales.example" and row["Subject"] == message["Subject"]
    assert row["Status"] == "sent" and row["Message-ID"] == message["Message-ID"]
    assert row["Queued"] == row["Sent"] == NOW
    assert row["Body"] == body


def test_a_cause_mails_once_across_cycles_and_each_new_lead_gets_its_own(tmp_path, smtp):
    workbook(tmp_path, [response()])
    path = config(tmp_path, smtp.port)
    cycle(path)
    again = cycle(path, NOW + timedelta(minutes=5))
    assert again.delivery is None, "nothing queued: no delivery, no extra read"
    assert len(smtp.messages) == 1
    backend = XlsxBackend(tmp_path / "pipeline.xlsx")
    with backend.session():
        form = backend.read().find(FORM)
        rows = len(form.rows)
        write = [ColumnWrite(FORM, c + 1, h, [rows + 1], [v]) for c, (h, v) in
                 enumerate(zip(FORM_HEADER, response("Dan", "dan@delta.example", "Delta"),
                               strict=True))]  # fmt: skip
        backend.apply(ChangeSet(writes=write), "Status")
    cycle(path, NOW + timedelta(minutes=10))
    assert [m["Subject"] for m in smtp.messages] == [
        "New lead for you: Beta Ltd (D-0002)",
        "New lead for you: Delta (D-0003)",
    ]
    assert [m["To"] for m in smtp.messages] == ["ana@sales.example", "ben@sales.example"]
    assert [r["Status"] for r in outbox(tmp_path)] == ["sent", "sent"]


def test_alerts_can_be_switched_off_in_settings(tmp_path, smtp):
    workbook(tmp_path, [response()], settings={"Alert on new lead": "no"})
    report = cycle(config(tmp_path, smtp.port))
    assert smtp.messages == [] and report.plan.mail_queued == 0
    assert outbox(tmp_path) == []


def test_a_stalled_deal_mails_its_owner_when_settings_ask_for_it(tmp_path, smtp):
    quiet = {"Deal": "Gamma", "Stage": "Contact", "Owner": "Ben Ode",
             "Last contact": NOW.date() - timedelta(days=20)}  # fmt: skip
    workbook(tmp_path, [], deals=[quiet], settings={"Alert when Stalled": "Yes"})
    cycle(config(tmp_path, smtp.port))
    [message] = smtp.messages
    assert message["To"] == "ben@sales.example"
    assert message["Subject"] == "Stalled: Gamma (D-0001)"
    assert "Deal stalled: no contact for 20 days" in message.get_content()
    [row] = outbox(tmp_path)
    assert row["ID"] == "deals/D-0001/contact#1/stalled" and row["Kind"] == "stalled"


def test_hot_and_stalled_alerts_are_off_by_default(tmp_path, smtp):
    quiet = {"Deal": "Gamma", "Stage": "Contact", "Owner": "Ben Ode",
             "Last contact": NOW.date() - timedelta(days=20)}  # fmt: skip
    workbook(tmp_path, [], deals=[quiet])
    cycle(config(tmp_path, smtp.port))
    assert smtp.messages == [] and outbox(tmp_path) == []


# ---- what goes wrong ----------------------------------------------------------------------


def test_an_owner_without_an_email_is_a_failed_row_and_a_problem_naming_the_deal(tmp_path, smtp):
    workbook(tmp_path, [response()], team=[["Ana Ruiz", "", "Yes"]])
    report = cycle(config(tmp_path, smtp.port))
    assert smtp.messages == []
    [row] = outbox(tmp_path)
    assert row["Status"] == "failed: Ana Ruiz has no Email in Team"
    problems = [str(p) for p in report.plan.problems]
    assert (
        'Deals!A3: the new-lead e-mail for "Ana Ruiz" was not sent: give them an Email in '
        "Team, then set the Outbox row deals/D-0002/new-lead to queued to send it." in problems
    )


def test_a_server_that_is_down_leaves_the_emails_queued_until_it_answers(tmp_path, smtp):
    workbook(tmp_path, [response()])
    down = free_port()
    report = cycle(config(tmp_path, down))
    assert report.delivery.sent == 0
    assert "connection refused" in report.delivery.error
    assert [r["Status"] for r in outbox(tmp_path)] == ["queued"]
    # Forty minutes on, still down: Status says so and what to run.
    later = cycle(config(tmp_path, down), NOW + timedelta(minutes=40))
    assert any("1 e-mails queued since 2026-03-10 09:30 are not sent yet: `sheetpipe check "
               "--smtp`" in p.message for p in later.plan.problems)  # fmt: skip
    cycle(config(tmp_path, smtp.port), NOW + timedelta(minutes=45))
    assert len(smtp.messages) == 1
    assert [r["Status"] for r in outbox(tmp_path)] == ["sent"]


def test_a_refused_recipient_fails_for_good_and_a_busy_server_is_tried_again(tmp_path, smtp):
    workbook(tmp_path, [response()])
    path = config(tmp_path, smtp.port)
    smtp.answer = "451 RCPT Try again later"
    cycle(path)
    assert [r["Status"] for r in outbox(tmp_path)] == ["queued"]
    smtp.answer = "550 RCPT No such user"
    cycle(path, NOW + timedelta(minutes=5))
    assert [r["Status"] for r in outbox(tmp_path)] == ["failed: 550 No such user"]
    smtp.answer = "250 Message accepted"
    cycle(path, NOW + timedelta(minutes=10))
    assert smtp.messages == [], "a failed e-mail is not retried by itself"


def test_the_daily_cap_holds_the_rest_until_tomorrow(tmp_path, smtp):
    leads = [response(f"P{i}", f"p{i}@firm{i}.example", f"Firm {i}") for i in range(3)]
    workbook(tmp_path, leads, settings={"E-mails per day": 2})
    report = cycle(config(tmp_path, smtp.port))
    assert report.delivery.sent == 2 and len(smtp.messages) == 2
    assert [r["Status"] for r in outbox(tmp_path)] == ["sent", "sent", "queued"]
    later = cycle(config(tmp_path, smtp.port), NOW + timedelta(hours=1))
    assert len(smtp.messages) == 2
    assert any("1 e-mails wait: today's cap of 2 (Settings, E-mails per day) is reached"
               in p.message for p in later.plan.problems)  # fmt: skip
    cycle(config(tmp_path, smtp.port), NOW + timedelta(days=1))
    assert len(smtp.messages) == 3


def own_template(folder: Path, text: str) -> str:
    """A team's own new-lead.txt in its templates folder; the [smtp] line naming it."""
    (folder / "mail").mkdir()
    (folder / "mail" / "new-lead.txt").write_text(text, encoding="utf-8")
    return 'templates = "mail"\n'


def test_a_template_naming_a_missing_field_fails_that_email_only(tmp_path, smtp):
    own = own_template(tmp_path, "Subject: Lead {{ deal['Deal'] }}\n\nFax: {{ deal['Fax'] }}\n")
    workbook(tmp_path, [response()])
    report = cycle(config(tmp_path, smtp.port, own))
    assert smtp.messages == []
    [row] = outbox(tmp_path)
    assert row["Status"] == (
        "failed: new-lead.txt: 'dict object' has no attribute 'Fax' (the deal lacks that field)"
    )
    assert any(p.where == "Deals!A3" and p.level == "error" for p in report.plan.problems)


def test_a_teams_own_template_replaces_the_default(tmp_path, smtp):
    own = own_template(tmp_path, "Subject: {{ deal['Company'] }} wants to talk\n\n"
                       "{{ owner.name }}: call {{ deal['Contact'] }}.\n")  # fmt: skip
    workbook(tmp_path, [response()])
    cycle(config(tmp_path, smtp.port, own))
    [message] = smtp.messages
    assert message["Subject"] == "Beta Ltd wants to talk"
    assert message.get_content().replace("\r\n", "\n") == "Ana Ruiz: call Cara Diaz.\n"


def test_templates_are_sandboxed(tmp_path, smtp):
    own = own_template(
        tmp_path, "Subject: x\n\n{{ owner.__class__.__mro__[1].__subclasses__() }}\n"
    )
    workbook(tmp_path, [response()])
    cycle(config(tmp_path, smtp.port, own))
    assert smtp.messages == []
    [row] = outbox(tmp_path)
    assert row["Status"].startswith("failed: new-lead.txt: ")


def test_hostile_text_stays_text_in_the_sheet_and_in_one_header_line(tmp_path, smtp):
    evil = response("=HYPERLINK(\"http://evil.example\")", "cara@beta.example",
                    "Beta\r\nBcc: victim@else.example")  # fmt: skip
    workbook(tmp_path, [evil])
    cycle(config(tmp_path, smtp.port))
    [message] = smtp.messages
    assert smtp.recipients == [["ana@sales.example"]]
    assert message["Bcc"] is None
    assert message["Subject"] == "New lead for you: Beta Bcc: victim@else.example (D-0002)"
    [row] = outbox(tmp_path)
    assert 'Contact: =HYPERLINK("http://evil.example")' in row["Body"]
    with XlsxBackend(tmp_path / "pipeline.xlsx").path.open("rb") as handle:
        import zipfile

        with zipfile.ZipFile(handle) as package:
            assert not any(b"<f>" in package.read(n) for n in package.namelist()
                           if n.startswith("xl/worksheets/"))  # fmt: skip


# ---- nothing leaves twice, even when the process dies mid-send -----------------------------


def test_a_task_deleted_and_made_again_does_not_mail_again(tmp_path, smtp):
    quiet = {"Deal": "Gamma", "Stage": "Contact", "Owner": "Ben Ode",
             "Last contact": NOW.date() - timedelta(days=20)}  # fmt: skip
    workbook(tmp_path, [], deals=[quiet], settings={"Alert when Stalled": "Yes"})
    path = config(tmp_path, smtp.port)
    cycle(path)
    import openpyxl

    book = openpyxl.load_workbook(tmp_path / "pipeline.xlsx")
    tasks = book["Tasks"]
    stalled = [r for r in range(2, tasks.max_row + 1) if "stalled" in str(tasks.cell(r, 9).value)]
    tasks.delete_rows(stalled[0])  # a person deletes the alert task
    book.save(tmp_path / "pipeline.xlsx")
    again = cycle(path, NOW + timedelta(minutes=5))
    assert again.plan.tasks_added == 1, "the task comes back"
    assert len(smtp.messages) == 1 and len(outbox(tmp_path)) == 1, "its e-mail does not"


def test_a_connection_broken_mid_send_leaves_that_email_in_doubt_and_the_rest_queued(
    tmp_path, smtp
):
    leads = [response(f"P{i}", f"p{i}@firm{i}.example", f"Firm {i}") for i in range(2)]
    workbook(tmp_path, leads)
    path = config(tmp_path, smtp.port)
    smtp.on_data = lambda message: smtp.server.transport.close()
    report = cycle(path)
    assert report.delivery.in_doubt == 1 and report.delivery.sent == 0
    assert [r["Status"] for r in outbox(tmp_path)] == ["sending", "queued"]
    smtp.on_data = None
    again = cycle(path, NOW + timedelta(minutes=5))
    assert [r["Status"] for r in outbox(tmp_path)] == ["sending", "sent"]
    assert [m["Subject"] for m in smtp.messages][-1] == "New lead for you: Firm 1 (D-0003)"
    assert any("a run stopped while sending this e-mail" in p.message
               for p in again.plan.problems)  # fmt: skip


def test_a_kill_between_sending_and_sent_never_sends_twice(tmp_path, smtp):
    """The server gets the message, then the sync process is killed before it records
    `sent`: the row stays `sending`, the next runs report it and send nothing, and only a
    person's `queued` sends it again."""
    workbook(tmp_path, [response()])
    path = config(tmp_path, smtp.port)
    command = [sys.executable, "-m", "sheetpipe", "sync", "--config", str(path),
               "--now", NOW.isoformat()]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    smtp.on_data = lambda message: process.kill()
    process.wait(timeout=60)
    assert process.returncode == -9
    smtp.on_data = None
    assert len(smtp.messages) == 1
    [row] = outbox(tmp_path)
    assert row["Status"] == "sending" and row["Message-ID"] == smtp.messages[0]["Message-ID"]
    # The next runs: nothing sent, the row reported with its Message-ID.
    for minutes in (5, 10):
        again = subprocess.run([*command[:-1], (NOW + timedelta(minutes=minutes)).isoformat()],
                               capture_output=True, text=True, timeout=60)  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert f"Outbox!E2: a run stopped while sending this e-mail ({row['Message-ID']})" in (
            again.stderr
        )
    assert len(smtp.messages) == 1
    set_status(tmp_path, 2, "queued")  # a person: "it never arrived, send it again"
    cycle(path, NOW + timedelta(minutes=15))
    assert len(smtp.messages) == 2
    assert smtp.messages[1]["Message-ID"] != smtp.messages[0]["Message-ID"]
    assert [r["Status"] for r in outbox(tmp_path)] == ["sent"]


# ---- sheetpipe check --smtp ------------------------------------------------------------------


class Accounts:
    def __init__(self, user: str, password: str):
        self.user, self.password = user.encode(), password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login, auth_data.password) == (self.user, self.password)
        return AuthResult(success=ok, handled=False)  # False: the server answers 535


@pytest.fixture
def tls_smtp(tmp_path):
    """An SMTP server with STARTTLS and a login, its certificate from a test CA."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    inbox = Mailbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), tls_context=context,
                            require_starttls=True, authenticator=Accounts("alerts", "s3cret"),
                            auth_require_tls=True)  # fmt: skip
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


def check(tmp_path: Path, smtp_section: str, env: dict | None = None):
    write_workbook(tmp_path / "pipeline.xlsx", tabs([{"Deal": "Acme", "Stage": "Contact"}]))
    write_config(tmp_path, extra=smtp_section)
    return subprocess.run(
        [sys.executable, "-m", "sheetpipe", "check", "--smtp"], cwd=tmp_path,
        capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})},
    )  # fmt: skip


def tls_section(port: int, extra: str = "") -> str:
    return (f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "starttls"\n'
            f'user = "alerts"\npassword_env = "SMTP_PASSWORD"\n'
            f'sender = "pipeline@sales.example"\n{extra}')  # fmt: skip


def test_check_smtp_connects_with_starttls_and_logs_in(tmp_path, tls_smtp):
    done = check(tmp_path, tls_section(tls_smtp.port, 'ca_file = "ca.pem"\n'),
                 {"SMTP_PASSWORD": "s3cret"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == (
        f"SMTP 127.0.0.1:{tls_smtp.port}: connected (STARTTLS), logged in as alerts."
    )


def test_check_smtp_says_in_one_line_that_the_login_was_refused(tmp_path, tls_smtp):
    done = check(tmp_path, tls_section(tls_smtp.port, 'ca_file = "ca.pem"\n'),
                 {"SMTP_PASSWORD": "wrong-one"})  # fmt: skip
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith(f"Error: SMTP 127.0.0.1:{tls_smtp.port}: the login was refused (535")
    assert line.endswith("check [smtp] user and the password in $SMTP_PASSWORD")
    assert "wrong-one" not in done.stdout + done.stderr


def test_check_smtp_refuses_a_certificate_it_does_not_trust(tmp_path, tls_smtp):
    done = check(tmp_path, tls_section(tls_smtp.port), {"SMTP_PASSWORD": "s3cret"})
    assert done.returncode == 1
    assert "its certificate is not trusted" in done.stderr
    assert "point [smtp] ca_file at it" in done.stderr


def test_check_smtp_with_nothing_listening_or_no_password(tmp_path):
    port = free_port()
    done = check(tmp_path, tls_section(port), {"SMTP_PASSWORD": "x"})
    assert done.stderr.strip() == (
        f"Error: SMTP 127.0.0.1:{port}: nothing answers there (connection refused); check "
        "[smtp] host and port"
    )
    env = {k: v for k, v in os.environ.items() if k != "SMTP_PASSWORD"}
    write_config(tmp_path, extra=tls_section(port))
    unset = subprocess.run([sys.executable, "-m", "sheetpipe", "check", "--smtp"],
                           cwd=tmp_path, capture_output=True, text=True, env=env)  # fmt: skip
    assert "connection refused" in unset.stderr  # the connection comes first


@pytest.mark.parametrize(
    ("section", "said"),
    [
        ('host = "h"\nsender = "a@b.example"\npassword = "x"',
         "[smtp] password: a password does not belong in sheetpipe.toml"),
        ('host = "h"\nsender = "a@b.example"\nuser = "u"',
         "[smtp] user is set but not where its password is"),
        ('host = "h"\nsender = "not an address"', '[smtp] sender = "not an address" is not an'),
        ('sender = "a@b.example"', '[smtp] host is missing, e.g. host = "smtp.example.com"'),
        ('host = "mail.example"\nsender = "a@b.example"\nsecurity = "none"\nuser = "u"\n'
         'password_env = "P"', '[smtp] security = "none" would send the password unencrypted'),
        ('host = "h"\nsender = "a@b.example"\nsecurity = "tls"',
         '[smtp] security = "tls" must be starttls, ssl or none'),
        ('host = "h"\nsender = "a@b.example"\nport = "587"', "[smtp] port = '587' must be a port"),
        ('host = "h"\nsender = "a@b.example"\nhots = "x"', "[smtp] hots is not a setting"),
    ],
)  # fmt: skip
def test_a_bad_smtp_section_is_reported_with_its_key(tmp_path, section, said):
    from sheetpipe.errors import ConfigError

    path = write_config(tmp_path, extra=f"[smtp]\n{section}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert said in str(err.value)


# ---- on Google, through the emulator ------------------------------------------------------


def test_on_google_a_form_response_mails_its_owner_once_with_a_link_to_its_row(
    emulator, tmp_path, smtp
):
    from sheetpipe.config import SmtpConfig
    from sheetpipe.core.contract import IntakeTab, Names
    from sheetpipe.mail import Mailer

    from . import google_helpers as gh

    form = "Form Responses 1"
    names = Names(intakes=(IntakeTab(form, "Deals"),), mail=True)
    sheets = tabs([{"Deal": "Acme", "Stage": "Contact", "Owner": "Ben Ode"}])
    sheets["Team"] = [["Name", "Email"], ["Ana Ruiz", "ana@sales.example"]]
    sheets[form] = [["Timestamp", "Name", "Email", "Company"],
                    [46090.5, "Cara Diaz", "cara@beta.example", "Beta Ltd"]]  # fmt: skip
    sid = gh.spreadsheet(emulator, sheets)
    backend = gh.backend(emulator, sid, gh.key_file(emulator, tmp_path))
    mailer = Mailer(SmtpConfig("127.0.0.1", smtp.port, "none", "pipeline@sales.example"))
    mark = len(emulator.log)
    report = run_cycle(backend, names, NOW, side=SideInputs(mailer=mailer))
    calls = [r for r in emulator.log[mark:] if r["path"].startswith("/v4/")]
    assert report.delivery.sent == 1
    [message] = smtp.messages
    assert message["Subject"] == "New lead for you: Beta Ltd (D-0002)"
    gid = backend._sheets["deals"].sheet_id
    assert f"/spreadsheets/d/{sid}/edit#gid={gid}&range=A3" in message.get_content()
    header, *rows = emulator.values(sid, "Outbox")
    row = dict(zip(header, rows[0], strict=False))
    assert row["Status"] == "sent" and row["Message-ID"] == message["Message-ID"]
    # The cycle (metadata, read, write), then the batch: read, guard, mark sending, read,
    # guard, record sent. A constant number, however many deals.
    writes = [r for r in calls if r["path"].endswith(":batchUpdate")]
    assert len(writes) == 3, [r["path"] for r in calls]
    mark = len(emulator.log)
    again = run_cycle(backend, names, NOW + timedelta(minutes=5), side=SideInputs(mailer=mailer))
    assert again.delivery is None and len(smtp.messages) == 1
    assert len([r for r in emulator.log[mark:] if r["path"].startswith("/v4/")]) == 1


def test_a_person_sorting_the_outbox_mid_send_gets_each_fate_on_its_own_row(tmp_path, smtp):
    """Saved in between (a row put on top): the fates are written where the IDs now are."""
    import openpyxl

    workbook(tmp_path, [response()])
    path = config(tmp_path, smtp.port)

    def person_saves(message):
        book = openpyxl.load_workbook(tmp_path / "pipeline.xlsx")
        book["Outbox"].insert_rows(2)
        book["Outbox"]["A2"], book["Outbox"]["E2"] = "my note", "queued by hand?"
        book.save(tmp_path / "pipeline.xlsx")

    smtp.on_data = person_saves
    cycle(path)
    rows = outbox(tmp_path)
    assert [(r["ID"], r["Status"]) for r in rows] == [
        ("my note", "queued by hand?"),
        ("deals/D-0002/new-lead", "sent"),
    ]
    assert rows[1]["Message-ID"] == smtp.messages[0]["Message-ID"]


def test_a_dry_run_shows_the_email_it_would_queue_and_sends_nothing(tmp_path, smtp):
    workbook(tmp_path, [response()])
    path = config(tmp_path, smtp.port)
    done = subprocess.run([sys.executable, "-m", "sheetpipe", "sync", "--dry-run", "--config",
                           str(path), "--now", NOW.isoformat()], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    [line] = [li for li in done.stdout.splitlines() if li.startswith("+ Outbox row 2:")]
    assert line.startswith("+ Outbox row 2: deals/D-0002/new-lead | ana@sales.example | "
                           "New lead for you: Beta Ltd (D-0002) | new-lead | queued |")  # fmt: skip
    assert "Hi Ana Ruiz, ⏎  ⏎ A new lead is yours" in line and line.endswith("…")
    assert smtp.messages == []
    assert "Outbox" not in CalamineWorkbook.from_path(str(tmp_path / "pipeline.xlsx")).sheet_names


# ---- the alerts a cycle queues, in the core --------------------------------------------


def core_cycle(responses: list[list], names=None, team=None, rename=None, **sheet):
    """plan_cycle on a sheet in memory, its e-mails made by the real templates."""
    from sheetpipe.core.contract import IntakeTab, Names
    from sheetpipe.core.cycle import plan_cycle
    from sheetpipe.mail import Templates
    from sheetpipe.model import Snapshot, Tab

    names = names or Names(intakes=(IntakeTab(FORM, "Deals"),), mail=True)
    rows = tabs(**sheet)
    team = [["Ana Ruiz", "ana@sales.example"]] if team is None else team
    rows["Team"] = [["Name", "Email"], *team]
    rows[FORM] = [FORM_HEADER, *responses]
    rows["Deals"][0] = [(rename or {}).get(h, h) for h in rows["Deals"][0]]
    snap = Snapshot({n: Tab(n, r) for n, r in rows.items()})
    plan = plan_cycle(snap, names, NOW, Templates(None, "the sheet"))
    [(_, _, queued)] = [a for a in plan.changes.appends if a[0] == "Outbox"] or [(0, 0, [])]
    header = list(names.owned_tabs()["Outbox"])
    return plan, [dict(zip(header, r, strict=True)) for r in queued]


def test_a_renamed_owner_column_still_finds_the_new_leads_owner():
    from sheetpipe.core.contract import IntakeTab, Names

    names = Names(intakes=(IntakeTab(FORM, "Deals"),), mail=True, columns={"Owner": "Rep"})
    _, [row] = core_cycle([response()], names=names, rename={"Owner": "Rep"},
                          deals=[{"Deal": "Acme", "Stage": "Contact", "Owner": "Ana Ruiz"}])  # fmt: skip
    assert row["To"] == "ana@sales.example" and row["Status"] == "queued"
    assert "Hi Ana Ruiz," in row["Body"]


def test_a_lead_nobody_could_take_is_a_failed_row_that_says_so():
    plan, [row] = core_cycle([response()], team=[["Ana Ruiz", ""]],  # no e-mail: nobody
                             deals=[{"Deal": "Acme", "Stage": "Contact"}])  # fmt: skip
    assert row["Status"] == "failed: Ana Ruiz has no Email in Team"
    plan, [row] = core_cycle([response()], team=[], deals=[{"Deal": "Acme", "Stage": "Contact"}])
    assert row["Status"] == "failed: the deal has no Email in Team" and row["To"] is None
    assert any(p.message.startswith("the new-lead e-mail for it (no owner) was not sent")
               for p in plan.problems)  # fmt: skip


def test_a_deals_cells_read_as_a_person_reads_them_on_every_backend():
    """Serial dates (Google) become dates; rows without their trailing empty cells
    (Google) lack those fields only."""
    import pandas as pd

    from sheetpipe.core.sheet.table import read_table
    from sheetpipe.core.tabs.outbox import DealRows
    from sheetpipe.model import Tab

    tab = Tab("Deals", [["Deal", "Last contact", "Notes", "Owner"], ["Acme", 46090, "x"]])
    table = read_table(tab, date_cells="serial")
    desired = pd.DataFrame({"ID": ["D-0001"], "Score": [40]}, index=[2])
    deal = DealRows("Deals", table, desired).cells_of(2)
    assert deal == {"Deal": "Acme", "Last contact": "2026-03-09", "Notes": "x", "ID": "D-0001",
                    "Score": "40"}  # fmt: skip
    as_read = DealRows("Deals", read_table(tab, date_cells="datetime"), desired).cells_of(2)
    assert as_read["Last contact"] == "46090"  # a workbook's number is a number


def test_explain_lists_a_deals_emails_and_the_ones_a_sync_would_queue(tmp_path, smtp):
    workbook(tmp_path, [response()])
    path = config(tmp_path, smtp.port)

    def explain() -> list[str]:
        done = subprocess.run([sys.executable, "-m", "sheetpipe", "explain", "D-0002", "--config",
                               str(path), "--now", NOW.isoformat()], capture_output=True,
                              text=True, timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return [li for li in done.stdout.splitlines() if li.startswith("E-mail: ")]

    assert explain() == ["E-mail: new-lead to ana@sales.example: queued"]  # would be
    cycle(path)
    assert explain() == ["E-mail: new-lead to ana@sales.example: sent 2026-03-10 09:30"]


# ---- the whole way: a visitor's form to a customer -----------------------------------------


def test_from_the_web_form_to_a_customer_on_a_workbook(tmp_path, smtp, serve):
    """A visitor sends the form; a sync makes the deal with an owner and mails the owner;
    the owner wins it; the next sync gives it its row in Customers, with its owner."""
    from sheetpipe.web.journal import Journal
    from sheetpipe.web.serve import FormRules

    workbook(tmp_path, [])
    path = config(tmp_path, smtp.port)
    path.write_text(path.read_text() + '[serve]\njournal = "journal.sqlite"\n', encoding="utf-8")
    base, _ = serve(FormRules(min_seconds=0), Journal(tmp_path / "journal.sqlite"))
    import re

    import requests

    page = requests.get(f"{base}/form", timeout=10).text
    token = re.search(r'name="_token" value="([^"]+)"', page).group(1)
    sent = requests.post(f"{base}/form", timeout=10, data={
        "_token": token, "Name": "Cara Diaz", "Email": "cara@beta.example",
        "Company": "Beta Ltd"})  # fmt: skip
    assert sent.status_code == 200
    loaded = load_config(path)
    from sheetpipe.web.journal import open_inbox

    def sync(now):
        return run_cycle(XlsxBackend(loaded.workbook), loaded.names, now,
                         side=SideInputs(open_mailer(loaded), open_inbox(loaded)))  # fmt: skip

    sync(NOW)
    book = CalamineWorkbook.from_path(str(tmp_path / "pipeline.xlsx"))
    header, *deals = book.get_sheet_by_name("Deals").to_python()
    deal = dict(zip(header, deals[-1], strict=False))
    assert (deal["ID"], deal["Deal"], deal["Owner"]) == ("D-0002", "Beta Ltd", "Ana Ruiz")
    [message] = smtp.messages
    assert message["To"] == "ana@sales.example" and "Beta Ltd" in message["Subject"]
    backend = XlsxBackend(tmp_path / "pipeline.xlsx")  # Ana wins it
    with backend.session():
        tab = backend.read().find("Deals")
        col = tab.header.index("Stage") + 1
        backend.apply(ChangeSet(writes=[ColumnWrite("Deals", col, "Stage", [3], ["Won"])]),
                      "Status")  # fmt: skip
    sync(NOW + timedelta(days=1))
    book = CalamineWorkbook.from_path(str(tmp_path / "pipeline.xlsx"))
    header, *customers = book.get_sheet_by_name("Customers").to_python()
    [customer] = [dict(zip(header, r, strict=False)) for r in customers]
    assert (customer["Deal"], customer["Stage"], customer["Owner"], customer["From deal"]) == (
        "Beta Ltd", "Onboarding", "Ana Ruiz", "D-0002")  # fmt: skip


def test_from_the_web_form_to_a_customer_on_google(tmp_path, smtp, serve, emulator):
    """The same way on a Google Sheet (the emulator), with the requests it spends."""
    import re

    import requests

    from sheetpipe.config import SmtpConfig
    from sheetpipe.core.contract import IntakeTab, Names
    from sheetpipe.mail import Mailer
    from sheetpipe.web.journal import Inbox, Journal
    from sheetpipe.web.serve import FormRules

    from . import google_helpers as gh

    sheets = tabs([{"Deal": "Acme", "Stage": "Contact", "Owner": "Ben Ode"}])
    sheets["Team"] = [["Name", "Email"], ["Ana Ruiz", "ana@sales.example"]]
    sid = gh.spreadsheet(emulator, sheets)
    backend = gh.backend(emulator, sid, gh.key_file(emulator, tmp_path))
    names = Names(intakes=(IntakeTab(FORM, "Deals"),), mail=True)
    journal = Journal(tmp_path / "journal.sqlite")
    inbox, mailer = Inbox(journal, FORM), Mailer(SmtpConfig("127.0.0.1", smtp.port, "none",
                                                            "pipeline@sales.example"))  # fmt: skip
    base, _ = serve(FormRules(min_seconds=0), journal)
    page = requests.get(f"{base}/form", timeout=10).text
    token = re.search(r'name="_token" value="([^"]+)"', page).group(1)
    requests.post(f"{base}/form", timeout=10, data={
        "_token": token, "Name": "Cara Diaz", "Email": "cara@beta.example",
        "Company": "Beta Ltd"}).raise_for_status()  # fmt: skip
    run_cycle(backend, names, NOW, side=SideInputs(mailer, inbox))
    assert journal.waiting() == []
    assert [m["To"] for m in smtp.messages] == ["ana@sales.example"]  # Cara's lead is hers
    requests.post(
        f"{base}/api/leads",
        timeout=10,
        json={"Name": "Dan Ek", "Email": "dan@delta.example", "Company": "Delta"},
    ).raise_for_status()
    mark = len(emulator.log)
    run_cycle(
        backend, names, NOW + timedelta(minutes=5), side=SideInputs(inbox=inbox)
    )  # moved, no mail
    moved = [r["method"] + " " + r["path"].rsplit("/", 1)[-1] for r in emulator.log[mark:]
             if r["path"].startswith("/v4/")]  # fmt: skip
    assert moved == [
        "GET values:batchGet",
        f"POST {sid}:batchUpdate",  # the move
        "GET values:batchGet",
        "GET values:batchGet",
        f"POST {sid}:batchUpdate",
    ]
    smtp.messages.clear()
    header, *deals = emulator.values(sid, "Deals")
    deals = deals[:-1]  # Dan's deal, made without [smtp] above
    deal = dict(zip(header, deals[-1], strict=False))
    assert (deal["ID"], deal["Deal"], deal["Owner"]) == ("D-0002", "Beta Ltd", "Ana Ruiz")
    with backend.session():  # Ana wins it, in the sheet
        backend.read()
        col = header.index("Stage") + 1
        backend.apply(ChangeSet(writes=[ColumnWrite("Deals", col, "Stage", [3], ["Won"])]),
                      "Status")  # fmt: skip
    mark = len(emulator.log)
    report = run_cycle(backend, names, NOW + timedelta(days=1), side=SideInputs(mailer, inbox))
    assert report.delivery is None, "nothing to mail: the won deal's owner knows"
    calls = [r for r in emulator.log[mark:] if r["path"].startswith("/v4/")]
    assert len(calls) <= 3, [r["path"] for r in calls]  # read, guard, write: as any cycle
    header, *customers = emulator.values(sid, "Customers")
    [customer] = [dict(zip(header, r, strict=False)) for r in customers]
    assert (customer["Deal"], customer["Stage"], customer["Owner"], customer["From deal"]) == (
        "Beta Ltd", "Onboarding", "Ana Ruiz", "D-0002")  # fmt: skip
    assert journal.waiting() == []


def test_a_nurture_sequence_on_google_mails_the_lead_in_the_window_once_per_step(
    tmp_path, smtp, emulator
):
    """The seed's sequence on a Google Sheet (the emulator): Enrolments' dates come back
    as serial numbers, and the steps still go once each, on time."""
    from sheetpipe.config import SmtpConfig
    from sheetpipe.core.contract import Names
    from sheetpipe.mail import Mailer

    from . import google_helpers as gh

    lead = {"Deal": "Beta Works", "Stage": "Discovery", "Owner": "Ana Ruiz",
            "Email": "cara@beta.example", "Company": "Beta Works", "Source": "web form",
            "Contact": "Cara"}  # fmt: skip
    sheets = tabs([lead], settings={"Discount code": "SPRING15"})
    sheets["Team"] = [["Name", "Email"], ["Ana Ruiz", "ana@sales.example"]]
    sid = gh.spreadsheet(emulator, sheets)
    backend = gh.backend(emulator, sid, gh.key_file(emulator, tmp_path))
    names = Names(mail=True)
    mailer = Mailer(SmtpConfig("127.0.0.1", smtp.port, "none", "Sales <pipeline@sales.example>"))

    def cycle(at: datetime) -> None:
        run_cycle(backend, names, at, side=SideInputs(mailer))

    cycle(NOW)  # a Tuesday: enrolled, step 1 due Thursday
    header, row = emulator.values(sid, "Enrolments")[:2]
    enrolled = dict(zip(header, row, strict=False))
    assert (enrolled["ID"], enrolled["Status"]) == ("deals/D-0001/nurture/new-web-lead#1", "active")
    cycle(NOW + timedelta(days=1))
    cycle(datetime(2026, 3, 12, 8, 55))  # due at 09:30: not yet
    assert smtp.messages == []
    cycle(datetime(2026, 3, 12, 9, 31))
    cycle(datetime(2026, 3, 12, 9, 40))
    [invitation] = smtp.messages
    assert (invitation["To"], invitation["Subject"]) == ("cara@beta.example",
                                                          "A demo for Beta Works?")  # fmt: skip
    assert invitation["From"] == "Ana Ruiz <pipeline@sales.example>"
    cycle(datetime(2026, 3, 14, 10))  # Saturday: the window is closed
    cycle(datetime(2026, 3, 16, 9, 1))
    cycle(datetime(2026, 3, 16, 9, 30))
    assert [m["Subject"] for m in smtp.messages] == [
        "A demo for Beta Works?", "Beta Works: 15 % off with SPRING15"]  # fmt: skip
    header, row = emulator.values(sid, "Enrolments")[:2]
    assert dict(zip(header, row, strict=False))["Status"] == "finished"


def test_google_requests_per_nurture_cycle_do_not_grow_with_the_enrolments(
    tmp_path, smtp, emulator
):
    """1 or 40 enrolments: an idle cycle makes the same requests, and queueing every lead's
    step costs the same cycle requests; only delivery grows, by its batches of ten."""
    from sheetpipe.config import SmtpConfig
    from sheetpipe.core.contract import Names
    from sheetpipe.mail import Mailer

    from . import google_helpers as gh

    def calls(count: int) -> tuple[int, int, int]:
        leads = [{"Deal": f"Firm {i}", "Stage": "Discovery", "Owner": "Ana Ruiz",
                  "Email": f"lead{i}@firm{i}.example", "Company": f"Firm {i}",
                  "Source": "web form", "Contact": "Pat"} for i in range(count)]  # fmt: skip
        sheets = tabs(leads, settings={"Discount code": "SPRING15", "E-mails per day": "500"})
        sheets["Team"] = [["Name", "Email"], ["Ana Ruiz", "ana@sales.example"]]
        sid = gh.spreadsheet(emulator, sheets)
        backend = gh.backend(emulator, sid, gh.key_file(emulator, tmp_path))
        mailer = Mailer(SmtpConfig("127.0.0.1", smtp.port, "none", "pipeline@sales.example"))

        def counted(at: datetime) -> int:
            mark = len(emulator.log)
            run_cycle(backend, Names(mail=True), at, side=SideInputs(mailer))
            return len([r for r in emulator.log[mark:] if r["path"].startswith("/v4/")])

        counted(NOW)  # enrolled
        idle = counted(NOW + timedelta(hours=1))
        sending = counted(datetime(2026, 3, 12, 9, 31))  # step 1 due for every lead
        return idle, sending, len(smtp.messages)

    idle_one, sending_one, sent = calls(1)
    assert sent == 1
    idle_many, sending_many, sent = calls(40)
    assert sent == 41
    assert idle_many == idle_one
    # Each batch after the first: read, guard, mark sending, read, guard, record sent.
    assert sending_many == sending_one + 3 * 6, (idle_one, sending_one, sending_many)
