"""The installed `sheetpipe` command, driven the way the README drives it, on every Python
the project supports: `sheetpipe demo`, `[smtp]` and `[serve]` added to its config,
`sheetpipe serve` answering a visitor's form, `sheetpipe sync` making the deal, picking
its owner by rotation and mailing them through a real SMTP server on loopback; then the
owner works the playbook (the deal moves on by itself), wins it, and it becomes a customer.

The suite's own environment is the wheel `pip install '.[test]'` installed (tests/conftest.py
refuses the checkout); the other supported Pythons get the same wheel in a fresh
environment each."""

from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from email.policy import default as default_policy
from pathlib import Path

import pytest
import requests
from aiosmtpd.controller import Controller
from python_calamine import CalamineWorkbook

from .helpers import free_port, serving

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
SUPPORTED = [
    c.rsplit(" :: ", 1)[1]
    for c in PROJECT["classifiers"]
    if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
]
# Where a missing Python fails the run instead of skipping: CI sets it (.ci/run).
REQUIRED = os.environ.get("SHEETPIPE_REQUIRE_PYTHONS", "").split()


class Inbox:
    """aiosmtpd's handler: every message the server accepted, as the recipient gets it."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.on_data: Callable[[email.message.EmailMessage], None] | None = None  # (a kill)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        parsed = email.message_from_bytes(envelope.original_content, policy=default_policy)
        self.messages.append(parsed)
        if self.on_data is not None:
            self.on_data(parsed)
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


def run(command: Path, *args: str, cwd: Path) -> str:
    done = subprocess.run([str(command), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, f"sheetpipe {' '.join(args)}: {done.stdout}{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout


def sheet(folder: Path, tab: str) -> list[dict]:
    rows = CalamineWorkbook.from_path(str(folder / "pipeline.xlsx")).get_sheet_by_name(tab)
    header, *body = rows.to_python()
    return [dict(zip(header, row, strict=False)) for row in body]


def demo_with_mail(command: Path, folder: Path, smtp_port: int) -> tuple[Path, int]:
    """`sheetpipe demo`, with [smtp] (the SMTP server on loopback) and [serve] added as the
    README adds them, [serve] last (a test may append keys to it); returns the demo's
    folder and the form's port."""
    run(command, "demo", "demo", cwd=folder)
    demo = folder / "demo"
    web_port = free_port()
    with (demo / "sheetpipe.toml").open("a", encoding="utf-8") as config:
        config.write(
            f'\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\n'
            'sender = "Sales pipeline <pipeline@ourcompany.example>"\n'
            f'\n[serve]\ntab = "Web leads"\njournal = "journal.sqlite"\nport = {web_port}\n'
            "min_seconds = 0\n"
        )
    return demo, web_port


def form_to_owners_inbox(command: Path, folder: Path, smtp: tuple[Inbox, int]) -> dict:
    """The README's way from the demo to a new lead's e-mail; returns the new deal."""
    inbox, smtp_port = smtp
    demo, web_port = demo_with_mail(command, folder, smtp_port)
    with serving([str(command)], demo, web_port) as server:
        assert server.poll() is None, server.stdout.read()
        base = f"http://127.0.0.1:{web_port}"
        page = requests.get(f"{base}/form", timeout=10)
        token = re.search(r'name="_token" value="([^"]+)"', page.text).group(1)
        answer = requests.post(f"{base}/form", timeout=10, data={
            "_token": token, "Name": "Cara Diaz", "Email": "cara@beta-works.example",
            "Company": "Beta Works", "Message": "Pricing for 8 reps?"})  # fmt: skip
        assert answer.status_code == 200 and "Thank" in answer.text, answer.text
    assert not inbox.messages  # journaled only: the e-mail waits for the sync
    run(command, "sync", cwd=demo)
    [deal] = [d for d in sheet(demo, "Deals") if d["Company"] == "Beta Works"]
    [response] = [r for r in sheet(demo, "Web leads") if r["Email"] == "cara@beta-works.example"]
    assert response["Intake status"] == (
        f"Created {deal['ID']} for {deal['Owner']} (round-robin, turn 3)"
    )  # the demo's responses took turns 1 and 2
    team = {member["Name"]: member["Email"] for member in sheet(demo, "Team")}
    [message] = inbox.messages
    assert message["To"] == team[deal["Owner"]]
    assert "Beta Works" in message["Subject"]
    assert "Pricing for 8 reps?" in message.get_content()
    return deal


def installed_command() -> Path:
    return Path(sys.executable).with_name("sheetpipe")


def test_the_installed_command_takes_a_web_lead_to_its_owner_and_on_to_customers(tmp_path, smtp):
    command = installed_command()
    deal = form_to_owners_inbox(command, tmp_path, smtp)
    demo = tmp_path / "demo"
    assert deal["Stage"] == "Discovery"
    # A manager lets Discovery end when its playbook is done; the owner ticks its tasks.
    set_cells(demo, "Stages", lambda row: row["Stage"] == "Discovery", "Exit when", "playbook done")
    set_cells(demo, "Tasks", lambda row: row["Deal ID"] == deal["ID"], "Done", "Yes")
    run(command, "sync", cwd=demo)
    [moved] = [d for d in sheet(demo, "Deals") if d["ID"] == deal["ID"]]
    assert moved["Stage"] == "Qualification"
    *_, change = [h for h in sheet(demo, "History") if h["Deal ID"] == deal["ID"]]
    assert (change["From stage"], change["To stage"], change["By"]) == (
        "Discovery", "Qualification", "sheetpipe (playbook done)")  # fmt: skip
    set_cells(demo, "Deals", lambda row: row["ID"] == deal["ID"], "Stage", "Won")
    run(command, "sync", cwd=demo)
    [customer] = [c for c in sheet(demo, "Customers") if c["From deal"] == deal["ID"]]
    assert (customer["Deal"], customer["Stage"], customer["Owner"]) == (
        "Beta Works", "Onboarding", deal["Owner"])  # fmt: skip
    assert "Error" not in run(command, "check", cwd=demo)


