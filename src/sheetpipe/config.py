"""sheetpipe.toml → a validated Config. Every problem is reported at once."""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sheetpipe.core.contract import LEAD_HEADERS, IntakeTab, Names
from sheetpipe.errors import ConfigError

DEFAULT_CONFIG = "sheetpipe.toml"
BACKENDS = ("xlsx", "google")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.I)
_UNIT = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400}
# A key in these sections that is none of these is a typo: silently ignored, it would
# leave a setting its author believes in at its default.
SECTION_KEYS = {
    "sheet": ("backend", "path", "spreadsheet", "credentials", "api_endpoint"),
    "daemon": ("every",),
}
TAB_KEYS = (
    "weights", "stages", "settings", "team", "tasks", "history", "status", "lists", "today",
    "review", "outbox",
)  # fmt: skip


SMTP_KEYS = ("host", "port", "security", "user", "password_env", "password_file", "sender",
             "templates", "ca_file", "timeout")  # fmt: skip
SECURITY = {"starttls": 587, "ssl": 465, "none": 25}  # and each one's usual port
LOOPBACK = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class SmtpConfig:
    """[smtp]: the mail server alerts go through. The password is read when sending,
    from an environment variable or a file, never from sheetpipe.toml."""

    host: str
    port: int
    security: str  # starttls, ssl or none
    sender: str
    user: str = ""
    password_env: str = ""
    password_file: Path | None = None
    templates: Path | None = None  # a team's own templates, before the default ones
    ca_file: Path | None = None  # a private CA the server's certificate is signed by
    timeout: float = 30

    def describe(self) -> str:
        return f"SMTP {self.host}:{self.port}"


IMAP_KEYS = ("host", "port", "security", "user", "password_env", "password_file", "folder",
             "timeout")  # fmt: skip
IMAP_SECURITY = {"ssl": 993, "starttls": 143, "none": 143}


@dataclass(frozen=True)
class ImapConfig:
    """[imap]: the mailbox the leads' replies reach, read (never marked read) each cycle.
    The password is read when connecting, from an environment variable or a file."""

    host: str
    port: int
    security: str  # ssl, starttls or none
    user: str
    password_env: str = ""
    password_file: Path | None = None
    folder: str = "INBOX"
    timeout: float = 30

    def describe(self) -> str:
        return f"IMAP {self.user}@{self.host}:{self.port}"


SERVE_KEYS = ("tab", "journal", "host", "port", "min_seconds", "per_minute", "title",
              "trusted_proxies", "webhook_secret_env", "webhook_secret_file",
              "public_url")  # fmt: skip


@dataclass(frozen=True)
class ServeConfig:
    """[serve]: the web form, and the intake tab its submissions go to."""

    tab: str
    journal: Path
    host: str = "127.0.0.1"  # loopback: put a reverse proxy in front to publish it
    port: int = 8787
    min_seconds: float = 3.0
    per_minute: int = 5
    title: str = "Get in touch"
    # Whose X-Forwarded-For is believed: the default suits a proxy on this machine (the
    # README's nginx); a proxy on another host is named here. Anyone else could spoof it.
    trusted_proxies: tuple[str, ...] = ("127.0.0.1",)
    # The webhook's shared secret, read when `serve` starts: never in sheetpipe.toml.
    # Neither set: POST /api/leads takes posts from anyone (the form has its own token).
    webhook_secret_env: str = ""
    webhook_secret_file: Path | None = None
    # Where the world reaches `sheetpipe serve` (https://forms.example.com): the address
    # nurture e-mails' one-click unsubscribe links carry. Empty: a mailto link only.
    public_url: str = ""


@dataclass(frozen=True)
class Config:
    path: Path  # the config file itself
    backend: str = "xlsx"
    sheet_path: Path | None = None  # xlsx workbook, resolved against the config's folder
    spreadsheet: str = ""
    credentials: str = ""
    api_endpoint: str = ""  # only for tests against a local emulator
    every_seconds: float = 300
    names: Names = field(default_factory=Names)
    smtp: SmtpConfig | None = None
    serve: ServeConfig | None = None
    imap: ImapConfig | None = None

    @property
    def workbook(self) -> Path:
        assert self.sheet_path is not None
        return self.sheet_path


def unknown_keys(
    where: str, found: Iterable[str], known: Iterable[str], noun: str = "setting"
) -> list[str]:
    """A key a section does not have is a typo: silently ignored, it would leave a
    setting its author believes in at its default. The one check every section uses."""
    known = tuple(known)
    return [f"{where}{key} is not a {noun} sheetpipe knows ({', '.join(known)}); check its "
            "spelling" for key in found if key not in known]  # fmt: skip


