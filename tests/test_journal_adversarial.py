"""The web form's journal (`sheetpipe serve`'s SQLite file) as a bad disk, a careless copy or
a wrong path leaves it: not a database at all, cut short, or damaged inside. The journal is a
side input: every command goes on with scores, tasks and Status, says what is wrong in one
line naming the file, and never deletes or writes over the file (sheetpipe/web/journal.py)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from sheetpipe.errors import JournalError
from sheetpipe.web.journal import Journal

from .helpers import free_port, tabs, write_config, write_workbook

TAB = "Web leads"
PAGE = 4096  # SQLite's default page size


def journal_with_submissions(path: Path, count: int = 60) -> bytes:
    """A real journal holding `count` submissions not yet moved, all in its main file."""
    journal = Journal(path)
    for n in range(count):
        journal.add({"Name": f"Person {n} " + "x" * 150, "Email": f"p{n}@example.com"})
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.read_bytes()


def replaced(real: bytes) -> bytes:  # someone saved a CSV export over it
    return b"Name,Email\nAna Ruiz,ana@example.com\n"


def truncated(real: bytes) -> bytes:  # a copy cut short: a full disk, a sync tool
    return real[: len(real) // 2]


def corrupted(real: bytes) -> bytes:  # a bad sector inside one of its pages
    page = len(real) // PAGE // 2
    return real[: page * PAGE] + b"\xff" * 200 + real[page * PAGE + 200 :]


BAD = [replaced, truncated, corrupted]


def folder(tmp_path: Path, bad: Callable[[bytes], bytes]) -> tuple[Path, bytes]:
    """A workbook and its config with [serve], whose journal has gone bad; returns the
    journal's path and its bytes as they are now."""
    sheets = tabs([{"Deal": "Acme", "Stage": "Contact", "Owner": "Ana", "Email": "a@acme.example"}])
    sheets["Team"] = [["Name"], ["Ana"]]
    write_workbook(tmp_path / "pipeline.xlsx", sheets)
    write_config(tmp_path, extra=f'[[intake]]\ntab = "{TAB}"\n[serve]\n'
                 'journal = "journal.sqlite"\nmin_seconds = 0\n')  # fmt: skip
    path = tmp_path / "journal.sqlite"
    path.write_bytes(bad(journal_with_submissions(tmp_path / "real.sqlite")))
    return path, path.read_bytes()


def sheetpipe(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "sheetpipe", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def sheet(folder: Path, tab: str) -> list[dict]:
    rows = CalamineWorkbook.from_path(str(folder / "pipeline.xlsx")).get_sheet_by_name(tab)
    header, *body = rows.to_python()
    return [dict(zip(header, r, strict=False)) for r in body]


def status_problems(folder: Path) -> list[str]:
    rows = CalamineWorkbook.from_path(str(folder / "pipeline.xlsx")).get_sheet_by_name("Status")
    return [f"{r[0]}: {r[1]}" for r in rows.to_python() if "journal" in str(r[0])]


def journal_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "journal" in line and "sqlite" in line]


@pytest.mark.parametrize("bad", BAD, ids=lambda bad: bad.__name__)
def test_a_bad_journal_is_one_line_naming_it_and_every_command_goes_on(tmp_path, bad):
    path, before = folder(tmp_path, bad)
    check = sheetpipe(tmp_path, "check")
    assert check.returncode == 1, check.stderr  # an error, not a crash
    assert "Traceback" not in check.stderr
    [said] = journal_lines(check.stderr)
    assert said.startswith("error: sheetpipe.toml [serve] journal: ") and str(path) in said
    assert "left it as it is" in said and "move the file aside" in said

    synced = sheetpipe(tmp_path, "sync")
    assert synced.returncode == 0, synced.stderr
    assert "Traceback" not in synced.stderr and len(journal_lines(synced.stderr)) == 1
    [deal] = sheet(tmp_path, "Deals")
    assert isinstance(deal["Score"], float) and deal["Health"] and deal["ID"] == "D-0001"
    assert any(t["Deal ID"] == "D-0001" for t in sheet(tmp_path, "Tasks"))
    [on_status] = status_problems(tmp_path)
    assert str(path) in on_status

    once = sheetpipe(tmp_path, "run", "--once")
    assert once.returncode == 0 and "cycle ok" in once.stderr, once.stderr
    assert path.read_bytes() == before, "the journal is the user's: never rewritten"


@pytest.mark.parametrize("bad", BAD, ids=lambda bad: bad.__name__)
def test_serve_refuses_to_start_on_a_bad_journal_with_one_line(tmp_path, bad):
    path, before = folder(tmp_path, bad)
    served = sheetpipe(tmp_path, "serve", "--port", str(free_port()), timeout=60)
    assert served.returncode == 1 and "Traceback" not in served.stderr, served.stderr
    [said] = [line for line in served.stderr.splitlines() if line.startswith("Error:")]
    assert str(path) in said and "move the file aside" in said
    assert path.read_bytes() == before


def test_a_file_that_is_not_sqlite_may_be_the_wrong_path_and_is_said_so(tmp_path):
    path, _ = folder(tmp_path, replaced)
    with pytest.raises(JournalError, match=r"is not a SQLite file.*\[serve\] journal"):
        Journal(path).waiting()