def test_the_installed_daemon_plans_an_edit_made_between_its_idle_cycles(tmp_path):
    """Idle cycles reuse the last one's results (core/cycle.py: Carried); a person's save
    in between is planned all the same."""
    command = installed_command()
    run(command, "demo", "demo", cwd=tmp_path)
    demo = tmp_path / "demo"
    run(command, "sync", cwd=demo)
    daemon = subprocess.Popen([str(command), "run", "--every", "1s"], cwd=demo,
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        idle = wait_for_cycles(daemon, 3, lambda line: " cells=0 tasks=0 history=0 " in line)
        [deal, *_] = [d for d in sheet(demo, "Deals") if d["Stage"] == "Contact"]
        save_as_a_person(demo / "pipeline.xlsx", "Deals", deal["ID"], "Stage", "Proposal")
        [moved] = wait_for_cycles(daemon, 1, lambda line: " history=1 " in line)
    finally:
        daemon.terminate()
        rest = daemon.communicate(timeout=60)[1]
    assert daemon.returncode == 0, rest
    assert all("deals=" in line for line in [*idle, moved])
    *_, change = [h for h in sheet(demo, "History") if h["Deal ID"] == deal["ID"]]
    assert (change["From stage"], change["To stage"]) == ("Contact", "Proposal")
    [now] = [d for d in sheet(demo, "Deals") if d["ID"] == deal["ID"]]
    assert now["Days in stage"] == 0


def wait_for_cycles(daemon: subprocess.Popen, count: int, which) -> list[str]:
    """The daemon's next `count` "cycle ok" lines that `which` accepts."""
    found: list[str] = []
    deadline = time.monotonic() + 120  # a loaded CI machine: a generous ceiling
    while len(found) < count and time.monotonic() < deadline:
        line = daemon.stderr.readline()
        assert line, "the daemon stopped"
        assert "Traceback" not in line and "cycle failed" not in line, line
        if "cycle ok" in line and which(line):
            found.append(line)
    assert len(found) == count, found
    return found


def save_as_a_person(workbook: Path, tab: str, deal_id: str, column: str, value: str) -> None:
    """A spreadsheet program's save: the whole file written aside, then renamed over it."""
    import openpyxl

    book = openpyxl.load_workbook(workbook)
    rows = book[tab]
    header = [c.value for c in rows[1]]
    for row in rows.iter_rows(min_row=2):
        if row[header.index("ID")].value == deal_id:
            row[header.index(column)].value = value
    aside = workbook.with_name("saving.xlsx")
    book.save(aside)
    os.replace(aside, workbook)


def set_cells(folder: Path, tab: str, which, column: str, value: str) -> None:
    """What a person types into the workbook: `value` in `column` of the rows `which` picks."""
    from sheetpipe.backends.xlsx import XlsxBackend
    from sheetpipe.model import ChangeSet, ColumnWrite

    rows = [i for i, row in enumerate(sheet(folder, tab), start=2) if which(row)]
    assert rows, f"no row of {tab} to set {column} in"
    backend = XlsxBackend(folder / "pipeline.xlsx")
    with backend.session():
        col = backend.read().find(tab).header.index(column) + 1
        write = ColumnWrite(tab, col, column, rows, [value] * len(rows))
        backend.apply(ChangeSet(writes=[write]), "Status")


# ---- every supported Python ------------------------------------------------------------


def interpreter(version: str) -> str | None:
    """A Python of that version on this machine: on PATH, or installed by pyenv."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(str(p) for p in pyenv.glob(f"{version}.*/bin/python{version}"))
    for candidate in filter(None, candidates):
        said = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                              capture_output=True, text=True)  # fmt: skip
        if said.returncode == 0 and said.stdout.strip() == version:
            return candidate
    return None


def test_the_supported_pythons_are_declared_alike_and_the_readme_promises_them():
    assert SUPPORTED == ["3.11", "3.12", "3.13"]
    assert PROJECT["requires-python"] == f">={SUPPORTED[0]}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"Python {SUPPORTED[0]} to {SUPPORTED[-1]}" in readme


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    from .test_packaging import build_wheel

    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.mark.parametrize("version", SUPPORTED)
def test_the_wheel_mails_a_web_lead_on_every_supported_python(version, wheel, tmp_path, smtp):
    python = interpreter(version)
    if python is None:
        where = "SHEETPIPE_REQUIRE_PYTHONS lists it"
        if version in REQUIRED:
            pytest.fail(f"Python {version} is not on this machine, and {where}")
        pytest.skip(f"Python {version} is not on this machine (on PATH or under pyenv)")
    venv = tmp_path / f"venv-{version}"
    uv = [sys.executable, "-m", "uv"]
    subprocess.run([*uv, "venv", "-q", "--python", python, str(venv)], check=True, timeout=300)
    subprocess.run([*uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"),
                    str(wheel)], check=True, timeout=600)  # fmt: skip
    command = venv / "bin" / "sheetpipe"
    form_to_owners_inbox(command, tmp_path, smtp)
