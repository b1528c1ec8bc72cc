"""The Stages tab → each pipeline's ordered stages, limits and playbooks."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sheetpipe.core.inputs.settings import Settings
from sheetpipe.core.sheet.cells import norm, number, text, yes
from sheetpipe.core.sheet.table import Table
from sheetpipe.model import Problem

_OFFSET = re.compile(r"\(\s*\+\s*(\d+)\s*(d|day|days|w|week|weeks)?\s*\)\s*$", re.I)
_OFFSET_LIKE = re.compile(r"\(\s*\+[^()]*\)\s*$")  # meant as a due offset, readable or not
MAX_DUE_DAYS = 3650  # ten years: a later due date is a typo (and past 2262, no date at all)
MAX_STAGE_DAYS = 3650
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
    exit_when: str | None = None  # "playbook done": moves on once its playbook is done
    next_pipeline: str | None = None  # a won stage's: the tab a won deal gets a row in


@dataclass
class Stages:
    by_pipeline: dict[str, list[Stage]] = field(default_factory=dict)  # sorted by order

    def of(self, pipeline: str) -> list[Stage]:
        return self.by_pipeline.get(norm(pipeline), [])

    def next_open(self, stage: Stage) -> Stage | None:
        later = [s for s in self.of(stage.pipeline) if s.order > stage.order and not s.closed]
        return later[0] if later else None


def parse_playbook(cell: object) -> tuple[tuple[Action, ...], list[str]]:
    """One action per line, each optionally ending in a due offset like (+2d) or (+1w).

    Returns the actions and what is wrong with any offset: an action whose offset cannot
    be read, or lies beyond ten years, is due the day the deal enters the stage.
    """
    actions, wrong = [], []
    for line in text(cell).splitlines():
        line = line.strip().lstrip("-•*").strip()
        if not line:
            continue
        days, line, problem = _due_offset(line)
        if problem:
            wrong.append(problem)
        actions.append(Action(line, days))
    return tuple(actions), wrong


def _due_offset(line: str) -> tuple[int, str, str | None]:
    """(due days, the action without its offset, what is wrong with the offset)."""
    match = _OFFSET.search(line)
    if match is None:
        odd = _OFFSET_LIKE.search(line)
        if odd is None:
            return 0, line, None
        return (
            0,
            line[: odd.start()].rstrip(),
            (
                f'due offset "{odd.group().strip()}" is not like (+2d) or (+1w); '
                "the action is due on the day the deal enters the stage"
            ),
        )
    weeks = (match.group(2) or "d")[0].lower() == "w"
    days = int(match.group(1)) * (7 if weeks else 1)
    line = line[: match.start()].rstrip()
    if days > MAX_DUE_DAYS:
        return (
            0,
            line,
            (
                f'due offset "{match.group().strip()}" is more than ten years; '
                "the action is due on the day the deal enters the stage"
            ),
        )
    return days, line, None


def parse_stages(
    table: Table | None, pipelines: Iterable[str], settings: Settings | None = None
) -> tuple[Stages, list[Problem]]:
    """Each pipeline's stages. A bad cell is reported and left out; its stage stays."""
    if table is None:
        return Stages(), []
    settings = settings or Settings()
    known = {norm(p): p for p in pipelines}
    problems = list(table.problems)
    result: dict[str, list[Stage]] = {key: [] for key in known}
    for row in table.index:
        stage = _parse_row(StageRow(table, row, settings, problems), known)
        if stage is not None:
            _add(stage, result.setdefault(stage.pipeline, []), table, known, problems)
    for key, stages in result.items():
        stages.sort(key=lambda s: (s.order, s.row))
        if key in known:
            _check_pipeline(known[key], stages, table, problems)
            _check_exits(stages, table, problems)
    return Stages(result), problems


def _add(
    stage: Stage, existing: list[Stage], table: Table, known: dict[str, str], problems: list
) -> None:
    twin = next((s for s in existing if norm(s.name) == norm(stage.name)), None)
    if twin is None:
        existing.append(stage)
        return
    problems.append(
        Problem(
            table.where(stage.row, "Stage"),
            f'stage "{stage.name}" is already defined on row {twin.row} for '
            f"{known.get(stage.pipeline, stage.pipeline)}; this row is skipped.",
        )
    )


def _check_pipeline(name: str, stages: list[Stage], table: Table, problems: list) -> None:
    open_count = sum(1 for s in stages if not s.closed)
    if not MIN_OPEN_STAGES <= open_count <= MAX_OPEN_STAGES:
        problems.append(
            Problem(
                f"{table.name} tab",
                f"{name} has {open_count} open stages; a clean pipeline has "
                f"{MIN_OPEN_STAGES} to {MAX_OPEN_STAGES}.",
                "warning",
            )
        )
    for before, after in zip(stages, stages[1:], strict=False):
        if before.order == after.order and table.has("Order"):
            problems.append(
                Problem(
                    table.where(after.row, "Order"),
                    f'Order {after.order:g} of "{after.name}" is also the Order of '
                    f'"{before.name}" (row {before.row}); the row higher up comes first. '
                    "Give each stage its own Order.",
                    "warning",
                )
            )


