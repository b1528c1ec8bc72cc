"""The Settings tab: key/value rows, each checked against a range that makes sense.

A value that is no number, or out of its range, is reported with its cell and replaced
by the default: a typo in Settings must never turn every deal Dead or make the daemon
write on every idle cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import phonenumbers

from sheetpipe.core.inputs.window import SendWindow, parse_days, parse_hours
from sheetpipe.core.sheet.cells import DATE_ORDERS, DECIMAL_SEPARATORS, norm, number, text, yes
from sheetpipe.core.sheet.table import Table, table_of
from sheetpipe.model import Problem, Row, Snapshot


@dataclass(frozen=True)
class Settings:
    """Typed settings with their defaults: the one place that names each default."""

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
    decimal_separator: str = "."
    status_heartbeat_minutes: float = 60
    phone_region: str = ""
    fallback_owner: str = ""
    post_sale_owner: str = "same"
    alert_on_new_lead: str = "Yes"
    alert_when_hot: str = "No"
    alert_when_stalled: str = "No"
    e_mails_per_day: float = 200
    send_days: str = "Mon-Fri"
    send_hours: str = "09:00-17:00"
    holidays_country: str = ""
    discount_code: str = ""
    review_day: str = "Monday"
    meeting_minutes: float = 45
    problems: list[Problem] = field(default_factory=list, compare=False)

    def switches(self) -> dict[str, bool]:
        """The e-mail alerts switched on, by attribute (core/tabs/outbox.py)."""
        names = ("alert_on_new_lead", "alert_when_hot", "alert_when_stalled")
        return {name: getattr(self, name) == "Yes" for name in names}

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def window(self) -> SendWindow:
        """When nurture e-mails may leave (each part checked when read)."""
        days = parse_days(self.send_days) or parse_days(Settings.send_days)
        start, end = parse_hours(self.send_hours) or parse_hours(Settings.send_hours)  # type: ignore[misc]
        return SendWindow(days, start, end, self.holidays_country)  # type: ignore[arg-type]

    def texts(self) -> dict[str, str]:
        """Each setting by its name in the tab, as text (what an e-mail template reads)."""
        return {spec.name: text(getattr(self, spec.attr)) for spec in SPECS}


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Spec:
    """One setting as the tab names it: the range a value must lie in, and its notes."""

    name: str
    notes: str
    low: float = 0
    high: float = 0
    above_low: bool = False  # the low end itself is excluded (a share of 0, 0 days)
    whole: bool = False
    # A text setting: one of these, or checked by its own rule (TEXT_CHECKS).
    choices: tuple[str, ...] = ()

    @property
    def attr(self) -> str:
        return self.name.lower().replace(" ", "_").replace("-", "_")

    @property
    def default(self) -> float | str:
        return getattr(Settings, self.attr)

    def range_text(self) -> str:
        low = f"above {self.low:g}" if self.above_low else f"from {self.low:g}"
        return f"{'a whole number' if self.whole else 'a number'} {low} to {self.high:g}"

    def accepts(self, value: float) -> bool:
        above = value > self.low if self.above_low else value >= self.low
        return above and value <= self.high and (not self.whole or value.is_integer())


YES_NO = ("Yes", "No")
_DAYS = 3650.0  # ten years: a longer limit in days is a typo
_SCORES = 1e6
SPECS: tuple[Spec, ...] = (
    Spec("MQL threshold", "Score at which a lead becomes marketing-qualified.",
         -_SCORES, _SCORES),
    Spec("SQL threshold", "Score at which a lead becomes sales-qualified (and can turn Hot).",
         -_SCORES, _SCORES),
    Spec("Nurture below", "Open deals scoring below this are marked Nurture.",
         -_SCORES, _SCORES),
    Spec("Stalled after days without contact", "No contact for longer than this = Stalled.",
         0, _DAYS, above_low=True),
    Spec("Dead after days without contact", "No contact for longer than this = Dead.",
         0, _DAYS, above_low=True),
    Spec("Dead after times max days", "In a stage longer than Max days × this = Dead.", 1, 100),
    Spec("At risk at share of max days", "In a stage this share of Max days = At risk.",
         0, 1, above_low=True),
    Spec("Dead after days in pipeline", "Open for longer than this since first seen = Dead.",
         0, 10 * _DAYS, above_low=True),
    Spec("Dead after days without decision maker",
         "'Decision maker reached' still No this long after entering the pipeline = Dead.",
         0, _DAYS, above_low=True),
    Spec("Stalled after times stage average",
         "In a stage longer than its History average × this = Stalled.", 1, 100),
    Spec("Min samples for stage average", "Finished stays in a stage before its average counts.",
         1, 1e6, whole=True),
    Spec("Score min", "Scores are clamped to this range.", -_SCORES, _SCORES),
    Spec("Score max", "Scores are clamped to this range.", -_SCORES, _SCORES),
    Spec("Timezone", "IANA name, e.g. Europe/Berlin; days are counted in it."),
    Spec("Date order", "How typed dates like 03/04/2026 read: DMY, MDY or YMD.",
         choices=DATE_ORDERS),
    Spec("Decimal separator", "How typed numbers read: . (12,000.50) or , (12.000,50).",
         choices=DECIMAL_SEPARATORS),
    Spec("Status heartbeat minutes", "An idle daemon refreshes Status at most this often.",
         1, 7 * 24 * 60),
    Spec("Phone region", "Country of phone numbers typed without +, e.g. GB, US, DE "
         "(for matching leads)."),
    Spec("Fallback owner", "Gets a new lead when nobody in Team can (empty: no owner)."),
    Spec("Post-sale owner", "Who owns a won deal's row in the next pipeline: same or "
         "round-robin.", choices=("same", "round-robin")),
    Spec("Alert on new lead", "E-mail the owner of each new or returning lead (needs [smtp] "
         "in sheetpipe.toml).", choices=YES_NO),
    Spec("Alert when Hot", "E-mail the owner when a deal turns Hot.", choices=YES_NO),
    Spec("Alert when Stalled", "E-mail the owner when a deal stalls.", choices=YES_NO),
    Spec("E-mails per day", "sheetpipe sends at most this many a day; the rest wait in Outbox.",
         1, 100_000, whole=True),
    Spec("Send days", "Nurture e-mails to leads leave on these days, e.g. Mon-Fri or Mon, "
         "Wed, Fri."),
    Spec("Send hours", "…and between these hours (sheet time zone), e.g. 09:00-17:00."),
    Spec("Holidays country", "Nor on this country's public holidays, e.g. GB, US, DE "
         "(empty: none)."),
    Spec("Discount code", "The code the New web lead sequence's second e-mail offers."),
    Spec("Review day", "The weekly pipeline review's day: the Review tab shows the week "
         "that ended as it began.", choices=WEEKDAYS),
    Spec("Meeting minutes", "How long the weekly review runs; the Review tab shares it out "
         "over its agenda.", 10, 240, whole=True),
)  # fmt: skip
BY_NAME = {norm(spec.name): spec for spec in SPECS}
# How a choice is typed: "d/m/y" is DMY, "mon" is Monday.
_CHOICE_FORMS = {
    "Review day": lambda raw: (
        next((d for d in WEEKDAYS if d.casefold().startswith(raw.strip().casefold()[:3])), raw)
        if len(raw.strip()) >= 3
        else raw
    ),  # fmt: skip
    "Date order": lambda raw: raw.upper().replace("/", "").replace("-", ""),
    "Post-sale owner": lambda raw: raw.casefold().replace(" ", "-"),
    **{
        name: lambda raw: {True: "Yes", False: "No"}.get(yes(raw), raw)
        for name in ("Alert on new lead", "Alert when Hot", "Alert when Stalled")
    },
}


def template_rows() -> list[Row]:
    """The Settings tab `init` lays out: every setting at its default, with its notes."""
    return [["Setting", "Value", "Notes"], *([s.name, s.default, s.notes] for s in SPECS)]


def settings_of(snapshot: Snapshot, name: str) -> Settings:
    """The Settings of a snapshot (a read of a few tabs, for delivery or the journal)."""
    return parse_settings(table_of(snapshot, name))


def parse_settings(table: Table | None) -> Settings:
    if table is None:
        return Settings()
    problems: list[Problem] = list(table.problems)
    cells = _setting_cells(table, problems)
    # Read first: the other numbers are typed in its convention.
    decimal = _read(BY_NAME["decimal separator"], cells, ".", problems)
    values = {
        spec.attr: _read(spec, cells, decimal, problems)
        for spec in SPECS
        if spec.attr != "decimal_separator"
    }
    settings = Settings(**values, decimal_separator=decimal, problems=problems)  # type: ignore[arg-type]
    addresses = {key: where for key, (_, where) in cells.items()}
    return _cross_check(settings, Addresses(table.name, addresses))


def _setting_cells(table: Table, problems: list[Problem]) -> dict[str, tuple[object, str]]:
    """Setting name → (its Value cell, that cell's address); first row wins."""
    found: dict[str, tuple[object, str]] = {}
    first_row: dict[str, int] = {}
    values = table.get("Value")
    for row, key_cell in table.get("Setting").items():
        key = norm(key_cell)
        if not key:
            continue
        where = table.where(row, "Setting")
        if key not in BY_NAME:
            problems.append(_unknown(key_cell, where))
        elif key in first_row:
            problems.append(
                Problem(
                    where,
                    f'"{BY_NAME[key].name}" is set again here; the value on row '
                    f"{first_row[key]} is used. Delete one of the two rows.",
                )
            )
        else:
            first_row[key] = row
            found[key] = (values[row], table.where(row, "Value"))
    return found


def _unknown(key_cell: object, where: str) -> Problem:
    return Problem(
        where,
        f'"{text(key_cell)}" is not a setting sheetpipe knows; it is ignored. '
        f"Known settings: {', '.join(s.name for s in SPECS)}.",
        "warning",
    )


def _read(
    spec: Spec, found: dict[str, tuple[object, str]], decimal: str, problems: list[Problem]
) -> float | str:
    raw, where = found.get(norm(spec.name), (None, ""))
    if text(raw).strip() == "":
        return spec.default
    value, message = _checked(spec, raw, decimal)
    if message:
        default = f'"{spec.default}"' if isinstance(spec.default, str) else spec.default
        problems.append(Problem(where, f"{message}; using {default}."))
        return spec.default
    return value  # type: ignore[return-value]


def _checked(spec: Spec, raw: object, decimal: str) -> tuple[float | str | None, str | None]:
    """The value, or what is wrong with it."""
    shown = text(raw).strip()
    if spec.name in TEXT_CHECKS:
        return TEXT_CHECKS[spec.name](shown)
    if spec.choices:
        value = _CHOICE_FORMS.get(spec.name, str)(shown)
        if value not in spec.choices:
            quoted = [f'"{choice}"' for choice in spec.choices]
            allowed = ", ".join(quoted[:-1]) + " or " + quoted[-1]
            return None, f'{spec.name} "{shown}" must be {allowed}'
        return value, None
    value = number(raw, decimal)
    if value is None:
        return None, f'{spec.name} "{shown}" is not a number'
    if not spec.accepts(value):
        return None, f"{spec.name} {shown} must be {spec.range_text()}"
    return value, None


def _timezone(name: str) -> tuple[str | None, str | None]:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None, (
            f'Timezone "{name}" is not a known time zone. '
            "Use an IANA name such as Europe/Berlin or America/New_York"
        )
    return name, None


def _phone_region(code: str) -> tuple[str | None, str | None]:
    if code.upper() not in phonenumbers.SUPPORTED_REGIONS:
        return None, (
            f'Phone region "{code}" is not a country code phone numbers know; use two '
            "letters such as GB, US or DE"
        )
    return code.upper(), None


def _send_days(raw: str) -> tuple[str | None, str | None]:
    if parse_days(raw) is None:
        return None, f'Send days "{raw}" is not days like Mon-Fri or Mon, Wed, Fri'
    return raw, None


def _send_hours(raw: str) -> tuple[str | None, str | None]:
    if parse_hours(raw) is None:
        return None, f'Send hours "{raw}" is not hours like 09:00-17:00'
    return raw, None


def _holidays_country(code: str) -> tuple[str | None, str | None]:
    if code.upper() not in holidays.list_supported_countries():
        return None, (
            f'Holidays country "{code}" is not a country whose holidays are known; use two '
            "letters such as GB, US or DE"
        )
    return code.upper(), None


TEXT_CHECKS = {
    "Timezone": _timezone,
    "Phone region": _phone_region,
    "Fallback owner": lambda name: (name, None),
    "Send days": _send_days,
    "Send hours": _send_hours,
    "Holidays country": _holidays_country,
    "Discount code": lambda code: (code, None),
}


@dataclass(frozen=True)
class Addresses:
    """Where each setting's Value cell is, so that a problem of two settings that do not
    fit together names a cell, as every other setting problem does."""

    tab: str
    by_name: dict[str, str]  # norm(setting name) → its Value cell, e.g. "Settings!B2"

    def of(self, *names: str) -> str:
        """The cell of the first of `names` the tab has a row for; else the tab (a setting
        left out is at its default, so the other one is the cell to change)."""
        found = (self.by_name.get(norm(name)) for name in names)
        return next((where for where in found if where), f"{self.tab} tab")


def _cross_check(settings: Settings, at: Addresses) -> Settings:
    """What each value alone cannot show: how they fit together."""
    problems = settings.problems
    if settings.score_min >= settings.score_max:
        where = at.of("Score min", "Score max")
        problems.append(Problem(where, "Score min must be below Score max; using 0 to 100."))
        settings = _replaced(settings, score_min=0, score_max=100)
    low, high = settings.score_min, settings.score_max
    for spec in SPECS[:3]:  # the thresholds: a score outside the range can never reach them
        value = getattr(settings, spec.attr)
        if not low <= value <= high:
            problems.append(
                Problem(
                    at.of(spec.name, "Score min", "Score max"),
                    f"{spec.name} {value:g} is outside the scores ({low:g} to {high:g}); "
                    f"using {spec.default}.",
                )
            )
            settings = _replaced(settings, **{spec.attr: spec.default})
    if settings.mql_threshold > settings.sql_threshold:
        problems.append(
            Problem(
                at.of("MQL threshold", "SQL threshold"),
                f"MQL threshold {settings.mql_threshold:g} is above SQL threshold "
                f"{settings.sql_threshold:g}; no lead will be MQL. Lower one or raise the other.",
                "warning",
            )
        )
    if settings.dead_after_days_without_contact <= settings.stalled_after_days_without_contact:
        problems.append(
            Problem(
                at.of("Dead after days without contact", "Stalled after days without contact"),
                "Dead after days without contact is not above Stalled after days without "
                "contact; quiet deals turn Dead without being Stalled first.",
                "warning",
            )
        )
    return settings


def _replaced(settings: Settings, **changes: object) -> Settings:
    values = {f.name: getattr(settings, f.name) for f in fields(settings)}
    return Settings(**{**values, **changes})  # type: ignore[arg-type]
