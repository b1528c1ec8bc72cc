"""Thin click commands over the library. Every error reaches the user as one line."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import click

from sheetpipe import __version__
from sheetpipe.backends import Backend, open_backend
from sheetpipe.config import load_config, parse_duration
from sheetpipe.core.contract import Names
from sheetpipe.errors import SheetpipeError

DEFAULT_CONFIG = "sheetpipe.toml"


class Failure(click.ClickException):
    def __init__(self, error: SheetpipeError):
        super().__init__(str(error))
        self.exit_code = error.exit_code


class Group(click.Group):
    """Turns any SheetpipeError into one `Error: …` line and its exit code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SheetpipeError as error:
            raise Failure(error) from error


def parse_now(value: str | None) -> datetime:
    """--now: sheet-local YYYY-MM-DD[THH:MM]; without it, this moment (UTC, converted)."""
    if not value:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f'"{value}" is not YYYY-MM-DD or YYYY-MM-DDTHH:MM') from None
    return parsed


class Duration(click.ParamType):
    """--every: a duration with its unit (30s, 5m, 1h), in seconds."""

    name = "duration"

    def convert(
        self, value: str, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


config_option = click.option(
    "--config",
    "config_path",
    default=DEFAULT_CONFIG,
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The sheetpipe.toml to use.",
)
now_option = click.option(
    "--now",
    metavar="YYYY-MM-DD[THH:MM]",
    help="Evaluate as of this moment, in the sheet's time zone (what-if, backfills).",
)


@click.group(cls=Group)
@click.version_option(__version__, prog_name="sheetpipe")
@click.option("-v", "--verbose", is_flag=True, help="Log more detail.")
def cli(verbose: bool) -> None:
    """Keep a spreadsheet sales pipeline scored, flagged and followed up.

    Start with `sheetpipe demo`; for your own sheet, `sheetpipe init --xlsx pipeline.xlsx`
    or `sheetpipe init --google URL --credentials KEY.json`.
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )


@cli.command()
@click.argument("folder", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a demo workbook that is already there.")
def demo(folder: Path, force: bool) -> None:
    """Create a demo workbook and config in FOLDER, sync it once, and summarise.

    The sample deals are dated relative to today, so the workbook shows hot, stalled
    and dead deals, stage history and tasks straight away.
    """
    from sheetpipe.backends.xlsx import XlsxBackend
    from sheetpipe.demo import demo_tabs
    from sheetpipe.sync import run_cycle

    folder.mkdir(parents=True, exist_ok=True)
    workbook, config_file = folder / "pipeline.xlsx", folder / DEFAULT_CONFIG
    if workbook.exists() and not force:
        raise click.ClickException(
            f"{workbook} already exists; use --force to replace it, or give another folder."
        )
    if not config_file.exists() or force:
        config_file.write_text(_config_text("pipeline.xlsx"), encoding="utf-8")
    config = load_config(config_file)
    now = datetime.now(UTC)
    backend = XlsxBackend(config.workbook)
    if workbook.exists():
        workbook.unlink()
    backend.create(demo_tabs(date.today()))
    report = run_cycle(backend, config.names, now)
    plan = report.plan
    click.echo(f"Demo workbook: {config.workbook}")
    click.echo(f"Config:        {config_file.resolve()}")
    click.echo(
        f"{plan.deals} deals: " + ", ".join(f"{p.name} {len(p.desired)}" for p in plan.pipelines)
    )
    click.echo(
        f"Hot {plan.count('Hot')} · At risk {plan.count('At risk')} · "
        f"Stalled {plan.count('Stalled')} · Dead {plan.count('Dead')} · "
        f"Won {plan.count('Won')} · Lost {plan.count('Lost')}"
    )
    click.echo(
        f"Tasks added: {plan.tasks_added} · History rows added: {plan.history_added} · "
        f"Problems: {len(plan.problems)}"
    )
    click.echo(
        "Open the workbook in Excel or LibreOffice. Then, in that folder: "
        "`sheetpipe sync` to sync again, `sheetpipe run` to keep it in sync."
    )


@cli.command()
@click.option(
    "--xlsx", "xlsx_path", type=click.Path(dir_okay=False, path_type=Path),
    help="The workbook to create, or to complete with the tabs it lacks.",
)  # fmt: skip
@click.option(
    "--google", "spreadsheet", metavar="URL_OR_KEY",
    help="An existing Google spreadsheet (shared with the service account) to complete.",
)  # fmt: skip
@click.option(
    "--credentials", type=click.Path(dir_okay=False, path_type=Path),
    help="The service account's JSON key, for --google [default: GOOGLE_APPLICATION_CREDENTIALS, "
    "else ~/.config/gspread/service_account.json].",
)  # fmt: skip
@config_option
def init(
    xlsx_path: Path | None, spreadsheet: str | None, credentials: Path | None, config_path: Path
) -> None:
    """Lay out a sheet with every sheetpipe tab and write sheetpipe.toml.

    With --xlsx the workbook is created (sheetpipe.toml goes beside it); with --google
    the tabs are added to an existing Google spreadsheet (sheetpipe.toml goes in the
    current folder). On an existing sheet only missing tabs are added: no existing tab,
    header or value is changed. An existing sheetpipe.toml is left as it is.
    """
    from sheetpipe.layout import init_sheet

    if (xlsx_path is None) == (spreadsheet is None):
        raise click.UsageError("give one of --xlsx PATH or --google SPREADSHEET")
    if xlsx_path is not None:
        from sheetpipe.backends.xlsx import XlsxBackend

        if config_path == Path(DEFAULT_CONFIG):
            config_path = xlsx_path.parent / DEFAULT_CONFIG
        text = _config_text(_relative(xlsx_path, config_path.parent))
        names = _config_names(config_path, text)
        backend: Backend = XlsxBackend(xlsx_path)
    else:
        from sheetpipe.backends.google import GoogleBackend
        from sheetpipe.backends.google_auth import find_key

        assert spreadsheet is not None
        key = find_key(str(credentials or ""), Path.cwd())
        shown = _relative(credentials, config_path.parent) if credentials else ""
        names = _config_names(config_path, _google_config_text(spreadsheet, shown))
        backend = GoogleBackend(spreadsheet, key)
    where = backend.describe() if spreadsheet else str(xlsx_path)
    added = init_sheet(backend, names)
    if added:
        click.echo(f"Added to {backend.describe() if spreadsheet else where}: {', '.join(added)}.")
    else:
        click.echo(f"{where} already has every tab; nothing changed.")
    click.echo("Next: add deals to the pipeline tabs, then run `sheetpipe sync`.")


def _config_names(config_path: Path, text: str) -> Names:
    """Use an existing config's tab names, or write `text` as the new config."""
    if config_path.exists():
        click.echo(f"Using the existing {config_path}.")
        return load_config(config_path).names
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {config_path}.")
    return load_config(config_path).names


def _google_config_text(spreadsheet: str, credentials: str) -> str:
    from sheetpipe.layout import template_text

    lines = [
        'backend = "google"',
        f"spreadsheet = {_toml_string(spreadsheet)}",
    ]
    if credentials:
        lines.append(f"credentials = {_toml_string(credentials)}   # the service account's key")
    else:
        lines.append(
            '# credentials = "service-account.json"  # else GOOGLE_APPLICATION_CREDENTIALS'
        )
    text = template_text("sheetpipe.toml")
    old = text[text.index("backend = ") : text.index("\n", text.index("path = ")) + 1]
    return text.replace(old, "\n".join(lines) + "\n")


@cli.command()
@config_option
@now_option
@click.option("--dry-run", is_flag=True, help="Print the planned changes; write nothing.")
def sync(config_path: Path, now: str | None, dry_run: bool) -> None:
    """Run one cycle: score, flag, track stages, add tasks, update Status."""
    from sheetpipe.sync import render_changes, run_cycle

    config = load_config(config_path)
    backend = open_backend(config)
    report = run_cycle(backend, config.names, parse_now(now), dry_run=dry_run)
    if dry_run:
        click.echo(render_changes(report.snapshot, report.plan.changes))
        _print_busy(backend)
    _print_problems(report.plan.problems)
    click.echo(report.summary(dry_run))


@cli.command()
@config_option
@click.option(
    "--every", type=Duration(), help="How often to sync, e.g. 30s, 5m, 1h [default: from config]."
)
@click.option("--once", is_flag=True, help="Run one cycle and exit (for cron).")
def run(config_path: Path, every: float | None, once: bool) -> None:
    """Run the daemon: sync on a schedule until SIGTERM or Ctrl-C.

    A failing cycle is logged and retried with growing delays; it never stops the
    daemon. A stop signal lets the running cycle finish, then exits 0.
    """
    from sheetpipe.daemon import Daemon
    from sheetpipe.sync import run_cycle

    config = load_config(config_path)
    seconds = every or config.every_seconds
    backend = open_backend(config)
    if once:
        report = run_cycle(backend, config.names, datetime.now(UTC))
        logging.getLogger("sheetpipe").info("cycle ok: %s", report.line())
        return

    def cycle(next_run: str) -> str:
        return run_cycle(backend, config.names, datetime.now(UTC), next_run=next_run).line()

    with backend.hold():  # one daemon per sheet: a second one stops here, with exit 75
        logging.getLogger("sheetpipe").info(
            "sheetpipe %s: syncing %s every %gs", __version__, backend.describe(), seconds
        )
        code = Daemon(cycle, seconds).run()
    sys.exit(code)


@cli.command()
@config_option
@now_option
def check(config_path: Path, now: str | None) -> None:
    """Validate the config and the sheet; list every problem with its cell address.

    Exits 1 when there is an error (warnings alone exit 0). Writes nothing.
    """
    from sheetpipe.sync import run_cycle

    config = load_config(config_path)
    backend = open_backend(config)
    report = run_cycle(backend, config.names, parse_now(now), dry_run=True)
    problems = report.plan.problems
    _print_problems(problems)
    _print_busy(backend)
    errors = len(report.plan.errors)
    click.echo(
        f"{report.plan.deals} deals checked: {errors} errors, {len(problems) - errors} warnings."
    )
    if errors:
        sys.exit(1)


@cli.command()
@click.argument("deal_id")
@config_option
@now_option
def explain(deal_id: str, config_path: Path, now: str | None) -> None:
    """Show how DEAL_ID's score adds up, rule by rule, and why its health is what it is."""
    from sheetpipe.explain import explain_deal
    from sheetpipe.sync import run_cycle

    config = load_config(config_path)
    backend = open_backend(config)
    report = run_cycle(backend, config.names, parse_now(now), dry_run=True)
    _print_busy(backend)
    click.echo("\n".join(explain_deal(report.plan, deal_id).lines()))


def _print_problems(problems: list) -> None:
    for problem in problems:
        click.echo(f"{problem.level}: {problem}", err=True)


def _print_busy(backend: Backend) -> None:
    note = backend.busy()
    if note:
        click.echo(f"note: {note}", err=True)


def _relative(path: Path, folder: Path) -> str:
    try:
        return str(path.resolve().relative_to(folder.resolve()))
    except ValueError:
        return str(path.resolve())


def _config_text(workbook: str) -> str:
    from sheetpipe.layout import template_text

    return template_text("sheetpipe.toml").replace(
        'path = "pipeline.xlsx"', f"path = {_toml_string(workbook)}"
    )


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main() -> None:
    cli(prog_name="sheetpipe")
