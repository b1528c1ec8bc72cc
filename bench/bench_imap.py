"""IMAP benchmark: what reading a mailbox's new replies costs once it holds thousands.

A real IMAP server on loopback (pymap, in-memory) holds --old messages already recorded
in the Replies tab and --new ones that are not. floor: reading --new messages from a
mailbox holding only those; scan: reading the same --new from the full mailbox, as a
cycle does (UIDs above the highest recorded). The ratio shows whether the cost grows with
what is new or with the mailbox. Wall seconds, best of --repeat. Prints JSON.

    python bench/bench_imap.py [--old 5000] [--new 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
USER, PASSWORD = "pipeline@ourcompany.example", "bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=int, default=5000)
    parser.add_argument("--new", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    floor = _measure(0, args.new, args.repeat)
    scan = _measure(args.old, args.new, args.repeat)
    print(json.dumps({"old": args.old, "new": args.new, "floor_new_only_s": round(floor, 4),
                      "scan_s": round(scan, 4), "scan_vs_floor": round(scan / floor, 2)},
                     indent=2))  # fmt: skip


def _measure(old: int, new: int, repeat: int) -> float:
    import os

    from sheetpipe.config import ImapConfig
    from sheetpipe.core.sheet.table import read_table
    from sheetpipe.mail.imap import fetch_new
    from sheetpipe.model import Tab

    port = _free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("pymap")), "--host", "127.0.0.1", "--port",
         str(port), "--no-tls", "dict", "--demo-user", USER, "--demo-password", PASSWORD],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        _wait(port)
        _fill(port, old + new)
        os.environ["SHEETPIPE_BENCH_IMAP"] = PASSWORD
        config = ImapConfig("127.0.0.1", port, "none", USER, "SHEETPIPE_BENCH_IMAP")
        recorded = _recorded(config, old)
        table = read_table(Tab("Replies", recorded))
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            found = fetch_new(config, table)
            best = min(best, time.perf_counter() - start)
            assert len(found) == new, len(found)
        return best
    finally:
        server.terminate()
        server.wait(10)


def _recorded(config, old: int) -> list[list]:  # noqa: ANN001
    """The Replies tab after a cycle that recorded the first `old` messages."""
    from sheetpipe.core.contract import REPLIES_COLUMNS
    from sheetpipe.mail.imap import fetch_new

    if not old:
        return [list(REPLIES_COLUMNS)]
    everything = fetch_new(config, None)
    return [list(REPLIES_COLUMNS), *(m.row() for m in everything[:old])]


def _fill(port: int, count: int) -> None:
    from imap_tools import MailBoxUnencrypted

    with MailBoxUnencrypted("127.0.0.1", port).login(USER, PASSWORD) as box:
        for n in range(count):
            message = EmailMessage()
            message["From"], message["To"] = f"lead{n}@example.com", USER
            message["Subject"], message["Message-ID"] = f"Re: a demo {n}", make_msgid()
            message["In-Reply-To"] = f"<step{n}@ourcompany.example>"
            message.set_content(f"Sounds good, call me ({n}).\n\nOn Monday you wrote:\n> Hi")
            box.append(bytes(message), "INBOX", flag_set=[])


def _wait(port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    main()
