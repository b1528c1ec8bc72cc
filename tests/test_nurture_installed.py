"""The seed's nurture workflow through the installed `sheetpipe` command: web-form leads
become deals with owners and alerts; two days later the demo invitation reaches each lead,
two days after that the discount code; a lead a person moves on gets nothing more, and an
address on Suppression is never mailed. Real SMTP on loopback; time driven by --now."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from pathlib import Path

import pytest
import requests

from .helpers import free_port, serving
from .test_installed import (  # noqa: F401 - smtp is a fixture
    demo_with_mail,
    installed_command,
    run,
    set_cells,
    sheet,
    smtp,
)

LEADS = {
    "cara@beta-works.example": ("Cara Diaz", "Beta Works"),
    "dan@delta-labs.example": ("Dan Eze", "Delta Labs"),
    "eve@echo-studio.example": ("Eve Fox", "Echo Studio"),
}


def next_monday() -> datetime:
    """A Monday 10:00 after today, so the leads submitted now are the newest thing."""
    today = date.today()
    monday = today + timedelta(days=7 - today.weekday())
    return datetime.combine(monday, datetime.min.time()).replace(hour=10)


def at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def submit_leads(command: Path, demo: Path, port: int) -> None:
    with serving([str(command)], demo, port) as server:
        assert server.poll() is None, server.stdout.read()
        base = f"http://127.0.0.1:{port}"
        for email, (name, company) in LEADS.items():
            page = requests.get(f"{base}/form", timeout=10)
            token = re.search(r'name="_token" value="([^"]+)"', page.text).group(1)
            answer = requests.post(f"{base}/form", timeout=10, data={
                "_token": token, "Name": name, "Email": email, "Company": company,
                "Message": "Tell me more"})  # fmt: skip
            assert answer.status_code == 200, answer.text


def deals_made(command: Path, demo: Path, web_port: int) -> datetime:
    """The leads in, made deals on a Monday, and the discount code set: returns that
    Monday's moment."""
    submit_leads(command, demo, web_port)
    monday = next_monday()
    run(command, "sync", "--now", at(monday), cwd=demo)
    set_cells(demo, "Settings", lambda r: r["Setting"] == "Discount code", "Value", "SPRING15")
    return monday


def invitations_sent(command: Path, demo: Path, web_port: int) -> datetime:
    """`deals_made`, then the demo invitations sent on Wednesday: returns that
    Wednesday's moment."""
    wednesday = deals_made(command, demo, web_port) + timedelta(days=2, minutes=5)
    run(command, "sync", "--now", at(wednesday), cwd=demo)
    return wednesday


def with_imap(demo: Path, port: int) -> str:
    """[imap] for the IMAP server on loopback, its password in a file: the lines added."""
    (demo / "imap-password").write_text(IMAP_PASSWORD)
    return (
        f'\n[imap]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        f'user = "{IMAP_USER}"\npassword_file = "imap-password"\n'
    )


def add_suppression(demo: Path, email: str) -> None:
    """A person adds an address to Suppression (the row appended under its last one)."""
    from sheetpipe.backends.xlsx import XlsxBackend
    from sheetpipe.model import ChangeSet

    backend = XlsxBackend(demo / "pipeline.xlsx")
    with backend.session():
        rows = backend.read().find("Suppression").rows
        backend.apply(ChangeSet(appends=[("Suppression", len(rows) + 1,
                                          [[email, "manual", None, "a person"]])]), "Status")  # fmt: skip


def mails_to_leads(inbox) -> dict[str, list]:
    found: dict[str, list] = {}
    for message in inbox.messages:
        to = parseaddr(message["To"])[1]
        if to in LEADS:
            found.setdefault(to, []).append(message)
    return found


def enrolment(demo: Path, email: str) -> dict:
    [row] = [r for r in sheet(demo, "Enrolments") if r["Email"] == email]
    return row


