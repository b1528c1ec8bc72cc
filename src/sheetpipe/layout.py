"""The default tabs from templates/, and `init`: add only what a sheet is missing."""

from __future__ import annotations

import csv
import io
from importlib import resources
from importlib.resources.abc import Traversable

from sheetpipe.backends.base import Backend
from sheetpipe.core.contract import Names
from sheetpipe.core.inputs.settings import template_rows as settings_template
from sheetpipe.core.sheet.cells import number
from sheetpipe.core.tabs.widths import plan_widths, shown_elsewhere
from sheetpipe.model import ChangeSet, Row

DEFAULT_PIPELINES = ("Deals", "Customers")


def template_text(name: str) -> str:
    return templates().joinpath(name).read_text(encoding="utf-8")


def templates() -> Traversable:
    """The folder of default tabs, demo input and config templates: the regular package
    `sheetpipe.templates`, so an installed sheetpipe finds it as a plain folder.

    Join one name at a time: on Python 3.11 a Traversable's `joinpath` may take one."""
    return resources.files("sheetpipe.templates")


def read_csv_template(name: str) -> list[Row]:
    rows = list(csv.reader(io.StringIO(template_text(name))))
    return [[_typed(v) for v in row] for row in rows if row]


def _typed(value: str) -> object:
    """Numbers become numbers (a manager edits 30, not '30'); percentages stay as typed."""
    if value.endswith("%") or not value.strip():
        return value or None
    found = number(value)
    if found is None or "," in value:
        return value
    return int(found) if found.is_integer() else found


def template_tabs(names: Names) -> list[tuple[str, list[Row]]]:
    """Every contract tab with its default content, under the names config gives them."""
    tabs: list[tuple[str, list[Row]]] = []
    renamed = dict(zip(DEFAULT_PIPELINES, names.pipelines, strict=False))
    for i, pipeline in enumerate(names.pipelines):
        source = DEFAULT_PIPELINES[i] if i < len(DEFAULT_PIPELINES) else "Deals"
        header = [names.col(h) for h in read_csv_template(f"{source}.csv")[0]]
        tabs.append((pipeline, [header]))
    stages = read_csv_template("Stages.csv")
    stages = [stages[0]] + [[renamed[r[0]], *r[1:]] for r in stages[1:] if r[0] in renamed]
    for template, name in (
        ("Weights", names.weights),
        ("Stages", names.stages),
        ("Settings", names.settings),
        ("Team", names.team),
        ("Tasks", names.tasks),
        ("History", names.history),
        ("Status", names.status),
        ("Sequences", names.sequences),
        ("Sequence steps", names.sequence_steps),
    ):
        if template == "Settings":
            rows = settings_template()  # from the one place that knows each default
        else:
            rows = stages if template == "Stages" else read_csv_template(f"{template}.csv")
        tabs.append((name, rows))
    return tabs


def init_sheet(backend: Backend, names: Names) -> list[str]:
    """Create the sheet, or add the tabs it lacks; returns the names of tabs added.

    Never touches a tab that exists: not its header, not a value.
    """
    tabs = template_tabs(names)
    if not backend.exists():
        backend.create(tabs, names.status)
        return [name for name, _ in tabs]
    with backend.session():
        snapshot = backend.read()
        missing = [(name, rows) for name, rows in tabs if snapshot.find(name) is None]
        if missing:
            made = ChangeSet(new_tabs=missing)
            existing = (tab.rows for tab in snapshot.tabs.values())
            widths = plan_widths(made, names.status, shown_elsewhere(existing))
            backend.apply(ChangeSet.merged([made, widths]), names.status)
    return [name for name, _ in missing]
