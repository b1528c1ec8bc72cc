"""Fates the sheet could not take, kept in a small JSON file until a later cycle
writes them."""

from __future__ import annotations

import errno
import json
import logging
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

log = logging.getLogger("sheetpipe")
Outcome = tuple[str, str, datetime | None]  # Status, Message-ID, Sent: one row's fate


class FateStore:
    """Fates the sheet could not take, in a small JSON file beside sheetpipe.toml, until a
    later cycle writes them (Mailer.settle): what the mail server answered is never lost.
    Each is kept with the Message-ID its row was marked `sending` with, so that it lands
    only on a row still waiting for it."""

    def __init__(self, path: Path):
        self.path = path

    def load(self, sheet: str) -> tuple[dict[str, Outcome], dict[str, str]]:
        kept = self._read().get(sheet, {})
        outcomes = {i: (e["status"], e["message_id"],
                        datetime.fromisoformat(e["sent"]) if e.get("sent") else None)
                    for i, e in kept.items()}  # fmt: skip
        return outcomes, {i: e.get("marked", "") for i, e in kept.items()}

    def keep(self, sheet: str, outcomes: dict[str, Outcome], marked: dict[str, str]) -> None:
        every = self._read()
        every.setdefault(sheet, {}).update({
            i: {"status": status, "message_id": message_id, "marked": marked.get(i, ""),
                "sent": sent.isoformat() if sent else None}
            for i, (status, message_id, sent) in outcomes.items()
        })  # fmt: skip
        self._write(every)

    def forget(self, sheet: str, ids: Iterable[str]) -> None:
        every = self._read()
        for i in ids:
            every.get(sheet, {}).pop(i, None)
        self._write({k: v for k, v in every.items() if v})

    def _read(self) -> dict[str, dict[str, dict]]:
        try:
            found = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as err:  # kept aside for a person, never overwritten
            log.error("%s cannot be read (%s); it is left as it is", self.path, err)
            raise OSError(errno.EIO, f"{self.path} cannot be read") from err
        return found if isinstance(found, dict) else {}

    def _write(self, every: dict) -> None:
        if not every:
            self.path.unlink(missing_ok=True)
            return
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(every, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)  # whole or not at all