def _check_exits(stages: list[Stage], table: Table, problems: list) -> None:
    """`Exit when` on a stage it can do nothing for, said on its cell: a closed stage, a
    stage without a playbook, or the last open stage. That last one stays a person's move on
    purpose: ticking tasks does not win (or lose) a deal, so sheetpipe never closes one."""
    for stage in stages:
        if stage.exit_when is None:
            continue
        doing = f'Exit when "{stage.exit_when}" on {stage.name} does nothing: '
        if stage.closed:
            why = "a closed stage has no next stage. Empty the cell."
        elif not stage.playbook:
            why = "the stage has no Playbook, so it is never done. Write one, or empty the cell."
        elif _next_open(stage, stages) is None:
            why = (
                "no open stage comes after it, and sheetpipe never closes a deal as won or lost "
                "because its tasks are ticked: a person moves it. Empty the cell, or add the "
                "stage it should move to."
            )
        else:
            continue
        problems.append(Problem(table.where(stage.row, "Exit when"), doing + why, "warning"))


def _next_open(stage: Stage, stages: list[Stage]) -> Stage | None:
    return Stages({stage.pipeline: stages}).next_open(stage)


@dataclass
class StageRow:
    """One row of Stages being read: its cells, and where their problems go."""

    table: Table
    row: int
    settings: Settings
    problems: list[Problem]

    def cell(self, column: str) -> object:
        return self.table.get(column)[self.row]

    def report(self, column: str, message: str, level: str = "error") -> None:
        where = self.table.where(self.row, column)
        self.problems.append(Problem(where, message, level))  # type: ignore[arg-type]

    def number(self, column: str, low: float, high: float, meaning: str) -> float | None:
        """The cell's number when it lies in low..high; reported and None otherwise."""
        raw = self.cell(column)
        if not text(raw).strip():
            return None
        value = number(raw, self.settings.decimal_separator)
        if value is None or not low <= value <= high:
            self.report(column, f'{column} "{text(raw)}" must be {meaning}; it is left empty.')
            return None
        return value


def _parse_row(cells: StageRow, known: dict[str, str]) -> Stage | None:
    pipeline = norm(cells.cell("Pipeline"))
    name = text(cells.cell("Stage")).strip()
    if not pipeline and not name:
        return None
    if not name:
        cells.report("Stage", "the row names no Stage; it is skipped")
        return None
    if not pipeline:
        cells.report("Pipeline", f'stage "{name}" names no Pipeline tab; it is skipped')
        return None
    if pipeline not in known:
        cells.report(
            "Pipeline",
            f'"{text(cells.cell("Pipeline"))}" is not a pipeline tab in sheetpipe.toml '
            f"({', '.join(known.values())}); the row is skipped",
            "warning",
        )
        return None
    order = cells.number("Order", -1e9, 1e9, "a number")
    return Stage(
        row=cells.row,
        pipeline=pipeline,
        name=name,
        order=float(cells.row) if order is None else order,
        min_score=_min_score(cells),
        max_days=cells.number("Max days", 1, MAX_STAGE_DAYS, "a number of days from 1 to 3650"),
        win_probability=_win_probability(cells),
        playbook=_playbook(cells),
        auto_advance=_auto_advance(cells),
        closed=_closed(cells),
        exit_when=_exit_when(cells),
        next_pipeline=_next_pipeline(cells, known),
    )


def _min_score(cells: StageRow) -> float | None:
    low, high = cells.settings.score_min, cells.settings.score_max
    return cells.number("Min score", low, high, f"a score from {low:g} to {high:g}")


def _win_probability(cells: StageRow) -> float | None:
    raw = cells.cell("Win probability")
    value = number(raw, cells.settings.decimal_separator)
    if value is not None and value > 1:
        value /= 100  # "40" and "40%" both mean 0.4
    if text(raw).strip() and (value is None or not 0 <= value <= 1):
        cells.report(
            "Win probability",
            f'Win probability "{text(raw)}" must be from 0 to 100%; it is left empty.',
        )
        return None
    return value


def _playbook(cells: StageRow) -> tuple[Action, ...]:
    actions, wrong = parse_playbook(cells.cell("Playbook"))
    for message in wrong:
        cells.report("Playbook", message + ".", "warning")
    return actions


def _auto_advance(cells: StageRow) -> bool:
    raw = cells.cell("Auto advance")
    answer = yes(raw)
    if answer is None and text(raw).strip():
        cells.report("Auto advance", f'Auto advance "{text(raw)}" must be Yes or No; using No.')
    return bool(answer)


def _closed(cells: StageRow) -> str | None:
    closed = norm(cells.cell("Closed")) or None
    if closed not in (None, "won", "lost"):
        cells.report(
            "Closed",
            f'Closed "{text(cells.cell("Closed"))}" must be won, lost or empty; '
            "the stage is treated as open.",
        )
        return None
    return closed


EXIT_WHEN = ("playbook done",)


def _exit_when(cells: StageRow) -> str | None:
    raw = norm(cells.cell("Exit when")) or None
    if raw not in (None, *EXIT_WHEN):
        cells.report(
            "Exit when",
            f'Exit when "{text(cells.cell("Exit when"))}" must be playbook done or empty; '
            "the deal moves on only when a person moves it.",
        )
        return None
    return raw


NO_NEXT = ("none", "no", "-")


def _next_pipeline(cells: StageRow, known: dict[str, str]) -> str | None:
    """The pipeline a won deal gets a row in: as Stages says ("none": no row), else empty
    (the cycle then uses the next pipeline of sheetpipe.toml after this one)."""
    raw = norm(cells.cell("Next pipeline"))
    if not raw:
        return None
    if raw in NO_NEXT:
        return "none"
    if raw not in known:
        cells.report(
            "Next pipeline",
            f'Next pipeline "{text(cells.cell("Next pipeline"))}" is not a pipeline tab in '
            f"sheetpipe.toml ({', '.join(known.values())}); no row is made there. Write "
            "none to make none.",
        )
        return "none"
    return known[raw]
