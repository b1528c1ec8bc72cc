"""Thin click commands over the library. Every error reaches the user as one line."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sheetpipe import __version__
from sheetpipe.backends import Backend, open_backend
from sheetpipe.config import DEFAULT_CONFIG, load_config, parse_duration
from sheetpipe.errors import SheetpipeError, storage_error

if TYPE_CHECKING:
    from sheetpipe.sync import CycleReport


class Failure(click.ClickException):
    def __init__(self, error: SheetpipeError):
        super().__init__(str(error))
        self.exit_code = error.exit_code


class Group(click.Group):
    """Turns any SheetpipeError into one `Error: …` line and its exit code.

    A file operation outside the backends (the config, init's and demo's files) that
    fails is one such line too, not a traceback.
    """

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SheetpipeError as error:
            raise Failure(error) from error
        except OSError as error:
            if error.filename is None:
                raise  # not a file's failure: a bug, and its traceback is the report
            doing = "reading" if isinstance(error, FileNotFoundError) else "writing"
            raise Failure(storage_error(error, Path(error.filename), doing)) from error


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
    from sheetpipe.demo import make_demo

    click.echo("\n".join(make_demo(folder, force, datetime.now(UTC)).lines()))


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
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
    help="The sheetpipe.toml to write [default: beside the workbook for --xlsx, "
    "./sheetpipe.toml for --google].",
)  # fmt: skip
def init(
    xlsx_path: Path | None, spreadsheet: str | None, credentials: Path | None,
    config_path: Path | None,
) -> None:  # fmt: skip
    """Lay out a sheet with every sheetpipe tab and write sheetpipe.toml.

    With --xlsx the workbook is created (sheetpipe.toml goes beside it); with --google
    the tabs are added to an existing Google spreadsheet (sheetpipe.toml goes in the
    current folder). On an existing sheet only missing tabs are added: no existing tab,
    header or value is changed. An existing sheetpipe.toml is left as it is.
    """
    from sheetpipe.setup import init_google, init_xlsx

    if (xlsx_path is None) == (spreadsheet is None):
        raise click.UsageError("give one of --xlsx PATH or --google SPREADSHEET")
    if xlsx_path is not None:
        result = init_xlsx(xlsx_path, config_path)
    else:
        result = init_google(str(spreadsheet), credentials, config_path or Path(DEFAULT_CONFIG))
    click.echo("\n".join(result.lines()))


@cli.command()
@config_option
@now_option
@click.option("--dry-run", is_flag=True, help="Print the planned changes; write nothing.")
def sync(config_path: Path, now: str | None, dry_run: bool) -> None:
    """Run one cycle: score, flag, track stages, add tasks, update Status."""
    from sheetpipe.render import render_changes

    report = _cycle(config_path, now, dry_run=dry_run)
    if dry_run:
        click.echo(render_changes(report.snapshot, report.plan.changes))
    _print_problems(report.plan.problems)
    click.echo(report.summary(dry_run))
    if report.delivery is not None:
        click.echo(report.delivery.line(), err=bool(report.delivery.error))


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
    from sheetpipe.daemon import run_daemon

    sys.exit(run_daemon(load_config(config_path), every, once=once))


@cli.command()
@config_option
@now_option
@click.option(
    "--smtp", is_flag=True, help="Also connect to the [smtp] server, say EHLO and log in."
)
def check(config_path: Path, now: str | None, smtp: bool) -> None:
    """Validate the config and the sheet; list every problem with its cell address.

    Exits 1 when there is an error (warnings alone exit 0). Writes nothing; sends nothing.
    """
    if smtp:
        from sheetpipe.mail import check_smtp

        config = load_config(config_path)
        if config.smtp is None:
            raise click.UsageError(f"{config_path} has no [smtp] section to check")
        click.echo(check_smtp(config.smtp))
    report = _cycle(config_path, now, dry_run=True)
    problems = report.plan.problems
    _print_problems(problems)
    errors = len(report.plan.errors)
    click.echo(
        f"{report.plan.deals} deals checked: {errors} errors, {len(problems) - errors} warnings."
    )
    if errors:
        sys.exit(1)


@cli.command()
@config_option
@click.option("--host", help="Address to listen on [default: [serve] host, 127.0.0.1].")
@click.option("--port", type=int, help="Port to listen on [default: [serve] port, 8787].")
def serve(config_path: Path, host: str | None, port: int | None) -> None:
    """Serve the lead form (GET/POST /form) and the webhook (POST /api/leads).

    Each submission is kept in the journal before it is acknowledged; the next sync or
    daemon cycle on this machine moves it into the [serve] tab exactly once.
    """
    import uvicorn

    from sheetpipe.web.journal import Journal
    from sheetpipe.web.serve import FormRules, make_app

    config = load_config(config_path)
    if config.serve is None:
        raise click.UsageError(f"{config_path} has no [serve] section (see the README)")
    s = config.serve
    rules = FormRules.of(s)  # reads the webhook's secret: missing, serve does not start
    # A journal it cannot write would lose what it acknowledges: refuse to start (one line).
    app = make_app(Journal(s.journal).open(), rules)
    # proxy_headers off: the app believes X-Forwarded-For from [serve] trusted_proxies only.
    uvicorn.run(app, host=host or s.host, port=port or s.port, log_level="info",
                proxy_headers=False)  # fmt: skip


@cli.command()
@click.argument("deal_id")
@config_option
@now_option
def explain(deal_id: str, config_path: Path, now: str | None) -> None:
    """Show how DEAL_ID's score adds up, rule by rule, and why its health is what it is."""
    from sheetpipe.explain import explain_deal

    report = _cycle(config_path, now, dry_run=True)
    click.echo("\n".join(explain_deal(report.plan, deal_id).lines()))


def _cycle(config_path: Path, now: str | None, *, dry_run: bool) -> CycleReport:
    """One cycle on the configured sheet; a dry run notes that a real one would wait."""
    from sheetpipe.sync import open_side_inputs, run_cycle

    config = load_config(config_path)
    backend = open_backend(config)
    side = open_side_inputs(config)
    report = run_cycle(backend, config.names, parse_now(now), dry_run=dry_run, side=side)
    if dry_run:
        _print_busy(backend)
    return report


def _print_problems(problems: list) -> None:
    for problem in problems:
        click.echo(f"{problem.level}: {problem}", err=True)


def _print_busy(backend: Backend) -> None:
    note = backend.busy()
    if note:
        click.echo(f"note: {note}", err=True)


def main() -> None:
    cli(prog_name="sheetpipe")