def parse_duration(text: str) -> float:
    """'5m' → 300.0, '30s' → 30.0, '1h' → 3600.0. The unit is required.

    A bare number is refused rather than read as seconds: "every 5" most often means
    five minutes, and a daemon syncing every 5 seconds would spend a sheet's API quota.
    """
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f'"{text}" is not a duration like 30s, 5m or 1h')
    amount, unit = match.group(1), match.group(2).lower()
    if not unit:
        raise ValueError(
            f'"{text}" has no unit: write "{amount}m" for minutes or "{amount}s" for seconds '
            "(units: s, m, h)"
        )
    if unit not in _UNIT:
        raise ValueError(f'"{text}": the unit must be s, m or h, e.g. 30s, 5m or 1h')
    value = float(amount) * _UNIT[unit]
    if value <= 0:
        raise ValueError(f'"{text}" must be longer than zero')
    return value


INTAKE_KEYS = ("tab", "pipeline", "columns")


def parse_intakes(
    raw: object, pipelines: tuple[str, ...], taken: tuple[str, ...], problems: list[str]
) -> tuple:
    """[[intake]] tables: the tabs whose rows are leads to take in (none of the tabs
    sheetpipe already uses: `taken`)."""
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        problems.append('[[intake]] must be tables, each like tab = "Form Responses 1"')
        return ()
    found = []
    for n, table in enumerate(raw, start=1):
        where = f"[[intake]] number {n}"
        problems += unknown_keys(f"{where}: ", table, INTAKE_KEYS, "key")
        tab = table.get("tab")
        if not isinstance(tab, str) or not tab.strip():
            problems.append(f'{where}: tab is missing, e.g. tab = "Form Responses 1"')
            continue
        if tab.strip().casefold() in {t.casefold() for t in taken}:
            problems.append(
                f'{where}: tab = "{tab}" is a tab sheetpipe already uses as a pipeline or '
                "for its own rows; name the tab the leads arrive in"
            )
            continue
        pipeline = table.get("pipeline", pipelines[0])
        if not isinstance(pipeline, str) or pipeline.strip() not in pipelines:
            problems.append(f'{where}: pipeline = "{pipeline}" must be one of [tabs] pipelines '
                            f"({', '.join(pipelines)})")  # fmt: skip
            continue
        columns = table.get("columns", {})
        if not isinstance(columns, dict):
            problems.append(f'{where}: columns must be a table, e.g. "Name" = "Your name"')
            columns = {}
        for field_name, header in columns.items():
            if field_name not in LEAD_HEADERS:
                problems.append(f'{where}: columns "{field_name}" is not a lead field '
                                f"({', '.join(LEAD_HEADERS)})")  # fmt: skip
            elif not isinstance(header, str) or not header.strip():
                problems.append(f'{where}: columns "{field_name}" must name a column of {tab}')
        mapped = {k: v.strip() for k, v in columns.items() if isinstance(v, str) and v.strip()}
        found.append(IntakeTab(tab.strip(), pipeline.strip(), mapped))
    return tuple(found)


def load_config(path: str | Path) -> Config:
    path = Path(path)
    if not path.exists():
        raise ConfigError(
            f"{path} not found. Create one with `sheetpipe init --xlsx pipeline.xlsx` or "
            "`sheetpipe init --google URL` (or `sheetpipe demo`), or point to it with --config."
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}).") from exc
    return parse_config(data, path)


SECTIONS = ("sheet", "tabs", "columns", "daemon", "intake", "smtp", "serve", "imap")