def test_a_journal_in_a_folder_that_is_not_there_is_said_in_words(tmp_path):
    path = tmp_path / "gone" / "journal.sqlite"
    with pytest.raises(JournalError, match=r"cannot be used \(unable to open database file\)"):
        Journal(path).open()
    assert not path.parent.exists()


def test_a_new_journal_is_made_where_none_was(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite").open()
    assert journal.waiting() == [] and (tmp_path / "journal.sqlite").exists()


def wait_for(daemon: subprocess.Popen, done: Callable[[], bool], log: list[str]) -> None:
    """Read the daemon's log a cycle at a time until `done()` holds after a cycle."""
    deadline = time.monotonic() + 90  # a loaded machine: a generous ceiling
    while time.monotonic() < deadline:
        line = daemon.stderr.readline()
        log.append(line)
        assert "cycle failed" not in line and daemon.poll() is None, "".join(log)
        if "cycle ok" in line and done():
            return
    raise AssertionError("".join(log))


def test_the_daemon_keeps_cycling_while_its_journal_is_bad_and_takes_a_new_one(tmp_path):
    path, _ = folder(tmp_path, lambda real: real)  # a good journal to begin with
    command = [sys.executable, "-m", "sheetpipe", "run", "--every", "1s"]
    daemon = subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    log: list[str] = []
    try:
        wait_for(daemon, lambda: len(sheet(tmp_path, TAB)) == 60, log)
        kept = journal_with_submissions(tmp_path / "later.sqlite")
        path.write_bytes(corrupted(kept))  # goes bad while the daemon runs
        wait_for(daemon, lambda: bool(status_problems(tmp_path)), log)
        wait_for(daemon, lambda: bool(status_problems(tmp_path)), log)  # and stays reported
        assert path.read_bytes() == corrupted(kept)
        path.rename(tmp_path / "journal.damaged.sqlite")  # as the line says to
        wait_for(daemon, lambda: not status_problems(tmp_path), log)  # before serve is back
        Journal(path).add({"Name": "Nia Obi", "Email": "nia@obi.example"})
        wait_for(daemon, lambda: sheet(tmp_path, TAB)[-1]["Name"] == "Nia Obi", log)
        assert (tmp_path / "journal.damaged.sqlite").read_bytes() == corrupted(kept)
    finally:
        daemon.terminate()
        daemon.communicate(timeout=60)
    assert daemon.returncode == 0


# ---- the move, in-process (what mutation testing found unchecked) --------------------------


def moved(tmp_path: Path, header: list[str] | None, submissions: list[dict], extra: str = ""):
    """Submissions kept in a journal, moved into `TAB` (made when `header` is None) of a
    workbook on disk by journal.move_into; returns the tab's rows as the file has them."""
    from datetime import UTC, datetime

    from sheetpipe.backends.xlsx import XlsxBackend
    from sheetpipe.config import load_config
    from sheetpipe.web.journal import move_into

    sheets = tabs([{"Deal": "Acme", "Stage": "Contact", "Owner": "Ana"}],
                  settings={"Timezone": "Europe/Oslo"})  # fmt: skip
    if header is not None:
        sheets[TAB] = [header]
    write_workbook(tmp_path / "pipeline.xlsx", sheets)
    loaded = load_config(write_config(tmp_path, extra=f'[[intake]]\ntab = "{TAB}"\n{extra}'))
    journal = Journal(tmp_path / "journal.sqlite")
    for fields in submissions:
        journal.add(fields, received=datetime(2026, 3, 9, 9, 15, 30, 123456, tzinfo=UTC))
    assert move_into(journal, XlsxBackend(loaded.workbook), TAB, loaded.names) == len(submissions)
    return CalamineWorkbook.from_path(str(tmp_path / "pipeline.xlsx")).get_sheet_by_name(
        TAB).to_python()  # fmt: skip


def test_a_move_adds_each_missing_column_under_its_own_header_at_the_right_end(tmp_path):
    from datetime import datetime

    header, row = moved(
        tmp_path,
        ["Timestamp", "Full name", "Notes from sales"],
        [{"Name": "Ola", "Email": "ola@fjord.example", "Phone": "+47 22"}],
    )
    assert header == ["Timestamp", "Full name", "Notes from sales", "Email", "Company", "Phone",
                      "Message", "Source", "Submission ID"]  # fmt: skip
    # The time in Settings' time zone, to the second, under the tab's own timestamp column.
    assert row[0] == datetime(2026, 3, 9, 10, 15, 30)
    assert row[1:7] == ["Ola", "", "ola@fjord.example", "", "+47 22", ""]
    assert row[7] == "web form" and len(row[8]) == 32


def test_a_move_keeps_the_source_a_submission_names(tmp_path):
    _, first, second = moved(tmp_path, None, [{"Name": "Ola", "Source": "Newsletter"},
                                              {"Name": "Kari"}])  # fmt: skip
    assert (first[6], second[6]) == ("Newsletter", "web form")


def test_a_second_move_into_the_tab_it_made_adds_no_column(tmp_path):
    from datetime import UTC, datetime

    from sheetpipe.backends.xlsx import XlsxBackend
    from sheetpipe.config import load_config
    from sheetpipe.web.journal import COLUMNS, move_into

    header, _ = moved(tmp_path, None, [{"Name": "Ola"}])
    assert header == list(COLUMNS)
    loaded = load_config(tmp_path / "sheetpipe.toml")
    journal = Journal(tmp_path / "journal.sqlite")
    journal.add({"Name": "Kari", "Fax": "12"}, received=datetime(2026, 3, 9, tzinfo=UTC))
    move_into(journal, XlsxBackend(loaded.workbook), TAB, loaded.names)
    again, first, second = CalamineWorkbook.from_path(
        str(tmp_path / "pipeline.xlsx")).get_sheet_by_name(TAB).to_python()  # fmt: skip
    assert again == list(COLUMNS), "nothing added: the tab has a column for every field"
    assert (first[1], second[1]) == ("Ola", "Kari") and first[7] != second[7]


def test_a_move_writes_into_the_columns_config_maps_for_that_tab(tmp_path):
    header, row = moved(
        tmp_path,
        ["Submitted at", "Contact person"],
        [{"Name": "Ola", "Phone": "+47 22"}],
        '[intake.columns]\n"Name" = "Contact person"\n"Phone" = "Mobile"\n',
    )
    assert header[:2] == ["Submitted at", "Contact person"] and "Mobile" in header
    assert "Name" not in header and "Phone" not in header
    assert row[1] == "Ola" and row[header.index("Mobile")] == "+47 22"


def test_each_bad_journal_is_said_in_full_with_what_to_do(tmp_path):
    """The three lines a person reads, whole (in-process, where mutmut sees them)."""
    from sheetpipe.web.journal import journal_error

    path = tmp_path / "journal.sqlite"
    locked = journal_error(sqlite3.OperationalError("database is locked"), path)
    assert str(locked) == (
        f"the journal {path} cannot be used (database is locked); check that the user running "
        "sheetpipe can read and write it and its folder. sheetpipe tries again next cycle."
    )
    path.write_bytes(b"Name,Email\n")
    not_sqlite = journal_error(sqlite3.DatabaseError("file is not a database"), path)
    assert str(not_sqlite) == (
        f"{path} is not a SQLite file, so not a journal; sheetpipe left it as it is. If [serve] "
        "journal in sheetpipe.toml names the wrong file, correct it; otherwise move the file "
        "aside, and `sheetpipe serve` starts a new journal."
    )
    path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    damaged = journal_error(sqlite3.DatabaseError("malformed"), path)
    assert str(damaged) == (
        f"the journal {path} is damaged (malformed). sheetpipe left it as it is: it may hold "
        "submissions not yet moved. Stop `sheetpipe serve`, move the file aside (keep it, to "
        "recover them with sqlite3's .recover), and start serve again: it makes a new one."
    )


def test_opening_a_damaged_journal_names_the_damage_sqlite_found(tmp_path):
    path, _ = folder(tmp_path, corrupted)
    with pytest.raises(JournalError) as damaged:
        Journal(path).open()
    said = str(damaged.value)
    assert said.startswith(f"the journal {path} is damaged (")
    detail = said.split("is damaged (", 1)[1].split("). sheetpipe left it", 1)[0]
    assert detail and detail != "None" and detail.count("; ") <= 2, detail


def test_moving_an_empty_journal_moves_nothing(tmp_path):
    from sheetpipe.backends.xlsx import XlsxBackend
    from sheetpipe.config import load_config
    from sheetpipe.web.journal import move_into

    write_workbook(tmp_path / "pipeline.xlsx", tabs([{"Deal": "Acme", "Stage": "Contact"}]))
    loaded = load_config(write_config(tmp_path, extra=f'[[intake]]\ntab = "{TAB}"\n'))
    journal = Journal(tmp_path / "journal.sqlite")
    assert move_into(journal, XlsxBackend(loaded.workbook), TAB, loaded.names) == 0


def test_a_journal_sqlite_opens_but_finds_damaged_is_refused_with_the_first_findings(tmp_path):
    """Damage only PRAGMA quick_check sees (a NULL where the table says NOT NULL): serve
    must not start on it, and the line names what SQLite found, the first three only."""
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    for n in range(5):
        journal.add({"Name": f"Person {n}"})
    schema = "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE name = 'submissions'"
    strict, loose = "moved INTEGER NOT NULL DEFAULT 0", "moved INTEGER DEFAULT 0"
    for statements in (
        [(schema, (strict, loose))],
        [("UPDATE submissions SET moved = NULL", ()), (schema, (loose, strict))],
    ):
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA writable_schema=ON")
        for sql, args in statements:
            db.execute(sql, args)
        db.close()  # fmt: skip
    with pytest.raises(JournalError) as damaged:
        Journal(path).open()
    finding = "NULL value in submissions.moved"
    assert str(damaged.value).startswith(
        f"the journal {path} is damaged ({finding}; {finding}; {finding}). sheetpipe left it"
    )
