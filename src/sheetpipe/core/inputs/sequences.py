"""The Sequences and Sequence steps tabs: the nurture sequences managers write.

A sequence enrols a pipeline's deals as they enter a stage (optionally only those a
condition in the Weights rule language holds for) and mails them its steps, each after
its wait. A broken row is reported with its cell and its sequence is left out: a
sequence that is half understood must not mail prospects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sheetpipe.core.inputs.stages import Stages
from sheetpipe.core.inputs.weights import Rule, condition
from sheetpipe.core.inputs.window import Wait, parse_wait
from sheetpipe.core.sheet.cells import norm, number, text, yes
from sheetpipe.core.sheet.table import Table
from sheetpipe.model import Problem

SEQUENCES_COLUMNS = ("Sequence", "Pipeline", "Enrol at stage", "If field", "If rule",
                     "If value", "On reply", "Active")  # fmt: skip
STEPS_COLUMNS = ("Sequence", "Step", "Wait", "Subject", "Body")
ON_REPLY = ("task", "task and next stage")


@dataclass(frozen=True)
class Step:
    number: int
    wait: Wait
    subject: str
    body: str
    where: str  # its Subject cell, for a template's problems


@dataclass(frozen=True)
class Sequence:
    name: str
    pipeline: str  # the tab name, as config names it
    stage: str  # norm(stage name) it enrols at
    stage_name: str
    condition: Rule | None
    on_reply: str  # one of ON_REPLY
    steps: tuple[Step, ...]
    where: str  # its Sequence cell

    @property
    def key(self) -> str:
        return norm(self.name)


def parse_sequences(
    sequences: Table | None,
    steps: Table | None,
    pipelines: Iterable[str],
    stages: Stages,
    fields: Iterable[str],
    decimal: str = ".",
) -> tuple[list[Sequence], frozenset[str], list[Problem]]:
    """The active sequences, each with its steps in order; the keys of those a manager
    switched off (`Active` No: their enrolments end); what is wrong."""
    if sequences is None:
        return [], frozenset(), []
    problems = list(sequences.problems)
    by_sequence, found = _steps(steps)
    problems += found
    known = {norm(p): p for p in pipelines}
    out: list[Sequence] = []
    seen: set[str] = set()
    for row in sequences.index:
        sequence, problem = _sequence(sequences, row, known, stages, set(map(norm, fields)),
                                      decimal, by_sequence)  # fmt: skip
        if problem is not None:
            problems.append(problem)
        if sequence is None:
            continue
        if sequence.key in seen:
            problems.append(Problem(sequence.where, f'"{sequence.name}" is named twice; '
                                    "only the first row is used. Rename one."))  # fmt: skip
            continue
        seen.add(sequence.key)
        out.append(sequence)
    named = {norm(text(sequences.get("Sequence")[r])) for r in sequences.index}
    for key, rows in by_sequence.items():
        if key not in named:
            problems.append(Problem(rows[0].where, f'no sequence "{key}" in '
                                    f"{sequences.name}; these steps are never sent",
                                    "warning"))  # fmt: skip
    names = sequences.column("Sequence").norms()
    off = frozenset(names[sequences.column("Active").norms().isin(["no", "n", "false", "0"])])
    return out, frozenset(off - seen - {""}), problems


def _sequence(
    table: Table, row: int, pipelines: dict[str, str], stages: Stages, fields: set[str],
    decimal: str, steps: dict[str, list[Step]],
) -> tuple[Sequence | None, Problem | None]:  # fmt: skip
    def cell(column: str) -> str:
        return text(table.get(column)[row]).strip()

    def refused(column: str, message: str) -> tuple[None, Problem]:
        return None, Problem(
            table.where(row, column),
            f"{message}; this sequence sends nothing until it is fixed, and its enrolments wait.",
        )

    name = cell("Sequence")
    if not name or (cell("Active") and yes(cell("Active")) is False):
        return None, None  # an empty line, or switched off
    pipeline = pipelines.get(norm(cell("Pipeline")))
    if pipeline is None:
        return refused("Pipeline", f'"{cell("Pipeline")}" is not a pipeline tab of '
                       "sheetpipe.toml")  # fmt: skip
    stage = next((s for s in stages.of(pipeline) if norm(s.name) == norm(cell("Enrol at stage"))),
                 None)  # fmt: skip
    if stage is None:
        return refused("Enrol at stage", f'"{cell("Enrol at stage")}" is not a stage of '
                       f"{pipeline} in Stages")  # fmt: skip
    if stage.closed:
        return refused("Enrol at stage", f"{stage.name} is a closed stage: its deals are never "
                       "mailed")  # fmt: skip
    rule = None
    if cell("If field") or cell("If rule"):
        rule, message = condition(cell("If field"), cell("If rule"), cell("If value"), fields,
                                  decimal)  # fmt: skip
        if rule is None:
            return refused("If field", f"the condition cannot be read: {message}")
    on_reply = " ".join(cell("On reply").casefold().split()) or ON_REPLY[0]
    if on_reply not in ON_REPLY:
        return refused("On reply", f'"{cell("On reply")}" must be "task" or "task and next '
                       'stage"')  # fmt: skip
    mine = steps.get(norm(name), [])
    if not mine:
        return refused("Sequence", f'"{name}" has no steps in Sequence steps')
    where = table.where(row, "Sequence")
    return Sequence(name, pipeline, norm(stage.name), stage.name, rule, on_reply,
                    tuple(mine), where), None  # fmt: skip


def _steps(table: Table | None) -> tuple[dict[str, list[Step]], list[Problem]]:
    """Each sequence's steps in Step order; a broken step is reported and its whole
    sequence is left without steps (the later steps' waits count from it)."""
    if table is None:
        return {}, []
    problems = list(table.problems)
    found: dict[str, list[Step]] = {}
    broken: set[str] = set()
    for row in table.index:
        key = norm(text(table.get("Sequence")[row]))
        if not key:
            continue
        step, message, column = _step(table, row)
        if step is None:
            problems.append(Problem(table.where(row, column), f"{message}; this sequence "
                                    "sends nothing until it is fixed."))  # fmt: skip
            broken.add(key)
            continue
        found.setdefault(key, []).append(step)
    for key, steps in found.items():
        numbers = [s.number for s in steps]
        if len(set(numbers)) < len(numbers):
            twice = next(s for s in steps if numbers.count(s.number) > 1)
            problems.append(Problem(twice.where, f"step {twice.number} is written twice; this "
                                    "sequence sends nothing until it is fixed."))  # fmt: skip
            broken.add(key)
    return {k: sorted(v, key=lambda s: s.number) for k, v in found.items()
            if k not in broken}, problems  # fmt: skip


def _step(table: Table, row: int) -> tuple[Step | None, str, str]:
    def cell(column: str) -> str:
        return text(table.get(column)[row]).strip()

    number_ = number(table.get("Step")[row])
    if number_ is None or not number_.is_integer() or number_ < 1:
        return None, f'step "{cell("Step")}" is not a whole number from 1', "Step"
    wait = parse_wait(cell("Wait"))
    if wait is None:
        return None, f'wait "{cell("Wait")}" is not like 2 days, 3 business days or 4 hours', "Wait"
    if not cell("Subject"):
        return None, "the step has no Subject", "Subject"
    if not cell("Body"):
        return None, "the step has no Body", "Body"
    body = text(table.get("Body")[row])
    return Step(int(number_), wait, cell("Subject"), body, table.where(row, "Subject")), "", ""
