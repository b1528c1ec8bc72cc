"""The Stages tab → each pipeline's ordered stages, limits and playbooks."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sheetpipe.core.cells import norm, number, text, yes
from sheetpipe.core.table import Table
from sheetpipe.model import Problem

_OFFSET = re.compile(r"\(\s*\+\s*(\d+)\s*(d|day|days|w|week|weeks)?\s*\)\s*$", re.I)
MIN_OPEN_STAGES, MAX_OPEN_STAGES = 2, 6


@dataclass(frozen=True)
class Action:
    text: str
    due_days: int


@dataclass(frozen=True)
class Stage:
    row: int
    pipeline: str  # norm(tab name)
    name: str  # as written
    order: float
    min_score: float | None = None
    max_days: float | None = None
    win_probability: float | None = None
    playbook: tuple[Action, ...] = ()
    auto_advance: bool = False
    closed: str | None = None  # "won" | "lost" | None


@dataclass
class Stages:
    by_pipeline: dict[str, list[Stage]] = field(default_factory=dict)  # sorted by order

    def get(self, pipeline: str, stage: str) -> Stage | None:
        want = norm(stage)
        for s in self.by_pipeline.get(norm(pipeline), []):
            if norm(s.name) == want:
                return s
        return None

    def of(self, pipeline: str) -> list[Stage]:
        return self.by_pipeline.get(norm(pipeline), [])

    def next_open(self, stage: Stage) -> Stage | None:
        later = [s for s in self.of(stage.pipeline) if s.order > stage.order and not s.closed]
        return later[0] if later else None


def parse_playbook(cell: object) -> tuple[Action, ...]:
    """One action per line, each optionally ending in a due offset like (+2d) or (+1w)."""
    actions = []
    for line in text(cell).splitlines():
        line = line.strip().lstrip("-•*").strip()
        if not line:
            continue
        match = _OFFSET.search(line)
        days = 0
        if match:
            days = int(match.group(1)) * (7 if (match.group(2) or "d")[0].lower() == "w" else 1)
            line = line[: match.start()].rstrip()
        actions.append(Action(line, days))
    return tuple(actions)


def parse_stages(table: Table | None, pipelines: Iterable[str]) -> tuple[Stages, list[Problem]]:
    if table is None:
        return Stages(), []
    pipelines = list(pipelines)
    known = {norm(p): p for p in pipelines}
    problems = list(table.problems)
    result: dict[str, list[Stage]] = {norm(p): [] for p in pipelines}
    for row in table.index:
        stage, problem = _parse_row(table, row, known)
        if problem:
            problems.append(problem)
        if stage is None:
            continue
        existing = result.setdefault(stage.pipeline, [])
        twin = next((s for s in existing if norm(s.name) == norm(stage.name)), None)
        if twin:
            problems.append(
                Problem(
                    table.where(row, "Stage"),
                    f'stage "{stage.name}" is already defined on row {twin.row} for '
                    f"{known.get(stage.pipeline, stage.pipeline)}; this row is skipped.",
                )
            )
            continue
        existing.append(stage)
    for key, stages in result.items():
        stages.sort(key=lambda s: (s.order, s.row))
        open_count = sum(1 for s in stages if not s.closed)
        if key in known and not MIN_OPEN_STAGES <= open_count <= MAX_OPEN_STAGES:
            problems.append(
                Problem(
                    f"{table.name} tab",
                    f"{known[key]} has {open_count} open stages; a clean pipeline has "
                    f"{MIN_OPEN_STAGES} to {MAX_OPEN_STAGES}.",
                    "warning",
                )
            )
    return Stages(result), problems


def _parse_row(
    table: Table, row: int, known: dict[str, str]
) -> tuple[Stage | None, Problem | None]:
    get = lambda column: table.get(column)[row]  # noqa: E731
    pipeline = norm(get("Pipeline"))
    name = text(get("Stage")).strip()
    if not pipeline and not name:
        return None, None

    def problem(column: str, message: str, level: str = "error") -> tuple[None, Problem]:
        return None, Problem(table.where(row, column), message, level)  # type: ignore[arg-type]

    if not name:
        return problem("Stage", "the row names no Stage; it is skipped")
    if not pipeline:
        return problem("Pipeline", f'stage "{name}" names no Pipeline tab; it is skipped')
    if pipeline not in known:
        return problem(
            "Pipeline",
            f'"{text(get("Pipeline"))}" is not a pipeline tab in sheetpipe.toml '
            f"({', '.join(known.values())}); the row is skipped",
            "warning",
        )
    numbers: dict[str, float | None] = {}
    for column in ("Order", "Min score", "Max days", "Win probability"):
        raw = get(column)
        numbers[column] = number(raw)
        if text(raw).strip() and numbers[column] is None:
            return problem(column, f'{column} "{text(raw)}" is not a number; the row is skipped')
    win = numbers["Win probability"]
    if win is not None and win > 1:
        win = win / 100  # "40" and "40%" both mean 0.4
    closed = norm(get("Closed")) or None
    if closed not in (None, "won", "lost"):
        return problem("Closed", f'Closed "{text(get("Closed"))}" must be won, lost or empty')
    order = numbers["Order"] if numbers["Order"] is not None else float(row)
    stage = Stage(
        row=row,
        pipeline=pipeline,
        name=name,
        order=order,
        min_score=numbers["Min score"],
        max_days=numbers["Max days"] if numbers["Max days"] else None,
        win_probability=win,
        playbook=parse_playbook(get("Playbook")),
        auto_advance=bool(yes(get("Auto advance"))),
        closed=closed,
    )
    return stage, None
