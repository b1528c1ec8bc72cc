"""python -m tests.emulator --port PORT [--credentials-out KEY.json]"""

from __future__ import annotations

import argparse
import json
import threading
from pathlib import Path

from .server import Emulator


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--credentials-out", type=Path, help="write a service-account key file here"
    )
    parser.add_argument(
        "--quota", type=int, default=0, help="requests per minute per user (0: off)"
    )
    args = parser.parse_args()
    emulator = Emulator(freeze_gc=True)
    emulator.serve(args.port)
    if args.quota:
        emulator.set_quota(True, args.quota)
    if args.credentials_out:
        args.credentials_out.write_text(json.dumps(emulator.key_file(), indent=2))
        args.credentials_out.chmod(0o600)
    print(
        f"Sheets API emulator ready on {emulator.base_url} as {emulator.account.email}", flush=True
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        emulator.stop()


if __name__ == "__main__":
    main()
