"""What the leads' answers do (the Replies tab, filled from the mailbox by
sheetpipe/mail/imap.py): each row acted on once, and `Acted` says what was done.

A message is matched to an enrolment by the Message-IDs it refers to (a nurture step's,
from Outbox), else by its sender being an enrolled lead's address. A person's reply ends
the enrolment (`replied 2026-12-04: "Sounds good, Tuesday?"`), gives the owner a task
with its first lines and, where the sequence says so, moves the deal to the next stage
(History `By`: sheetpipe (replied to nurture)). A bounce puts the address on Suppression
and ends its enrolments; so does a reply asking to unsubscribe. An auto-reply (out of
office) is recorded and changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd

from sheetpipe.core.contract import DAEMON
from sheetpipe.core.deals.pipeline import value_and_close
from sheetpipe.core.inputs.sequences import Sequence
from sheetpipe.core.inputs.stages import Stages
from sheetpipe.core.sheet import cells
from sheetpipe.core.sheet.table import Table
from sheetpipe.model import ChangeSet, ColumnWrite

if TYPE_CHECKING:  # nurture calls this module with its deals
    from sheetpipe.core.tabs.nurture import DealState

MESSAGE_ID = re.compile(r"<[^<>\s]+>")
MOVED_BY = f"{DAEMON} (replied to nurture)"


@dataclass(frozen=True)
class Reply:
    row: int
    received: datetime | None
    sender: str
    kind: str
    first_lines: str
    refers_to: tuple[str, ...]
    bounced: str  # "address: why" for a bounce


@dataclass(frozen=True)
class Enrolled:
    """An active enrolment as replies see it."""

    id: str
    email: str
    sequence: Sequence
    deal: DealState


@dataclass
class Acts:
    exits: dict[str, str] = field(default_factory=dict)  # enrolment ID → exit reason
    suppress: list[dict[str, object]] = field(default_factory=list)  # Suppression rows
    tasks: list[dict[str, object]] = field(default_factory=list)
    history: list[dict[str, object]] = field(default_factory=list)
    changes: ChangeSet = field(default_factory=ChangeSet)  # stage moves, and Acted cells


def read_replies(table: Table | None, date_order: str) -> list[Reply]:
    """The rows not acted on yet (none while a person has deleted the Acted column: no
    row could say it was acted on, so none is)."""
    if table is None or table.index.empty or not table.has("Acted"):
        return []
    acted = cells.texts(table.get("Acted")).str.strip()
    received = table.column("Received").datetimes(date_order)
    text = {c: cells.texts(table.get(c)).str.strip()
            for c in ("From", "Kind", "First lines", "Refers to", "Bounced")}  # fmt: skip
    return [
        Reply(int(row), None if received[row] != received[row] else received[row].to_pydatetime(),
              text["From"][row].lower(), text["Kind"][row].lower(), text["First lines"][row],
              tuple(MESSAGE_ID.findall(text["Refers to"][row])), text["Bounced"][row])
        for row in table.index if not acted[row] and text["From"][row]
    ]  # fmt: skip


def act(
    replies: list[Reply],
    table: Table,
    enrolled: list[Enrolled],
    sent: Mapping[str, str],  # Outbox Message-ID → its ID
    stages: Stages,
    now: datetime,
    moved: Callable[[DealState, str], ColumnWrite | None],  # a deal's Stage cell set anew
) -> Acts:
    """Each reply's effect, and the words for its Acted cell."""
    acts, acted_rows, acted_words = Acts(), [], []
    by_id = {e.id: e for e in enrolled}
    for reply in replies:
        words = _act(reply, by_id, enrolled, sent, stages, now, moved, acts)
        acted_rows.append(reply.row)
        acted_words.append(words)
    if acted_rows:
        col = table.cols[cells.norm("Acted")]
        acts.changes.writes.append(ColumnWrite(table.name, col, "Acted", acted_rows, acted_words))
    return acts