def parse_config(data: dict, path: Path) -> Config:
    """sheetpipe.toml's tables as a Config; every problem found is said at once."""
    problems: list[str] = unknown_keys("", (f"[{k}]" for k in data),
                                       (f"[{k}]" for k in SECTIONS), "section")  # fmt: skip
    sheet, tabs, columns, daemon = (_section(data, n, problems) for n in SECTIONS[:4])
    for name, found in (("sheet", sheet), ("daemon", daemon)):
        problems += unknown_keys(f"[{name}] ", found, SECTION_KEYS[name])
    backend, sheet_path = _sheet(sheet, path, problems)
    names_kwargs = _names(tabs, columns, problems)
    named = Names(**names_kwargs)
    names_kwargs["intakes"] = parse_intakes(
        data.get("intake", []), named.pipelines, named.all_tabs(), problems
    )
    smtp = parse_smtp(data["smtp"], path.parent, problems) if "smtp" in data else None
    names_kwargs["mail"] = smtp is not None
    imap = parse_imap(data["imap"], path.parent, problems) if "imap" in data else None
    serve = None
    if "serve" in data:
        intakes = tuple(i.tab for i in names_kwargs["intakes"])
        serve = parse_serve(data["serve"], path.parent, intakes, problems)
    every = 300.0
    try:
        every = parse_duration(daemon.get("every", "5m"))
    except ValueError as exc:
        problems.append(f"[daemon] every: {exc}")
    if problems:
        listing = "\n".join(f"  - {path}: {p}" for p in problems)
        raise ConfigError(f"{path} has {len(problems)} problem(s):\n{listing}")
    return Config(
        path=path,
        backend=backend,
        sheet_path=sheet_path,
        spreadsheet=str(sheet.get("spreadsheet", "")),
        credentials=str(sheet.get("credentials", "")),
        api_endpoint=str(sheet.get("api_endpoint", "")),
        every_seconds=every,
        names=Names(**names_kwargs),
        smtp=smtp,
        serve=serve,
        imap=imap,
    )


def _section(data: dict, name: str, problems: list[str]) -> dict:
    value = data.get(name, {})
    if not isinstance(value, dict):
        problems.append(f"[{name}] must be a table of keys")
        return {}
    return value


def _sheet(sheet: dict, path: Path, problems: list[str]) -> tuple[str, Path | None]:
    """[sheet]: the backend, and the workbook's path for xlsx."""
    backend = str(sheet.get("backend", "xlsx"))
    if backend not in BACKENDS:
        problems.append(f'[sheet] backend = "{backend}" must be one of: {", ".join(BACKENDS)}')
    sheet_path = None
    if backend == "xlsx":
        raw = sheet.get("path")
        if not isinstance(raw, str) or not raw.strip():
            problems.append('[sheet] path is missing: the workbook, e.g. path = "pipeline.xlsx"')
        else:
            sheet_path = (path.parent / raw).resolve()
    if backend == "google" and not sheet.get("spreadsheet"):
        problems.append("[sheet] spreadsheet is missing: the spreadsheet's URL or key")
    return backend, sheet_path


def _names(tabs: dict, columns: dict, problems: list[str]) -> dict:
    """[tabs] and [columns]: the keyword arguments of Names."""
    names_kwargs: dict = {}
    pipelines = tabs.get("pipelines", list(Names().pipelines))
    if (
        not isinstance(pipelines, list)
        or not pipelines
        or not all(isinstance(p, str) and p.strip() for p in pipelines)
    ):
        problems.append('[tabs] pipelines must be a list of tab names, e.g. ["Deals"]')
    else:
        names_kwargs["pipelines"] = tuple(p.strip() for p in pipelines)
    problems += unknown_keys("[tabs] ", tabs, ("pipelines", *TAB_KEYS), "tab")
    for key in TAB_KEYS:
        if key in tabs:
            if isinstance(tabs[key], str) and tabs[key].strip():
                names_kwargs[key] = tabs[key].strip()
            else:
                problems.append(f"[tabs] {key} must be a tab name")
    renames = {}
    for contract, sheet_name in columns.items():
        if not isinstance(sheet_name, str) or not sheet_name.strip():
            problems.append(f'[columns] "{contract}" must name a column, e.g. "Opportunity"')
        else:
            renames[contract] = sheet_name.strip()
    names_kwargs["columns"] = renames
    return names_kwargs


