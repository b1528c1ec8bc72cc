"""The seed's nurture workflow through the installed `sheetpipe` command: web-form leads
become deals with owners and alerts; two days later the demo invitation reaches each lead,
two days after that the discount code; a lead a person moves on gets nothing more, and an
address on Suppression is never mailed. Real SMTP on loopback; time driven by --now."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from email.utils import parseaddr
from pathlib import Path

import requests

from .helpers import free_port, serving
from .test_installed import installed_command, run, set_cells, sheet, smtp  # noqa: F401

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
    run(command, "demo", "demo", cwd=tmp_path)
    demo = tmp_path / "demo"
    web_port = free_port()
    with (demo / "sheetpipe.toml").open("a", encoding="utf-8") as config:
        config.write(
            f'\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\n'
            'sender = "Sales pipeline <pipeline@ourcompany.example>"\n'
            f'\n[serve]\ntab = "Web leads"\njournal = "journal.sqlite"\nport = {web_port}\n'
            "min_seconds = 0\n"
        )
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