def _act(reply: Reply, by_id: dict[str, Enrolled], enrolled: list[Enrolled],
         sent: Mapping[str, str], stages: Stages, now: datetime,
         moved: Callable[[DealState, str], ColumnWrite | None], acts: Acts) -> str:  # fmt: skip
    if reply.kind == "auto-reply":
        return "auto-reply: nothing changed"
    if reply.kind == "bounce":
        address, _, why = reply.bounced.partition(":")
        return _suppress(address.strip(), "bounced", f"bounced: {why.strip()}", enrolled, now,
                         acts)  # fmt: skip
    if reply.kind == "unsubscribe":
        return _suppress(reply.sender, "unsubscribed", "unsubscribed", enrolled, now, acts)
    mine = _matched(reply, by_id, enrolled, sent)
    if mine is None:
        return "no active enrolment matches it"
    day = (reply.received or now).date().isoformat()
    acts.exits[mine.id] = f'replied {day}: "{reply.first_lines[:80]}"'
    deal = mine.deal
    acts.tasks.append(_task(mine, reply, now))
    words = f"{mine.id} ended; a task for {deal.owner or 'nobody (no owner)'}"
    if mine.sequence.on_reply == "task and next stage":
        words += _move(mine, stages, now, moved, acts)
    return words


def _matched(reply: Reply, by_id: dict[str, Enrolled], enrolled: list[Enrolled],
             sent: Mapping[str, str]) -> Enrolled | None:  # fmt: skip
    """The enrolment a reply answers: by the step it refers to, else by its sender."""
    for message_id in reply.refers_to:
        mail_id = sent.get(message_id)
        if mail_id and mail_id.rpartition("/")[0] in by_id:
            return by_id[mail_id.rpartition("/")[0]]
    same = [e for e in enrolled if e.email.casefold() == reply.sender.casefold()]
    return same[-1] if same else None


def _suppress(address: str, reason: str, exit_reason: str, enrolled: list[Enrolled],
              now: datetime, acts: Acts) -> str:  # fmt: skip
    if not address:
        return "no address in it"
    acts.suppress.append({"Email": address, "Reason": reason, "When": now, "Source": DAEMON})
    ended = [e.id for e in enrolled if e.email.casefold() == address.casefold()]
    acts.exits.update(dict.fromkeys(ended, exit_reason))
    return f"{address} on Suppression ({reason})" + (f"; {len(ended)} enrolment(s) ended"
                                                      if ended else "")  # fmt: skip


def _task(mine: Enrolled, reply: Reply, now: datetime) -> dict[str, object]:
    deal = mine.deal
    return {
        "Task": f'Follow up: {deal.id} replied to {mine.sequence.name}: '
                f'"{reply.first_lines[:120]}"',
        "Deal": deal.pipeline.cells_of(deal.row).get("Deal", ""),
        "Due": now.date(), "Owner": deal.owner, "Done": None, "Kind": "reply",
        "Created": now, "Deal ID": deal.id, "Task ID": f"{mine.id}/replied",
    }  # fmt: skip


def _move(mine: Enrolled, stages: Stages, now: datetime,
          moved: Callable[[DealState, str], ColumnWrite | None], acts: Acts) -> str:  # fmt: skip
    deal = mine.deal
    pipeline = deal.pipeline.name
    here = next((s for s in stages.of(pipeline) if cells.norm(s.name) == deal.stage), None)
    after = stages.next_open(here) if here is not None else None
    write = moved(deal, after.name) if after is not None else None
    if after is None or write is None:
        return "; no next stage to move it to"
    acts.changes.writes.append(write)
    acts.history.append(
        {
            "When": now,
            "Deal ID": deal.id,
            "Pipeline": pipeline,
            "Deal": deal.pipeline.cells_of(deal.row).get("Deal", ""),
            "From stage": deal.stage_name,
            "To stage": after.name,
            "By": MOVED_BY,
            **_value_and_close(deal),
        }
    )
    return f"; moved to {after.name}"


def _value_and_close(deal: DealState) -> dict[str, object]:
    """The deal's Value and Expected close, as History records them on each row."""
    columns = deal.pipeline.columns
    if columns is None or deal.row not in columns.index:
        return {}
    [value], [close] = value_and_close(columns, pd.Index([deal.row]))
    return {"Value": value, "Expected close": close}