def parse_serve(
    raw: object, folder: Path, intakes: tuple[str, ...], problems: list[str]
) -> ServeConfig | None:
    """[serve]: its tab must be one of the [[intake]] tabs (their rows become deals)."""
    if not isinstance(raw, dict):
        problems.append('[serve] must be a table of keys, e.g. tab = "Web leads"')
        return None
    before = len(problems)
    problems += unknown_keys("[serve] ", raw, SERVE_KEYS)
    tab = raw.get("tab", intakes[0] if intakes else "")
    if not intakes:
        problems.append('[serve] needs an [[intake]] tab for its submissions, e.g. tab = '
                        '"Web leads" in both')  # fmt: skip
    elif not isinstance(tab, str) or tab.strip().casefold() not in {t.casefold() for t in intakes}:
        problems.append(f'[serve] tab = "{tab}" must be one of the [[intake]] tabs '
                        f"({', '.join(intakes)})")  # fmt: skip
    numbers = {"port": (1, 65535), "min_seconds": (0, 3600), "per_minute": (1, 10_000)}
    for key, (low, high) in numbers.items():
        value = raw.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or not low <= value <= high):  # fmt: skip
            problems.append(f"[serve] {key} = {value!r} must be a number from {low} to {high}")
    proxies = _trusted_proxies(raw.get("trusted_proxies", list(ServeConfig.trusted_proxies)),
                               problems)  # fmt: skip
    secret = _webhook_secret_source(raw, folder, problems)
    url = raw.get("public_url", "")
    if url and (
        not isinstance(url, str)
        or not re.match(r"^https://[^/\s]+|^http://(127\.0\.0\.1|localhost)[:/]", url)
    ):
        problems.append(f'[serve] public_url = {url!r} must be the https:// address the world '
                        'reaches the form at, e.g. "https://forms.example.com"')  # fmt: skip
    if len(problems) > before:
        return None
    journal = raw.get("journal", "sheetpipe-journal.sqlite")
    kinds = {
        "host": str,
        "port": int,
        "min_seconds": float,
        "per_minute": int,
        "title": str,
        "public_url": lambda u: str(u).strip().rstrip("/"),
    }
    given = {key: kind(raw[key]) for key, kind in kinds.items() if key in raw}  # else defaults
    return ServeConfig(str(tab).strip(), (folder / str(journal)).resolve(), **given,
                       trusted_proxies=proxies, **secret)  # fmt: skip


def _trusted_proxies(raw: object, problems: list[str]) -> tuple[str, ...]:
    """[serve] trusted_proxies: addresses or networks (10.0.0.5, 10.0.0.0/24). A typo
    must not pass quietly: the proxy would not be believed, and all its visitors would
    share one rate limit. "*" is refused: anyone could then choose their own address."""
    example = 'e.g. trusted_proxies = ["10.0.0.5"]'
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        problems.append(f"[serve] trusted_proxies must be a list of addresses, {example}")
        return ()
    for item in raw:
        try:
            ipaddress.ip_network(item.strip(), strict=False)
        except ValueError:
            problems.append(f'[serve] trusted_proxies: "{item}" is not an IP address or '
                            f"network, {example}")  # fmt: skip
    return tuple(item.strip() for item in raw)


def _webhook_secret_source(raw: dict, folder: Path, problems: list[str]) -> dict:
    """Where the webhook's secret is kept: an environment variable or a file, one of them."""
    if "webhook_secret" in raw:
        problems.append(
            "[serve] webhook_secret: a secret does not belong in sheetpipe.toml; set "
            'webhook_secret_env = "SHEETPIPE_WEBHOOK_SECRET" or webhook_secret_file instead'
        )
    found = {}
    for key in ("webhook_secret_env", "webhook_secret_file"):
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            problems.append(f'[serve] {key} must be a name in quotes, e.g. {key} = '
                            f'"{SECRET_EXAMPLES[key]}"')  # fmt: skip
        elif value is not None:
            found[key] = value.strip()
    if len(found) == 2:
        problems.append("[serve] webhook_secret_env and webhook_secret_file: set one of them")
    if "webhook_secret_file" in found:
        found["webhook_secret_file"] = (folder / found["webhook_secret_file"]).resolve()
    return found


SECRET_EXAMPLES = {"webhook_secret_env": "SHEETPIPE_WEBHOOK_SECRET",
                   "webhook_secret_file": "webhook-secret"}  # fmt: skip


