"""The commands as a user runs them, on real workbooks in a temporary folder."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import openpyxl
import pytest
from click.testing import CliRunner

from sheetpipe.cli import cli

from .helpers import tabs, write_config, write_workbook

ROOT = Path(__file__).resolve().parent.parent


def invoke(*args, cwd: Path | None = None):
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(cli, list(args), catch_exceptions=False)
    import os

    old = os.getcwd()
    os.chdir(cwd)
    try:
        return runner.invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


def rows(path: Path, sheet: str) -> list[dict]:
    ws = openpyxl.load_workbook(path)[sheet]
    values = list(ws.iter_rows(values_only=True))
    return [dict(zip(values[0], r, strict=False)) for r in values[1:]]


def test_demo_makes_a_workbook_that_shows_every_health(tmp_path):
    result = invoke("demo", str(tmp_path / "demo"))
    assert result.exit_code == 0, result.output
    workbook = tmp_path / "demo" / "pipeline.xlsx"
    assert f"Demo workbook: {workbook.resolve()}" in result.output
    summary = re.search(r"Hot (\d+) · At risk (\d+) · Stalled (\d+) · Dead (\d+)", result.output)
    assert summary and all(int(n) > 0 for n in summary.groups())
    deals = rows(workbook, "Deals")
    assert len(deals) == 48 + 3  # three of the web form's leads are new deals
    leads = rows(workbook, "Web leads")
    assert [lead["Intake status"].split(" (")[0] for lead in leads] == [
        "Created D-0049 for Ana Ruiz",
        "Created D-0050 for Ben Okafor",
        "Merged into D-0003",
        "Created D-0051 for Chloe Martin",
        'Rejected: the e-mail "mia@" is not valid: There must be something after the '
        "@-sign. Correct the response and sheetpipe takes it again.",
    ]
    assert "Dev Patel" not in {d["Owner"] for d in deals[48:]}  # away this week
    assert {d["Health"] for d in deals} == {
        "Hot",
        "OK",
        "At risk",
        "Stalled",
        "Dead",
        "Won",
        "Lost",
    }
    assert all(isinstance(d["Score"], int) and d["In stage since"] for d in deals)
    stalled = next(d for d in deals if d["Health"] == "Stalled")
    assert stalled["Why"]
    tasks = rows(workbook, "Tasks")
    assert {t["Kind"] for t in tasks} >= {"playbook", "stalled", "dead", "hot"}
    assert len(rows(workbook, "History")) > 48
    # The demo leaves a working setup: syncing again changes nothing.
    again = invoke("sync", "--config", str(tmp_path / "demo" / "sheetpipe.toml"))
    assert again.exit_code == 0 and "cells=0 tasks=0" in again.output


def test_demo_does_not_overwrite_without_force(tmp_path):
    assert invoke("demo", str(tmp_path)).exit_code == 0
    second = invoke("demo", str(tmp_path))
    assert second.exit_code == 1 and "already exists; use --force" in second.output
    assert invoke("demo", str(tmp_path), "--force").exit_code == 0


def test_init_lays_out_every_tab_and_a_config(tmp_path):
    workbook = tmp_path / "team" / "pipeline.xlsx"
    result = invoke("init", "--xlsx", str(workbook))
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(workbook)
    assert wb.sheetnames == [
        "Deals",
        "Customers",
        "Weights",
        "Stages",
        "Settings",
        "Team",
        "Tasks",
        "History",
        "Status",
        "Sequences",
        "Sequence steps",
    ]
    assert [c.value for c in wb["Settings"]["A"]][1:3] == ["MQL threshold", "SQL threshold"]
    assert wb["Settings"]["B2"].value == 30  # a number a manager can edit, not text
    config = (tmp_path / "team" / "sheetpipe.toml").read_text()
    assert 'path = "pipeline.xlsx"' in config
    sync = invoke("sync", "--config", str(tmp_path / "team" / "sheetpipe.toml"))
    assert sync.exit_code == 0, sync.output


def test_init_on_an_existing_workbook_only_adds_what_is_missing(tmp_path):
    workbook = tmp_path / "pipeline.xlsx"
    own = {
        "Deals": [["Deal", "Stage", "My column"], ["Acme", "Contact", "keep me"]],
        "Weights": [["Field", "Rule", "Value", "Points"], ["Stage", "is", "Contact", 99]],
    }
    write_workbook(workbook, own)
    result = invoke("init", "--xlsx", str(workbook))
    assert result.exit_code == 0, result.output
    assert (
        "Added to" in result.output
        and "Weights" not in result.output.split("Added to")[1].split("\n")[0]
    )
    wb = openpyxl.load_workbook(workbook)
    assert [list(r) for r in wb["Deals"].iter_rows(values_only=True)] == own["Deals"]
    assert [list(r) for r in wb["Weights"].iter_rows(values_only=True)] == own["Weights"]
    assert {"Stages", "Settings", "Tasks", "History", "Status", "Customers"} <= set(wb.sheetnames)
    again = invoke("init", "--xlsx", str(workbook))
    assert "already has every tab; nothing changed" in again.output


def test_sync_dry_run_prints_changes_and_writes_nothing(tmp_path):
    workbook = write_workbook(
        tmp_path / "pipeline.xlsx", tabs([{"Deal": "Acme", "Stage": "Discovery"}])
    )
    config = write_config(tmp_path)
    before = workbook.read_bytes()
    result = invoke("sync", "--dry-run", "--config", str(config), "--now", "2026-03-10T09:00")
    assert result.exit_code == 0, result.output
    assert "+ column Deals!Q1 ID" in result.output
    assert "~ Deals!Q2 ID: '' → 'D-0001'" in result.output
    assert (
        "+ History row 2: 2026-03-10 09:00 | D-0001 | Acme | Deals |  | Discovery |  |  | "
        "sheetpipe" in result.output
    )
    assert result.output.strip().splitlines()[-1].startswith("Dry run: would change deals=1")
    assert workbook.read_bytes() == before


def test_sync_now_evaluates_as_of_another_day(tmp_path):
    workbook = write_workbook(
        tmp_path / "pipeline.xlsx", tabs([{"Deal": "Acme", "Stage": "Discovery"}])
    )
    config = write_config(tmp_path)
    assert invoke("sync", "--config", str(config), "--now", "2026-03-01").exit_code == 0
    assert invoke("sync", "--config", str(config), "--now", "2026-03-12").exit_code == 0
    deal = rows(workbook, "Deals")[0]
    assert (deal["Days in stage"], deal["Health"]) == (11, "Stalled")
    bad = invoke("sync", "--config", str(config), "--now", "yesterday")
    assert bad.exit_code == 2 and "is not YYYY-MM-DD" in bad.output


def test_check_lists_problems_and_fails_on_errors(tmp_path):
    write_workbook(
        tmp_path / "pipeline.xlsx",
        tabs([{"Deal": "Acme", "Stage": "Propsal"}], weights=[["Value", ">", "lots", 5, "", ""]]),
    )
    config = write_config(tmp_path)
    result = invoke("check", "--config", str(config))
    assert result.exit_code == 1
    assert 'error: Weights!C2: value "lots" is not a number' in result.output
    assert 'error: Deals!B2: stage "Propsal" is not a Deals stage' in result.output
    assert "1 deals checked: 2 errors, 0 warnings." in result.output
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    write_workbook(clean_dir / "pipeline.xlsx", tabs([{"Deal": "Acme", "Stage": "Proposal"}]))
    assert invoke("check", "--config", str(write_config(clean_dir))).exit_code == 0


def test_a_bad_config_lists_every_problem_in_one_message(tmp_path):
    config = tmp_path / "sheetpipe.toml"
    config.write_text(
        '[sheet]\nbackend = "excel"\n[daemon]\nevery = "often"\n[tabs]\npipelines = []\n'
    )
    result = invoke("sync", "--config", str(config))
    assert result.exit_code == 2
    assert "has 3 problem(s)" in result.output
    assert '[sheet] backend = "excel" must be one of: xlsx, google' in result.output
    assert '[daemon] every: "often" is not a duration like 30s, 5m or 1h' in result.output
    assert "[tabs] pipelines must be a list of tab names" in result.output
    missing = invoke("sync", "--config", str(tmp_path / "nope.toml"))
    assert missing.exit_code == 2 and "not found. Create one with `sheetpipe init" in missing.output


def test_an_open_workbook_skips_with_exit_75(tmp_path):
    write_workbook(tmp_path / "pipeline.xlsx", tabs([{"Deal": "Acme", "Stage": "Discovery"}]))
    (tmp_path / ".~lock.pipeline.xlsx#").write_text("x")
    result = invoke("sync", "--config", str(write_config(tmp_path)))
    assert result.exit_code == 75 and "is open in Excel or LibreOffice" in result.output


def test_run_once_and_explain(tmp_path):
    write_workbook(
        tmp_path / "pipeline.xlsx",
        tabs([{"Deal": "Acme", "Stage": "Discovery", "Source": "Referral", "Budget": "Yes"}]),
    )
    config = write_config(tmp_path)
    assert invoke("run", "--once", "--config", str(config)).exit_code == 0
    result = invoke("explain", "D-0001", "--config", str(config))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "D-0001 Acme (Deals row 2, Discovery)"
    assert "  +15  Source is Referral  (Weights row 7)" in lines
    assert "  +15  Budget is yes  (Weights row 10)" in lines
    assert "  = score 30 → MQL" in lines
    assert invoke("explain", "D-0099", "--config", str(config)).exit_code == 1


COMMANDS = sorted(cli.commands)


def documented(readme: str, option: click.Option) -> bool:
    return any(re.search(rf"`[^`]*{re.escape(opt)}\b[^`]*`", readme) for opt in option.opts)


def test_the_group_and_its_options_have_help():
    assert cli.help and len(cli.help) > 20
    for param in cli.params:
        assert isinstance(param, click.Option) and param.help, f"sheetpipe {param.opts} has no help"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_and_option_has_help(name):
    command = cli.commands[name]
    assert command.help and len(command.help) > 20, f"sheetpipe {name} has no help"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"sheetpipe {name} {'/'.join(param.opts)} has no help"
        else:  # click arguments take no help text: the command's help must name them
            assert param.human_readable_name in command.help, (name, param.name)
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0 and result.output.startswith("Usage: ")


@pytest.mark.parametrize("name", COMMANDS)
def test_the_readme_documents_every_command_and_option(name):
    readme = (ROOT / "README.md").read_text()
    assert f"sheetpipe {name}" in readme, f"README does not document `sheetpipe {name}`"
    for param in cli.commands[name].params:
        if isinstance(param, click.Option):
            assert documented(readme, param), f"README does not mention `{name} {param.opts[0]}`"


@pytest.mark.parametrize("entry", [["sheetpipe"], [sys.executable, "-m", "sheetpipe"]])
def test_installed_entry_points(entry, tmp_path):
    import shutil

    if entry[0] == "sheetpipe":
        found = shutil.which("sheetpipe") or str(Path(sys.executable).with_name("sheetpipe"))
        entry = [found]
    result = subprocess.run([*entry, "--version"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("sheetpipe, version ")


def test_a_google_sheet_without_a_key_file_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no gspread default key either
    config = tmp_path / "sheetpipe.toml"
    config.write_text('[sheet]\nbackend = "google"\nspreadsheet = "abc"\n')
    result = invoke("sync", "--config", str(config))
    assert result.exit_code == 2
    assert result.output.startswith("Error: gspread's default key location: no key file at ")
    assert "set [sheet] credentials to its path" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("lock_name", ["~$pipeline.xlsx", ".~lock.pipeline.xlsx#"])
def test_read_only_commands_work_while_the_workbook_is_open(tmp_path, lock_name):
    workbook = write_workbook(
        tmp_path / "pipeline.xlsx", tabs([{"Deal": "Acme", "Stage": "Discovery"}])
    )
    config = str(write_config(tmp_path))
    invoke("sync", "--config", config)
    (tmp_path / lock_name).write_text("someone")
    before = workbook.read_bytes()
    for args in (["check"], ["explain", "D-0001"], ["sync", "--dry-run"]):
        result = invoke(*args, "--config", config)
        assert result.exit_code == 0, (args, result.output)
        assert "is open in Excel or LibreOffice" in result.output
        assert "a real sync waits until it is closed" in result.output
    # A day later there is something to write: the real sync waits for the workbook.
    later = invoke("sync", "--now", "2026-12-31", "--config", config)
    assert later.exit_code == 75 and "this cycle is skipped" in later.output
    assert workbook.read_bytes() == before


def test_a_second_daemon_on_the_same_workbook_is_refused_at_start(tmp_path):
    write_workbook(tmp_path / "pipeline.xlsx", tabs([{"Deal": "Acme", "Stage": "Discovery"}]))
    config = str(write_config(tmp_path))
    command = [sys.executable, "-m", "sheetpipe", "run", "--every", "1s", "--config", config]
    first = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        while "cycle ok" not in first.stderr.readline():
            assert first.poll() is None, "the first daemon stopped"
        # Between its cycles the first daemon still holds the workbook.
        second = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert second.returncode == 75
        errors = [line for line in second.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and "another sheetpipe is already working on" in errors[0]
        assert first.poll() is None
    finally:
        first.terminate()
        first.communicate(timeout=30)
    assert first.returncode == 0


def test_a_duration_without_a_unit_is_refused_with_what_to_write(tmp_path):
    write_workbook(tmp_path / "pipeline.xlsx", tabs([{"Deal": "Acme", "Stage": "Discovery"}]))
    config = write_config(tmp_path)
    bare = invoke("run", "--every", "5", "--once", "--config", str(config))
    assert bare.exit_code == 2
    assert (
        'Invalid value for \'--every\': "5" has no unit: write "5m" for minutes or "5s" for seconds (units: s, m, h)'
        in bare.output
    )
    assert invoke("run", "--every", "5m", "--once", "--config", str(config)).exit_code == 0
    for every in ('"5"', "5"):  # a string or a TOML number, alike
        write_config(tmp_path, extra=f"[daemon]\nevery = {every}\n")
        result = invoke("sync", "--config", str(config))
        assert result.exit_code == 2, result.output
        assert (
            '[daemon] every: "5" has no unit: write "5m" for minutes or "5s" for seconds'
            in result.output
        )


def test_dry_run_says_formats_and_new_columns_in_words(tmp_path):
    write_workbook(tmp_path / "pipeline.xlsx", tabs([{"Deal": "Acme", "Stage": "Discovery"}]))
    config = write_config(tmp_path)
    result = invoke("sync", "--dry-run", "--config", str(config), "--now", "2026-03-10T09:00")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "+ column Deals!T1 Health" in lines
    assert "+ format Deals: header row frozen" in lines
    assert "+ format Deals: row colours keyed on Health (column T), columns A:W" in lines
    assert "+ format Deals: dropdown on Stage (column B), its 6 choices from Lists!A2:A7" in lines
    assert "+ format Tasks: dropdown on Done (column E), its 2 choices from Lists!C2:C3" in lines
    assert not [line for line in lines if "(" in line and "=" in line.split("(")[1]], lines
    assert "~ Today tab rewritten (1 row under its header)" in lines, lines
    assert "+ tab Today (0 rows under its header)" in lines


def test_a_sync_says_when_it_changed_nothing_or_only_status(tmp_path):
    write_workbook(tmp_path / "pipeline.xlsx", tabs([{"Deal": "Acme", "Stage": "Discovery"}]))
    config = str(write_config(tmp_path))

    def last_line(*args: str) -> str:
        result = invoke("sync", "--config", config, *args)
        assert result.exit_code == 0, result.output
        return result.output.strip().splitlines()[-1]

    assert last_line("--now", "2026-03-10T09:00").startswith("changed deals=1 cells=6 tasks=2")
    assert last_line("--now", "2026-03-10T09:00").startswith("nothing to change: deals=1 cells=0")
    assert last_line("--now", "2026-03-10T09:00", "--dry-run").startswith(
        "Dry run: nothing to change: deals=1 cells=0"
    )
    # Three hours on, within the stage's limits: only Status's heartbeat is due.
    assert last_line("--now", "2026-03-10T12:00", "--dry-run").startswith(
        "Dry run: would refresh only Status: deals=1 cells=0"
    )
    assert last_line("--now", "2026-03-10T12:00").startswith(
        "only Status refreshed: deals=1 cells=0 tasks=0 history=0"
    )


def test_explain_says_when_the_score_was_clamped(tmp_path):
    deals = [
        {"Deal": "Acme", "Stage": "Discovery", "Source": "Cold call"},
        {"Deal": "Globex", "Stage": "Discovery", "Source": "Referral"},
    ]
    weights = [
        ["Source", "is", "Cold call", -20, "", ""],
        ["Stage", "is", "Discovery", 6, "", ""],
        ["Source", "is", "Referral", 124, "", ""],
    ]
    write_workbook(tmp_path / "pipeline.xlsx", tabs(deals, weights=weights))
    config = str(write_config(tmp_path))
    assert invoke("sync", "--config", config).exit_code == 0
    low = invoke("explain", "D-0001", "--config", config)
    assert low.exit_code == 0, low.output
    assert low.output.splitlines()[1:4] == [
        "  -20  Source is Cold call  (Weights row 2)",
        "  +6  Stage is Discovery  (Weights row 3)",
        "  = -14, clamped to 0 (Score min) → Nurture",
    ]
    high = invoke("explain", "d-0002", "--config", config)
    assert "  = 130, clamped to 100 (Score max) → SQL" in high.output.splitlines()
    unknown = invoke("explain", "D-0099", "--config", config)
    assert unknown.exit_code == 1
    assert unknown.output == (
        "Error: no deal has the ID D-0099; the IDs are in the ID column of Deals, Customers.\n"
    )


def template_comments() -> list[str]:
    """The comments of the config template, which a written config must keep."""
    template = (ROOT / "src" / "sheetpipe" / "templates" / "sheetpipe.toml").read_text()
    return [line[line.index("#") :] for line in template.splitlines() if "#" in line]


def test_init_writes_the_commented_template_with_the_workbook_quoted_as_toml(tmp_path):
    import tomllib

    workbook = tmp_path / 'Q3 "north" \\ team' / "pipeline – 2026.xlsx"
    result = invoke("init", "--xlsx", str(workbook))
    assert result.exit_code == 0, result.output
    config = (workbook.parent / "sheetpipe.toml").read_text()
    assert tomllib.loads(config)["sheet"] == {"backend": "xlsx", "path": "pipeline – 2026.xlsx"}
    assert all(comment in config for comment in template_comments())
    assert result.output.splitlines()[0] == f"Wrote {workbook.parent / 'sheetpipe.toml'}."
    assert invoke("sync", "--config", str(workbook.parent / "sheetpipe.toml")).exit_code == 0


@pytest.mark.parametrize("with_key_option", [True, False])
def test_init_google_writes_the_commented_template(
    emulator, tmp_path, monkeypatch, with_key_option
):
    import tomllib

    from . import google_helpers as gh

    monkeypatch.setenv("SHEETPIPE_GOOGLE_API_ENDPOINT", emulator.base_url)
    emulator.reset()
    key = gh.key_file(emulator, tmp_path)
    sid = emulator.create("Team pipeline")
    url = f"https://docs.google.com/spreadsheets/d/{sid}/edit#gid=0"
    if with_key_option:
        monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
        result = invoke("init", "--google", url, "--credentials", str(key), cwd=tmp_path)
    else:
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
        result = invoke("init", "--google", url, cwd=tmp_path)
    assert result.exit_code == 0, result.output
    config = (tmp_path / "sheetpipe.toml").read_text()
    sheet = {"backend": "google", "spreadsheet": url}
    if with_key_option:
        sheet["credentials"] = "service-account.json"
    assert tomllib.loads(config)["sheet"] == sheet
    kept = [c for c in template_comments() if 'for backend = "xlsx"' not in c]
    assert all(comment in config for comment in kept), config
    assert "pipeline.xlsx" not in config
    if not with_key_option:
        assert "GOOGLE_APPLICATION_CREDENTIALS" in config  # where the key comes from instead
    checked = invoke("check", cwd=tmp_path)  # the config loads, the sheet reads
    assert checked.exit_code == 0 and "0 deals checked: 0 errors" in checked.output, checked.output


def _missing_workbook(tmp_path: Path) -> Path:
    return write_config(tmp_path, "nowhere.xlsx")


def _bad_toml(tmp_path: Path) -> Path:
    path = tmp_path / "sheetpipe.toml"
    path.write_text('[sheet\nbackend = "xlsx"\n')
    return path


def _damaged_workbook(tmp_path: Path) -> Path:
    (tmp_path / "pipeline.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    return write_config(tmp_path)


def _unknown_key(tmp_path: Path) -> Path:
    return write_config(tmp_path, extra='[daemon]\nevery = "5m"\nspeed = "fast"\n')


@pytest.mark.parametrize(
    ("make", "code", "start"),
    [
        (_missing_workbook, 1, "Error: {tmp}/nowhere.xlsx does not exist; create it with"),
        (_bad_toml, 2, "Error: {tmp}/sheetpipe.toml: not valid TOML"),
        (_damaged_workbook, 1, "Error: {tmp}/pipeline.xlsx could not be read as an .xlsx"),
        (_unknown_key, 2, "Error: {tmp}/sheetpipe.toml has 1 problem(s):"),
    ],
)
def test_each_kind_of_failure_is_one_error_line_with_its_exit_code(tmp_path, make, code, start):
    config = make(tmp_path)
    result = invoke("sync", "--config", str(config))
    assert result.exit_code == code, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith(start.format(tmp=tmp_path)), result.output


def test_intake_from_config_takes_form_responses_into_the_workbook(tmp_path):
    """sheetpipe.toml names a form's tab; `sheetpipe sync` turns its rows into deals with
    an owner, and the workbook python-calamine reads holds them."""
    from python_calamine import CalamineWorkbook

    sheets = tabs([{"Deal": "Acme", "Stage": "Contact", "Email": "bob@acme.example"}])
    sheets["Team"] = [["Name", "Active"], ["Ana", "Yes"], ["Ben", "No"], ["Cy", "Yes"]]
    sheets["Web leads"] = [
        ["Submitted at", "Full name", "E-mail", "Organisation"],
        ["2026-03-09 10:00", "Cara", "cara@beta.example", "Beta"],
        ["2026-03-09 11:00", "Dan", "dan@delta.example", "=1+1"],
        ["2026-03-09 12:00", "Eve", "eve@", "Eta"],
    ]
    write_workbook(tmp_path / "pipeline.xlsx", sheets)
    config = write_config(tmp_path, extra='[[intake]]\ntab = "Web leads"\npipeline = "Deals"\n')
    result = invoke("sync", "--config", str(config))
    assert result.exit_code == 0, result.output
    book = CalamineWorkbook.from_path(str(tmp_path / "pipeline.xlsx"))
    deals = book.get_sheet_by_name("Deals").to_python()
    header = deals[0]
    got = [dict(zip(header, r, strict=False)) for r in deals[1:]]
    assert [(d["Deal"], d["Owner"], d["ID"]) for d in got] == [
        ("Acme", "", "D-0001"),
        ("Beta", "Ana", "D-0002"),
        ("=1+1", "Cy", "D-0003"),  # text, not a formula: calamine reads no result
    ]
    leads = book.get_sheet_by_name("Web leads").to_python()
    status = leads[0].index("Intake status")
    assert [r[status] for r in leads[1:]][:2] == [
        "Created D-0002 for Ana (round-robin, turn 1)",
        "Created D-0003 for Cy (round-robin, turn 3)",
    ]
    assert leads[3][status].startswith('Rejected: the e-mail "eve@" is not valid')
    again = invoke("sync", "--config", str(config))
    assert again.exit_code == 0 and again.output.startswith("nothing to change: deals=3 ")
    explained = invoke("explain", "d-0003", "--config", str(config))
    assert explained.output.splitlines()[-1] == (
        "Came in: Web leads row 3: Created D-0003 for Cy (round-robin, turn 3)"
    )


def test_a_bad_intake_in_config_is_reported_with_its_key(tmp_path):
    config = tmp_path / "sheetpipe.toml"
    config.write_text(
        '[sheet]\npath = "p.xlsx"\n[[intake]]\npipeline = "Deals"\n'
        '[[intake]]\ntab = "Form"\npipeline = "Leads"\n'
        '[[intake]]\ntab = "Form 2"\ncolour = "red"\n[intake.columns]\n"Fax" = "Fax number"\n'
        '[[intake]]\ntab = "deals"\n'
    )
    result = invoke("sync", "--config", str(config))
    assert result.exit_code == 2
    assert "has 5 problem(s)" in result.output
    assert '[[intake]] number 4: tab = "deals" is a tab sheetpipe already uses' in result.output
    assert '[[intake]] number 1: tab is missing, e.g. tab = "Form Responses 1"' in result.output
    assert (
        '[[intake]] number 2: pipeline = "Leads" must be one of [tabs] pipelines' in result.output
    )
    assert "[[intake]] number 3: colour is not a key sheetpipe knows" in result.output
    assert '[[intake]] number 3: columns "Fax" is not a lead field' in result.output
