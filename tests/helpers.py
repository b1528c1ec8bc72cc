"""Builders for test sheets: the default template tabs plus the deals a test needs."""

from __future__ import annotations

import socket
import subprocess
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import openpyxl
import requests

from sheetpipe.backends.memory import MemoryBackend
from sheetpipe.core.contract import Names
from sheetpipe.core.cycle import Plan, plan_cycle
from sheetpipe.core.sheet.table import put
from sheetpipe.layout import template_tabs
from sheetpipe.model import Row, Snapshot, Tab

NOW = datetime(2026, 3, 10, 9, 30)
NAMES = Names()


def tabs(
    deals: list[dict] | None = None,
    *,
    customers: list[dict] | None = None,
    weights: list[list] | None = None,
    stages: list[list] | None = None,
    settings: dict | None = None,
    history: list[list] | None = None,
    tasks: list[list] | None = None,
) -> dict[str, list[Row]]:
    """Template tabs, with the given rows replacing (weights, stages) or added to them."""
    out = {name: [list(r) for r in rows] for name, rows in template_tabs(NAMES)}
    for name, records in (("Deals", deals), ("Customers", customers)):
        if records:
            header = list(out[name][0])
            for record in records:
                header += [k for k in record if k not in header]
            out[name] = [header] + [[r.get(h) for h in header] for r in records]
    if weights is not None:
        out["Weights"] = [out["Weights"][0]] + weights
    if stages is not None:
        out["Stages"] = [out["Stages"][0]] + stages
    for key, value in (settings or {}).items():
        for row in out["Settings"][1:]:
            if row[0] == key:
                row[1] = value
                break
        else:
            out["Settings"].append([key, value, None])
    if history:  # rows written When … To stage, By: no Value or Expected close recorded
        out["History"] += [[*r[:6], None, None, *r[6:]] if len(r) == 7 else r for r in history]
    if tasks:
        out["Tasks"] += tasks
    return out


def snapshot(**kwargs) -> Snapshot:
    return Snapshot({n: Tab(n, rows) for n, rows in tabs(**kwargs).items()})


def plan(now: datetime = NOW, **kwargs) -> Plan:
    return plan_cycle(snapshot(**kwargs), NAMES, now)


def memory(**kwargs) -> MemoryBackend:
    return MemoryBackend(snapshot(**kwargs))


def column(snap: Snapshot, tab: str, name: str) -> list:
    """A column's values below the header, by header name."""
    t = snap.find(tab)
    assert t is not None
    i = t.header.index(name)
    return [row[i] if i < len(row) else None for row in t.rows[1:]]


def set_cell(snap: Snapshot, tab: str, row: int, name: str, value: object) -> None:
    """What a person types into a cell, found by its tab, sheet row and header name."""
    t = snap.find(tab)
    assert t is not None
    put(t.rows[row - 1], t.header.index(name) + 1, value)


def record(snap: Snapshot, tab: str, row: int) -> dict:
    t = snap.find(tab)
    assert t is not None
    values = t.rows[row - 1]
    return dict(zip(t.header, list(values) + [None] * (len(t.header) - len(values)), strict=True))


def write_workbook(path: Path, sheets: dict[str, list[Row]]) -> Path:
    """A workbook as a person would save it (openpyxl, plain values)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                cell = ws.cell(r, c, value)
                if isinstance(value, str) and value.startswith("="):
                    cell.data_type = "s"  # typed as text ('=…), not a formula
    wb.save(path)
    return path


def free_port() -> int:
    """A loopback port nothing listens on right now (for a test's own server)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(folder: Path, workbook: str = "pipeline.xlsx", extra: str = "") -> Path:
    path = folder / "sheetpipe.toml"
    path.write_text(f'[sheet]\nbackend = "xlsx"\npath = "{workbook}"\n{extra}', encoding="utf-8")
    return path


@contextmanager
def serving(command: list[str], folder: Path, port: int, env: dict[str, str] | None = None):
    """`sheetpipe serve --port PORT` in its own process, once it answers, until the block
    ends: yields the process."""
    process = subprocess.Popen([*command, "serve", "--port", str(port)], cwd=folder, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None:
            try:
                requests.get(f"http://127.0.0.1:{port}/form", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "sheetpipe serve did not answer in 60 s"
                time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(30)