def test_the_seeds_nurture_workflow_through_the_installed_command(tmp_path, smtp):  # noqa: F811
    inbox, smtp_port = smtp
    command = installed_command()
    demo, web_port = demo_with_mail(command, tmp_path, smtp_port)
    submit_leads(command, demo, web_port)
    monday = next_monday()
    run(command, "sync", "--now", at(monday), cwd=demo)
    assert not mails_to_leads(inbox)  # the owners' alerts only
    for email in LEADS:
        row = enrolment(demo, email)
        assert (row["Sequence"], row["Status"], row["Step"]) == ("New web lead", "active", 0)
        assert row["Next send"] == monday + timedelta(days=2)
    add_suppression(demo, "eve@echo-studio.example")

    wednesday = monday + timedelta(days=2, minutes=5)
    run(command, "sync", "--now", at(wednesday), cwd=demo)
    first = mails_to_leads(inbox)
    assert sorted(first) == ["cara@beta-works.example", "dan@delta-labs.example"]
    [invitation] = first["cara@beta-works.example"]
    assert invitation["Subject"] == "A demo for Beta Works?"
    cara_deal = next(d for d in sheet(demo, "Deals") if d["Email"] == "cara@beta-works.example")
    sender = parseaddr(invitation["From"])
    assert sender == (cara_deal["Owner"], "pipeline@ourcompany.example")  # from the owner
    assert "Hi Cara Diaz," in invitation.get_content()
    assert invitation["Auto-Submitted"] is None  # a lead's answer is wanted
    said = run(command, "explain", cara_deal["ID"], "--now", at(wednesday), cwd=demo)
    friday = wednesday + timedelta(days=2)
    assert (
        f"Nurture: New web lead #1: active, step 1 sent, next send {friday:%Y-%m-%d %H:%M}" in said
    )
    eve = enrolment(demo, "eve@echo-studio.example")
    assert (eve["Status"], eve["Exit reason"]) == (
        "exited", "eve@echo-studio.example is on Suppression")  # fmt: skip

    # A person moves Dan's deal on; the manager sets the discount code.
    set_cells(demo, "Deals", lambda r: r["Email"] == "dan@delta-labs.example", "Stage",
              "Qualification")  # fmt: skip
    set_cells(demo, "Settings", lambda r: r["Setting"] == "Discount code", "Value", "SPRING15")
    friday += timedelta(minutes=5)
    run(command, "sync", "--now", at(friday), cwd=demo)
    second = mails_to_leads(inbox)
    assert [m["Subject"] for m in second["cara@beta-works.example"]] == [
        "A demo for Beta Works?", "Beta Works: 15 % off with SPRING15"]  # fmt: skip
    assert len(second["dan@delta-labs.example"]) == 1  # nothing after the stage change
    assert (enrolment(demo, "cara@beta-works.example")["Status"]) == "finished"
    dan = enrolment(demo, "dan@delta-labs.example")
    assert (dan["Status"], dan["Exit reason"]) == ("exited", "stage changed to Qualification")

    run(command, "sync", "--now", at(friday + timedelta(days=3)), cwd=demo)
    assert sum(map(len, mails_to_leads(inbox).values())) == 3  # never more
    sent = [o for o in sheet(demo, "Outbox") if o["Kind"] == "nurture" and o["To"] in LEADS]
    assert sorted(o["Status"] for o in sent) == ["sent"] * 3


# ---- exactly once: a kill mid-send, two runs at once -------------------------------------


