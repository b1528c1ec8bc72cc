"""E-mail alerts benchmark: a cycle that takes R form responses in and mails each new
lead's owner, on an .xlsx workbook on disk, through a real SMTP server on loopback.

The workbook is bench/workload.py's pipeline of N deals (35 agents in Team, each with an
e-mail), synced once, with a form tab. Two copies of it receive the same R responses:

- without_mail: `sheetpipe sync` as without [smtp]: intake only (the floor);
- with_mail: the same cycle with [smtp]: the alerts queued in Outbox, then delivered in
  batches of 10 (each batch: read, mark `sending`, send, read, record `sent`).

`mail_vs_floor` is the ratio of the two; `ms_per_email` the extra cost of one e-mail,
almost all of it the two workbook writes of its batch, shared by ten e-mails.

    python bench/bench_mail.py [--deals 20000] [--responses 100]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiosmtpd.controller import Controller  # noqa: E402

from bench.bench_intake import FORM, responses  # noqa: E402
from bench.workload import NOW, workload  # noqa: E402
from sheetpipe.backends.xlsx import XlsxBackend  # noqa: E402
from sheetpipe.config import SmtpConfig  # noqa: E402
from sheetpipe.core.contract import IntakeTab, Names  # noqa: E402
from sheetpipe.mail import Mailer  # noqa: E402
from sheetpipe.mail.fates import FateStore  # noqa: E402
from sheetpipe.model import ChangeSet  # noqa: E402
from sheetpipe.sync import SideInputs, run_cycle  # noqa: E402

NAMES = Names(intakes=(IntakeTab(FORM, "Deals"),))
WITH_MAIL = Names(intakes=NAMES.intakes, mail=True)


class Counting:
    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802, ANN001
        self.received += 1
        return "250 OK"


def measure(n: int, count: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="bench-mail-"))
    try:
        return _measure(folder, n, count)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _measure(folder: Path, n: int, count: int) -> dict:
    snap = workload(n)
    agents = sorted({row[2] for row in snap.find("Deals").rows[1:]})
    team = [["Name", "Email"], *([a, f"{a.split()[0].lower()}@sales.example"] for a in agents)]
    sheets = [(t.name, t.rows) for t in snap.tabs.values() if t.name != "Team"]
    form = responses(snap.find("Deals").rows[1:], count)
    plain = folder / "plain.xlsx"
    XlsxBackend(plain).create([*sheets, ("Team", team), (FORM, form[:1])], "Status")
    run_cycle(XlsxBackend(plain), NAMES, NOW)  # synced, nothing waiting
    mailed = folder / "mailed.xlsx"
    shutil.copy(plain, mailed)
    for path in (plain, mailed):
        backend = XlsxBackend(path)
        with backend.session():
            backend.read()
            backend.apply(ChangeSet(appends=[(FORM, 2, form[1:])]), "Status")
    inbox = Counting()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        # As open_mailer makes it: each e-mail noted as tried in the fate file first.
        kept = FateStore(mailed.with_name("sheetpipe.mail-fates.json"))
        mailer = Mailer(SmtpConfig("127.0.0.1", port, "none", "pipeline@sales.example"), kept)
        later = NOW + timedelta(minutes=5)
        floor = _timed(lambda: run_cycle(XlsxBackend(plain), NAMES, later))
        report = None

        def with_mail() -> None:
            nonlocal report
            report = run_cycle(
                XlsxBackend(mailed), WITH_MAIL, later, side=SideInputs(mailer=mailer)
            )

        mail = _timed(with_mail)
    finally:
        server.stop()
    assert report is not None and report.delivery is not None
    sent = report.delivery.sent
    assert sent == inbox.received, "the server got what Outbox says was sent"
    return {
        "deals": n,
        "responses": count,
        "emails_sent": sent,
        "without_mail_cycle_s": round(floor, 3),
        "with_mail_cycle_s": round(mail, 3),
        "mail_vs_floor": round(mail / floor, 2),
        "ms_per_email": round((mail - floor) / max(sent, 1) * 1000, 1),
        "calls_with_mail": report.calls,
    }


def _timed(fn) -> float:  # noqa: ANN001
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=20_000)
    parser.add_argument("--responses", type=int, default=100)
    args = parser.parse_args()
    print(json.dumps(measure(args.deals, args.responses)))


if __name__ == "__main__":
    main()
