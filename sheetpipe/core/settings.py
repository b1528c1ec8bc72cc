"""The Settings tab: key/value rows with defaults, each bad value reported and replaced."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sheetpipe.core.cells import DATE_ORDERS, norm, number, text
from sheetpipe.core.table import Table
from sheetpipe.model import Problem

# name → (default, notes). The attribute name is the snake-cased setting name.
DEFAULTS: dict[str, tuple[object, str]] = {
    "MQL threshold": (30, "Score at which a lead becomes marketing-qualified."),
    "SQL threshold": (60, "Score at which a lead becomes sales-qualified (and can turn Hot)."),
    "Nurture below": (30, "Open deals scoring below this are marked Nurture."),
    "Stalled after days without contact": (14, "No contact for longer than this = Stalled."),
    "Dead after days without contact": (30, "No contact for longer than this = Dead."),
    "Dead after times max days": (2, "In a stage longer than Max days × this = Dead."),
    "At risk at share of max days": (0.75, "In a stage this share of Max days = At risk."),
    "Dead after days in pipeline": (180, "Open for longer than this since first seen = Dead."),
    "Dead after days without decision maker": (
        21,
        "'Decision maker reached' still No this long after entering the pipeline = Dead.",
    ),
    "Stalled after times stage average": (
        2,
        "In a stage longer than its History average × this = Stalled.",
    ),
    "Min samples for stage average": (5, "Finished stays in a stage before its average counts."),
    "Score min": (0, "Scores are clamped to this range."),
    "Score max": (100, "Scores are clamped to this range."),
    "Timezone": ("UTC", "IANA name, e.g. Europe/Berlin; days are counted in it."),
    "Date order": ("DMY", "How typed dates like 03/04/2026 read: DMY, MDY or YMD."),
    "Status heartbeat minutes": (60, "An idle daemon refreshes Status at most this often."),
}
TEXT_SETTINGS = {"Timezone", "Date order"}


def attr(name: str) -> str:
    return name.lower().replace(" ", "_")


@dataclass(frozen=True)
class Settings:
    """Typed settings. Defaults repeat DEFAULTS (a test keeps the two, and the template
    CSV, in step) so that each one reads as a plain attribute with its type."""

    mql_threshold: float = 30
    sql_threshold: float = 60
    nurture_below: float = 30
    stalled_after_days_without_contact: float = 14
    dead_after_days_without_contact: float = 30
    dead_after_times_max_days: float = 2
    at_risk_at_share_of_max_days: float = 0.75
    dead_after_days_in_pipeline: float = 180
    dead_after_days_without_decision_maker: float = 21
    stalled_after_times_stage_average: float = 2
    min_samples_for_stage_average: float = 5
    score_min: float = 0
    score_max: float = 100
    timezone: str = "UTC"
    date_order: str = "DMY"
    status_heartbeat_minutes: float = 60
    problems: list[Problem] = field(default_factory=list, compare=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def parse_settings(table: Table | None) -> Settings:
    if table is None:
        return Settings()
    values: dict[str, object] = {}
    problems: list[Problem] = list(table.problems)
    known = {norm(k): k for k in DEFAULTS}
    key_col = table.get("Setting")
    value_col = table.get("Value")
    for row, key_cell in key_col.items():
        key = norm(key_cell)
        if not key:
            continue
        where = table.where(row, "Value")
        name = known.get(key)
        if name is None:
            problems.append(
                Problem(
                    table.where(row, "Setting"),
                    f'"{text(key_cell)}" is not a setting sheetpipe knows; it is ignored. '
                    f"Known settings: {', '.join(DEFAULTS)}.",
                    "warning",
                )
            )
            continue
        raw = value_col[row]
        default = DEFAULTS[name][0]
        if text(raw).strip() == "":
            continue
        if name in TEXT_SETTINGS:
            value, problem = _text_setting(name, text(raw).strip(), where)
        else:
            value, problem = _number_setting(name, raw, where)
        if problem:
            problems.append(problem)
        values[attr(name)] = default if value is None else value
    settings = Settings(**values, problems=problems)  # type: ignore[arg-type]
    return _cross_check(settings, table)


def _number_setting(name: str, raw: object, where: str) -> tuple[float | None, Problem | None]:
    value = number(raw)
    default = DEFAULTS[name][0]
    if value is None:
        return None, Problem(where, f'{name} "{text(raw)}" is not a number; using {default}.')
    if value < 0 and name not in ("Score min",):
        return None, Problem(where, f"{name} {text(raw)} cannot be negative; using {default}.")
    return value, None


def _text_setting(name: str, raw: str, where: str) -> tuple[str | None, Problem | None]:
    if name == "Timezone":
        try:
            ZoneInfo(raw)
        except (ZoneInfoNotFoundError, ValueError):
            return None, Problem(
                where,
                f'Timezone "{raw}" is not a known time zone; using UTC. '
                "Use an IANA name such as Europe/Berlin or America/New_York.",
            )
        return raw, None
    order = raw.upper().replace("/", "").replace("-", "")
    if order not in DATE_ORDERS:
        return None, Problem(where, f'Date order "{raw}" must be one of DMY, MDY, YMD; using DMY.')
    return order, None


def _cross_check(settings: Settings, table: Table) -> Settings:
    where = f"{table.name} tab"
    if settings.score_min >= settings.score_max:
        settings.problems.append(
            Problem(where, "Score min must be below Score max; using 0 to 100.")
        )
        return Settings(
            **{**_fields(settings), "score_min": 0, "score_max": 100},
            problems=settings.problems,
        )
    if settings.mql_threshold > settings.sql_threshold:
        settings.problems.append(
            Problem(where, "MQL threshold is above SQL threshold; no lead will be MQL.", "warning")
        )
    return settings


def _fields(settings: Settings) -> dict[str, object]:
    return {k: getattr(settings, k) for k in settings.__dataclass_fields__ if k != "problems"}