def test_a_kill_while_a_step_goes_never_sends_it_or_the_next_step_twice(tmp_path, smtp):  # noqa: F811
    """The sync is killed the moment the server takes a lead's invitation, before it
    records `sent`: that lead gets nothing more (not the invitation again, not the
    discount), the run after says so on Status, and the other leads go on as usual."""
    inbox, smtp_port = smtp
    command = installed_command()
    demo, web_port = demo_with_mail(command, tmp_path, smtp_port)
    wednesday = deals_made(command, demo, web_port) + timedelta(days=2, minutes=5)
    process = subprocess.Popen([str(command), "sync", "--now", at(wednesday)], cwd=demo,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    inbox.on_data = lambda message: process.kill() if parseaddr(message["To"])[1] in LEADS else None
    process.wait(timeout=120)
    inbox.on_data = None
    assert process.returncode == -9
    [(killed, [invitation])] = mails_to_leads(inbox).items()
    row = next(o for o in sheet(demo, "Outbox") if o["To"] == killed)
    assert (row["Status"], row["Message-ID"]) == ("sending", invitation["Message-ID"].strip())

    said = subprocess.run([str(command), "sync", "--now", at(wednesday + timedelta(minutes=5))],
                          cwd=demo, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert said.returncode == 0 and "a run stopped while sending this e-mail" in said.stderr
    for day in (2, 3, 6):
        run(command, "sync", "--now", at(wednesday + timedelta(days=day)), cwd=demo)
    sent = mails_to_leads(inbox)
    assert len(sent[killed]) == 1  # neither the invitation again nor the discount
    others = [a for a in LEADS if a != killed]
    assert all(len(sent[a]) == 2 for a in others), {a: len(sent.get(a, [])) for a in LEADS}
    assert enrolment(demo, killed)["Step"] == 1


def test_two_runs_at_once_send_each_step_once(tmp_path, smtp):  # noqa: F811
    """A second cron entry, or a daemon and a hand-run sync: both start together."""
    inbox, smtp_port = smtp
    command = installed_command()
    demo, web_port = demo_with_mail(command, tmp_path, smtp_port)
    monday = deals_made(command, demo, web_port)
    for moment in (monday + timedelta(days=2, minutes=5), monday + timedelta(days=4, minutes=5)):
        runs = [subprocess.Popen([str(command), "sync", "--now", at(moment)], cwd=demo,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                for _ in range(2)]  # fmt: skip
        codes = []
        for process in runs:
            _, err = process.communicate(timeout=300)
            assert b"Traceback" not in err, err.decode()
            codes.append(process.returncode)
        # One works the sheet; the other finds its lock and stops (75: try again later),
        # unless it started after the first had finished.
        assert sorted(codes) in ([0, 0], [0, 75]), codes
    sent = mails_to_leads(inbox)
    assert {a: [m["Subject"] for m in ms] for a, ms in sent.items()} == {
        address: [f"A demo for {company}?", f"{company}: 15 % off with SPRING15"]
        for address, (_, company) in LEADS.items()
    }
    ids = [m["Message-ID"] for ms in sent.values() for m in ms]
    assert len(set(ids)) == len(ids) == 6


# ---- replies, read over IMAP ----------------------------------------------------------

IMAP_USER, IMAP_PASSWORD = "pipeline@ourcompany.example", "imap-s3cret"


@pytest.fixture
def imap():
    """A real IMAP server on loopback (pymap, its in-memory mailbox): yields its port."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("pymap")), "--host", "127.0.0.1", "--port",
         str(port), "--no-tls", "dict", "--demo-user", IMAP_USER, "--demo-password",
         IMAP_PASSWORD], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert server.poll() is None, server.stderr.read()
            assert time.monotonic() < deadline, "pymap did not answer in 30 s"
            time.sleep(0.1)
    yield port
    server.terminate()
    server.wait(10)


def deliver(port: int, message: EmailMessage | bytes) -> None:
    """A message reaching the team's mailbox."""
    from imap_tools import MailBoxUnencrypted

    with MailBoxUnencrypted("127.0.0.1", port).login(IMAP_USER, IMAP_PASSWORD) as box:
        box.append(bytes(message), "INBOX", flag_set=[])


def unseen(port: int) -> int:
    from imap_tools import MailBoxUnencrypted

    with MailBoxUnencrypted("127.0.0.1", port).login(IMAP_USER, IMAP_PASSWORD) as box:
        return box.folder.status("INBOX")["UNSEEN"]


def reply(to: EmailMessage, sender: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = sender, to["From"]
    message["Subject"], message["Message-ID"] = f"Re: {to['Subject']}", make_msgid()
    message["In-Reply-To"] = message["References"] = to["Message-ID"]
    message.set_content(f"{text}\n\nOn Wed, someone wrote:\n> {to.get_content()[:40]}")
    return message


def bounce(address: str) -> bytes:
    """An RFC 3464 delivery status notification for `address`, as a mail server writes it."""
    return (
        "From: MAILER-DAEMON@mx.example\r\nTo: " + IMAP_USER + "\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: " + make_msgid() + "\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example\r\n\r\n"
        f"Final-Recipient: rfc822; {address}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n\r\n--b1--\r\n"
    ).encode()


def out_of_office(sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = sender, IMAP_USER
    message["Subject"], message["Message-ID"] = "Out of office", make_msgid()
    message["Auto-Submitted"] = "auto-replied"
    message.set_content("I am away until Monday.")
    return message


def test_replies_read_over_imap_end_the_sequence_as_the_seed_says(tmp_path, smtp, imap):  # noqa: F811
    inbox, smtp_port = smtp
    command = installed_command()
    demo, web_port = demo_with_mail(command, tmp_path, smtp_port)
    with (demo / "sheetpipe.toml").open("a", encoding="utf-8") as config:
        config.write(with_imap(demo, imap))
    wednesday = invitations_sent(command, demo, web_port)
    invitations = {to: mails[0] for to, mails in mails_to_leads(inbox).items()}
    assert len(invitations) == 3
    deliver(imap, reply(invitations["cara@beta-works.example"], "Cara Diaz <cara@beta-works.example>",
                        "Sounds good, Tuesday?"))  # fmt: skip
    deliver(imap, bounce("dan@delta-labs.example"))
    deliver(imap, out_of_office("eve@echo-studio.example"))
    thursday = wednesday + timedelta(days=1)
    run(command, "sync", "--now", at(thursday), cwd=demo)
    run(command, "sync", "--now", at(thursday + timedelta(minutes=5)), cwd=demo)  # nothing new

    replies = sheet(demo, "Replies")
    assert [(r["From"], r["Kind"]) for r in replies] == [
        ("cara@beta-works.example", "reply"), ("mailer-daemon@mx.example", "bounce"),
        ("eve@echo-studio.example", "auto-reply")]  # fmt: skip
    assert replies[0]["First lines"] == "Sounds good, Tuesday?"  # the quote left out
    assert all(r["Acted"] for r in replies)
    assert unseen(imap) == 3  # read, never marked read
    cara = enrolment(demo, "cara@beta-works.example")
    assert (cara["Status"], cara["Exit reason"]) == (
        "exited", f'replied {thursday:%Y-%m-%d}: "Sounds good, Tuesday?"')  # fmt: skip
    deal = next(d for d in sheet(demo, "Deals") if d["Email"] == "cara@beta-works.example")
    assert deal["Stage"] == "Qualification"  # the sequence says: task and next stage
    *_, moved = [h for h in sheet(demo, "History") if h["Deal ID"] == deal["ID"]]
    assert (moved["To stage"], moved["By"]) == ("Qualification", "sheetpipe (replied to nurture)")
    [task] = [t for t in sheet(demo, "Tasks") if t["Kind"] == "reply"]
    assert (task["Owner"], task["Deal ID"]) == (deal["Owner"], deal["ID"])
    assert "Sounds good, Tuesday?" in task["Task"]
    dan = enrolment(demo, "dan@delta-labs.example")
    assert dan["Status"] == "exited" and dan["Exit reason"].startswith("bounced: 5.1.1")
    assert [s["Email"] for s in sheet(demo, "Suppression")] == ["dan@delta-labs.example"]
    assert enrolment(demo, "eve@echo-studio.example")["Status"] == "active"

    friday = wednesday + timedelta(days=2, minutes=5)
    run(command, "sync", "--now", at(friday), cwd=demo)
    second = {to: [m["Subject"] for m in mails] for to, mails in mails_to_leads(inbox).items()}
    assert len(second["cara@beta-works.example"]) == 1  # replied: no discount
    assert len(second["dan@delta-labs.example"]) == 1  # bounced
    assert second["eve@echo-studio.example"][-1] == "Echo Studio: 15 % off with SPRING15"


def test_one_click_unsubscribe_stops_the_sequence_for_good(tmp_path, smtp):  # noqa: F811
    inbox, smtp_port = smtp
    command = installed_command()
    demo, web_port = demo_with_mail(command, tmp_path, smtp_port)
    public = f"http://127.0.0.1:{web_port}"
    with (demo / "sheetpipe.toml").open("a", encoding="utf-8") as config:
        config.write(f'public_url = "{public}/"\n')  # in [serve], the last section
    wednesday = invitations_sent(command, demo, web_port)
    [invitation] = mails_to_leads(inbox)["cara@beta-works.example"]
    link, mailto = re.findall(r"<([^>]+)>", invitation["List-Unsubscribe"])
    assert link.startswith(f"{public}/unsubscribe/")
    assert mailto == "mailto:pipeline@ourcompany.example?subject=unsubscribe"
    assert invitation["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert invitation.get_content().rstrip().endswith(link)

    with serving([str(command)], demo, web_port):
        looked = requests.get(link, timeout=10)  # a link checker, or a preview
        assert looked.status_code == 200 and "Unsubscribe</button>" in looked.text
        forged = link[:-4] + ("0000" if not link.endswith("0000") else "1111")
        assert requests.post(forged, timeout=10).status_code == 404
        clicked = requests.post(link, data="List-Unsubscribe=One-Click", timeout=10,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        assert clicked.status_code == 200 and "will get no more" in clicked.text

    friday = wednesday + timedelta(days=2, minutes=5)
    run(command, "sync", "--now", at(friday), cwd=demo)
    [suppressed] = sheet(demo, "Suppression")
    assert (suppressed["Email"], suppressed["Reason"], suppressed["Source"]) == (
        "cara@beta-works.example", "unsubscribed", "unsubscribe link")  # fmt: skip
    cara = enrolment(demo, "cara@beta-works.example")
    assert (cara["Status"], cara["Exit reason"]) == (
        "exited", "cara@beta-works.example is on Suppression")  # fmt: skip
    after = mails_to_leads(inbox)
    assert len(after["cara@beta-works.example"]) == 1  # never the discount
    assert len(after["dan@delta-labs.example"]) == 2


# ---- the same workflow on a Google Sheet (the emulator) ---------------------------------


class GoogleSheet:
    """The demo moved onto a Google Sheet in the emulator, tab by tab, with sheetpipe.toml
    pointed at it as `init --google` writes it: what the installed command then works."""

    def __init__(self, emulator, demo: Path):  # noqa: ANN001 - the emulator fixture
        from python_calamine import CalamineWorkbook

        from . import google_helpers as gh

        book = CalamineWorkbook.from_path(str(demo / "pipeline.xlsx"))
        tabs = {n: book.get_sheet_by_name(n).to_python() for n in book.sheet_names}
        self.emulator, self.sid = emulator, gh.spreadsheet(emulator, tabs)
        gh.key_file(emulator, demo)
        config = demo / "sheetpipe.toml"
        url = f"https://docs.google.com/spreadsheets/d/{self.sid}/edit"
        text = config.read_text(encoding="utf-8").replace(
            'backend = "xlsx"', 'backend = "google"').replace(
            'path = "pipeline.xlsx"', f'spreadsheet = "{url}"\ncredentials = '
            '"service-account.json"')  # fmt: skip
        config.write_text(text, encoding="utf-8")
        (demo / "pipeline.xlsx").unlink()  # nothing can quietly go on working the file

    def rows(self, tab: str) -> list[dict]:
        header, *body = self.emulator.values(self.sid, tab)
        return [dict(zip(header, r, strict=False)) for r in body]

    def set(self, tab: str, which, column: str, value: str) -> None:  # noqa: ANN001
        header = self.emulator.values(self.sid, tab)[0]
        for n, row in enumerate(self.rows(tab), start=1):
            if which(row):
                self.emulator.put_cell(self.sid, tab, n, header.index(column), value)


def test_the_seeds_workflow_on_google_through_the_installed_command(
    tmp_path,
    smtp,  # noqa: F811
    imap,
    emulator,
    monkeypatch,
):
    """A reply, a person's stage change and an unsubscribe each end a lead's sequence on a
    Google Sheet; a lead who does none of these gets both steps, each once."""
    inbox, smtp_port = smtp
    command = installed_command()
    demo, web_port = demo_with_mail(command, tmp_path, smtp_port)
    public = f"http://127.0.0.1:{web_port}"
    with (demo / "sheetpipe.toml").open("a", encoding="utf-8") as config:
        config.write(f'public_url = "{public}/"\n' + with_imap(demo, imap))  # [serve] is last
    monkeypatch.setenv("SHEETPIPE_GOOGLE_API_ENDPOINT", emulator.base_url)
    google = GoogleSheet(emulator, demo)
    submit_leads(command, demo, web_port)
    monday = next_monday()
    run(command, "sync", "--now", at(monday), cwd=demo)
    owners = {d["Email"]: d["Owner"] for d in google.rows("Deals") if d.get("Email") in LEADS}
    assert len(owners) == 3 and all(owners.values())
    alerted = {parseaddr(m["To"])[1] for m in inbox.messages}
    assert {o for o in alerted if o.endswith("@ourcompany.example")}, "the owners' alerts"
    google.set("Settings", lambda r: r["Setting"] == "Discount code", "Value", "SPRING15")

    wednesday = monday + timedelta(days=2, minutes=5)
    run(command, "sync", "--now", at(wednesday), cwd=demo)
    invitations = {to: mails[0] for to, mails in mails_to_leads(inbox).items()}
    assert sorted(invitations) == sorted(LEADS)
    deliver(imap, reply(invitations["cara@beta-works.example"],
                        "Cara Diaz <cara@beta-works.example>", "Sounds good, Tuesday?"))  # fmt: skip
    google.set("Deals", lambda r: r.get("Email") == "dan@delta-labs.example", "Stage",
               "Qualification")  # fmt: skip
    link = re.findall(r"<([^>]+)>", invitations["eve@echo-studio.example"]["List-Unsubscribe"])[0]
    with serving([str(command)], demo, web_port):
        clicked = requests.post(link, data="List-Unsubscribe=One-Click", timeout=10,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        assert clicked.status_code == 200, clicked.text
    thursday = wednesday + timedelta(days=1)
    run(command, "sync", "--now", at(thursday), cwd=demo)

    ended = {e["Email"]: (e["Status"], e["Exit reason"]) for e in google.rows("Enrolments")}
    assert ended["cara@beta-works.example"] == (
        "exited", f'replied {thursday:%Y-%m-%d}: "Sounds good, Tuesday?"')  # fmt: skip
    assert ended["dan@delta-labs.example"] == ("exited", "stage changed to Qualification")
    assert ended["eve@echo-studio.example"] == (
        "exited", "eve@echo-studio.example is on Suppression")  # fmt: skip
    cara = next(d for d in google.rows("Deals") if d.get("Email") == "cara@beta-works.example")
    assert cara["Stage"] == "Qualification"
    [task] = [t for t in google.rows("Tasks") if t.get("Kind") == "reply"]
    assert (task["Owner"], task["Deal ID"]) == (cara["Owner"], cara["ID"])

    for days in (2, 5):
        run(command, "sync", "--now", at(wednesday + timedelta(days=days)), cwd=demo)
    after = mails_to_leads(inbox)
    assert {to: len(mails) for to, mails in after.items()} == dict.fromkeys(LEADS, 1)
    priya = [m["Subject"] for m in inbox.messages
             if parseaddr(m["To"])[1] == "priya@quantum-kite.example"]  # fmt: skip
    assert priya == ["A demo for Quantum Kite?", "Quantum Kite: 15 % off with SPRING15"]