def parse_smtp(raw: object, folder: Path, problems: list[str]) -> SmtpConfig | None:
    """[smtp], every key checked; None when it is unusable (its problems listed)."""
    before = len(problems)
    text = _server_keys("smtp", raw, SMTP_KEYS, "smtp.example.com", problems)
    if text is None:
        return None
    assert isinstance(raw, dict)  # _server_keys says so
    for key in ("host", "sender"):
        if not text.get(key):
            problems.append(f'[smtp] {key} is missing, e.g. {key} = "{SMTP_EXAMPLES[key]}"')
    security, port = _security_and_port("smtp", raw, SECURITY, problems)
    seconds = SmtpConfig.timeout
    timeout = raw.get("timeout", f"{seconds:g}s")
    try:
        seconds = parse_duration(timeout) if isinstance(timeout, str) else float("nan")
    except ValueError as exc:
        problems.append(f"[smtp] timeout: {exc}")
    if seconds != seconds:
        problems.append('[smtp] timeout must be a duration like "30s"')
    if "password" in raw:
        problems.append(
            "[smtp] password: a password does not belong in sheetpipe.toml; set password_env "
            '= "SHEETPIPE_SMTP_PASSWORD" (an environment variable) or password_file instead'
        )
    user = text.get("user", "")
    if user and not (text.get("password_env") or text.get("password_file")):
        problems.append(
            "[smtp] user is set but not where its password is: password_env "
            '= "SHEETPIPE_SMTP_PASSWORD" or password_file = "smtp-password"'
        )
    if user and security == "none" and text.get("host", "") not in LOOPBACK:
        problems.append('[smtp] security = "none" would send the password unencrypted; use '
                        '"starttls" or "ssl"')  # fmt: skip
    if text.get("sender") and not _address(text["sender"]):
        problems.append(f'[smtp] sender = "{text["sender"]}" is not an e-mail address, e.g. '
                        f'sender = "{SMTP_EXAMPLES["sender"]}"')  # fmt: skip
    if len(problems) > before:
        return None

    def path(key: str) -> Path | None:
        return (folder / text[key]).resolve() if text.get(key) else None

    return SmtpConfig(text["host"], port, security, text["sender"], user,
                      text.get("password_env", ""), path("password_file"), path("templates"),
                      path("ca_file"), seconds)  # fmt: skip


def parse_imap(raw: object, folder: Path, problems: list[str]) -> ImapConfig | None:
    """[imap], every key checked; None when it is unusable (its problems listed)."""
    before = len(problems)
    text = _server_keys("imap", raw, IMAP_KEYS, "imap.example.com", problems)
    if text is None:
        return None
    assert isinstance(raw, dict)  # _server_keys says so
    for key, example in (("host", "imap.example.com"), ("user", "pipeline@example.com")):
        if not text.get(key):
            problems.append(f'[imap] {key} is missing, e.g. {key} = "{example}"')
    security, port = _security_and_port("imap", raw, IMAP_SECURITY, problems)
    if "password" in raw or not (text.get("password_env") or text.get("password_file")):
        problems.append('[imap] its password goes in an environment variable or a file, never '
                        'in sheetpipe.toml: password_env = "SHEETPIPE_IMAP_PASSWORD" or '
                        'password_file = "imap-password"')  # fmt: skip
    if security == "none" and text.get("host", "") not in LOOPBACK:
        problems.append('[imap] security = "none" would send the password unencrypted; use '
                        '"ssl" or "starttls"')  # fmt: skip
    if len(problems) > before:
        return None
    secret = (folder / text["password_file"]).resolve() if text.get("password_file") else None
    return ImapConfig(text["host"], port, security, text["user"], text.get("password_env", ""),
                      secret, text.get("folder", "INBOX"))  # fmt: skip


def _server_keys(
    section: str, raw: object, known: tuple[str, ...], host: str, problems: list[str]
) -> dict[str, str] | None:
    """A mail server's section, its unknown keys reported: its text values trimmed, or
    None when it is no table of keys."""
    if not isinstance(raw, dict):
        problems.append(f'[{section}] must be a table of keys, e.g. host = "{host}"')
        return None
    problems += unknown_keys(f"[{section}] ", raw, known)
    return {k: raw[k].strip() for k in known if isinstance(raw.get(k), str)}


def _security_and_port(
    section: str, raw: dict, ports: dict[str, int], problems: list[str]
) -> tuple[str, int]:
    """A mail server's security (the first of `ports` by default) and port (that
    security's usual one by default), each checked."""
    first = next(iter(ports))
    security = str(raw.get("security", first)).strip().lower()
    if security not in ports:
        choices = ", ".join(list(ports)[:-1]) + " or " + list(ports)[-1]
        problems.append(f'[{section}] security = "{security}" must be {choices}')
        security = first
    port = raw.get("port", ports[security])
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        problems.append(f"[{section}] port = {port!r} must be a port number, e.g. "
                        f"{ports[first]}")  # fmt: skip
        port = ports[security]
    return security, port


def _address(sender: str) -> bool:
    """Whether `sender` is an address, bare or with a name (syntax only, no DNS)."""
    from email.utils import parseaddr

    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(parseaddr(sender)[1], check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


SMTP_EXAMPLES = {"host": "smtp.example.com", "sender": "sheetpipe <pipeline@example.com>"}
