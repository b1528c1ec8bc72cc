"""Replays Google's recorded answers (gspread's cassettes) against the emulator.

Each recorded request is sent in order to a fresh emulator, with the recorded
spreadsheet and sheet IDs mapped to the ones the emulator handed out, and the answer is
compared with Google's: same status and the same JSON body under one normalisation:

- IDs: a spreadsheet, file or sheet ID Google gave maps to the one the emulator gave
  at the same place in the same answer (learned as the replay goes);
- times: `createdTime` and `modifiedTime` values are not compared (they are when the
  recording was made);
- bodies that are not JSON (Drive's empty 204) compare as text.

    python -m tests.fidelity [CASSETTE_DIR]   prints the share per cassette as JSON
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from google.auth.transport.requests import Request
from google.oauth2 import service_account

from tests.emulator import Emulator

HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")
TIMES = {"createdTime", "modifiedTime"}
ID_KEYS = {"id", "spreadsheetId", "sheetId"}


@dataclass
class Result:
    cassette: str
    total: int = 0
    same: int = 0
    differences: list[dict] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.same / self.total if self.total else 1.0


def token(emulator: Emulator) -> str:
    creds = service_account.Credentials.from_service_account_info(
        emulator.key_file(), scopes=["https://www.googleapis.com/auth/spreadsheets"]
    )
    creds.refresh(Request())
    return creds.token


def replay(emulator: Emulator, path: Path, bearer: str) -> Result:
    emulator.reset()
    result = Result(path.stem)
    ids: dict[Any, Any] = {}
    session = requests.Session()
    for interaction in json.loads(path.read_text())["interactions"]:
        req, resp = interaction["request"], interaction["response"]
        url = req["uri"]
        for host in HOSTS:
            url = url.replace(host, emulator.base_url)
        url = _map_text(url, ids)
        body = req.get("body")
        if isinstance(body, dict):
            body = body.get("string")
        data = None
        if body:
            try:
                data = json.dumps(_map_json(json.loads(body), ids)).encode()
            except json.JSONDecodeError:
                data = _map_text(body, ids).encode()
        got = session.request(
            req["method"],
            url,
            data=data,
            headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"},
            timeout=30,
        )
        want_status = resp["status"]["code"]
        want_text = resp["body"]["string"]
        want = _parse(want_text)
        have = _parse(got.text)
        _learn(want, have, ids)
        result.total += 1
        if got.status_code == want_status and _normal(want, ids) == _normal(have, {}):
            result.same += 1
        else:
            result.differences.append(
                {
                    "request": f"{req['method']} {req['uri']}",
                    "status": [want_status, got.status_code],
                    "google": want,
                    "emulator": have,
                }
            )
    return result


def _parse(text: str) -> Any:
    try:
        return json.loads(text) if text else text
    except json.JSONDecodeError:
        return text


def _learn(want: Any, have: Any, ids: dict) -> None:
    """Pair the IDs Google gave with the emulator's, key by key, in the same places."""
    if isinstance(want, dict) and isinstance(have, dict):
        for key, value in want.items():
            if key in ID_KEYS and key in have and value not in ids and value != have[key]:
                ids[value] = have[key]
            elif key in have:
                _learn(value, have[key], ids)
    elif isinstance(want, list) and isinstance(have, list):
        for a, b in zip(want, have, strict=False):
            _learn(a, b, ids)


def _map_text(text: str, ids: dict) -> str:
    for old, new in ids.items():
        if isinstance(old, str) and len(old) > 8:
            text = text.replace(old, str(new))
    return text


def _map_json(value: Any, ids: dict) -> Any:
    if isinstance(value, dict):
        return {
            k: (ids.get(v, v) if k in ID_KEYS and not isinstance(v, bool) else _map_json(v, ids))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_map_json(v, ids) for v in value]
    if isinstance(value, str):
        return _map_text(value, ids)
    return value


def _normal(value: Any, ids: dict) -> Any:
    value = _map_json(value, ids)
    return _drop_times(value)


def _drop_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("<time>" if k in TIMES else _drop_times(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_drop_times(v) for v in value]
    return value


def run(folder: Path) -> list[Result]:
    emulator = Emulator()
    emulator.serve()
    try:
        bearer = token(emulator)
        return [replay(emulator, path, bearer) for path in sorted(folder.glob("*.json"))]
    finally:
        emulator.stop()


def main() -> None:
    from tests.conftest import SHARED

    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED / "gspread-cassettes"
    results = run(folder)
    total = sum(r.total for r in results)
    same = sum(r.same for r in results)
    print(
        json.dumps(
            {
                "overall": round(same / total, 4),
                "interactions": total,
                "reproduced": same,
                "cassettes": {r.cassette: f"{r.same}/{r.total}" for r in results},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
