"""A disk that is full or a folder sheetpipe may not write to: one `Error:` line naming
the file and what to do, the documented exit code, and the workbook as it was.

These run the real `sheetpipe` command against real file systems: a tmpfs too small
for a second copy of the workbook (ENOSPC at the write), and a folder the user running
sheetpipe may read but not write (EACCES). Both need root to set up (mount, another
user), as CI has; elsewhere they skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .backend_contract import deals
from .helpers import tabs, write_config, write_workbook

SHEETPIPE = [sys.executable, "-m", "sheetpipe"]
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount or switch user")


def sheetpipe(*args: str, cwd: Path, user: list[str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*(user or []), *SHEETPIPE, *args], cwd=cwd, capture_output=True, text=True
    )


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs that holds the workbook once, and not a second time."""
    workbook = write_workbook(tmp_path / "pipeline.xlsx", tabs(deals(400)))
    mount = tmp_path / "disk"
    mount.mkdir()
    size = os.path.getsize(workbook) + 4096
    if not shutil.which("mount"):
        pytest.skip("no mount command here")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", mount])
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        shutil.copy(workbook, mount / "pipeline.xlsx")
        yield mount
    finally:
        subprocess.run(["umount", "-l", mount], check=False)


def test_a_full_disk_is_one_error_line_and_the_workbook_is_untouched(small_disk, tmp_path):
    workbook = small_disk / "pipeline.xlsx"
    before = workbook.read_bytes()
    config = write_config(tmp_path, str(workbook))
    done = sheetpipe("sync", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [
        f"Error: writing {workbook} failed: the disk is full; free some space on it. "
        "Nothing was changed. sheetpipe tries again next cycle."
    ]
    assert workbook.read_bytes() == before
    assert sorted(p.name for p in small_disk.iterdir()) == ["pipeline.xlsx"], "no leftovers"


@pytest.fixture
def read_only_folder() -> Iterator[Path]:
    """A folder owned by root, readable by everyone, writable by root only (outside
    pytest's own 0700 temp folder, so another user can reach it)."""
    folder = Path(tempfile.mkdtemp(prefix="sheetpipe-ro-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def test_a_folder_without_write_access_is_one_error_line(read_only_folder):
    nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    if not shutil.which("setpriv") or subprocess.run([*nobody, sys.executable, "-c", "import sheetpipe"]
                      ).returncode:  # fmt: skip
        pytest.skip("the user nobody cannot run this Python")
    workbook = write_workbook(read_only_folder / "pipeline.xlsx", tabs(deals(3)))
    workbook.chmod(0o644)
    config = write_config(read_only_folder)
    config.chmod(0o644)
    before = workbook.read_bytes()
    done = sheetpipe("sync", cwd=read_only_folder, user=nobody)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    (error,) = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert error.startswith(f"Error: writing {read_only_folder}/")
    assert (
        f"failed: permission denied; give the user running sheetpipe write access to "
        f"{read_only_folder} and read access. Nothing was changed."
    ) in error
    assert workbook.read_bytes() == before
    # Reading still works: check and dry runs need no write access, but the lock.
    checked = sheetpipe("sync", "--dry-run", cwd=read_only_folder, user=nobody)
    assert "Traceback" not in checked.stderr


def test_init_into_a_folder_without_write_access_is_one_error_line(read_only_folder):
    nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    if not shutil.which("setpriv") or subprocess.run([*nobody, sys.executable, "-c", "import sheetpipe"]
                      ).returncode:  # fmt: skip
        pytest.skip("the user nobody cannot run this Python")
    done = sheetpipe("init", "--xlsx", "pipeline.xlsx", cwd=read_only_folder, user=nobody)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    (error,) = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert "failed: permission denied; give the user running sheetpipe write access" in error
    assert list(read_only_folder.iterdir()) == []
