"""The code is formatted and linted with ruff (the project's own configuration)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True
    )


def test_ruff_lint_passes():
    result = ruff("check", "src", "tests", "bench")
    assert result.returncode == 0, result.stdout


def test_ruff_format_is_clean():
    result = ruff("format", "--check", "src", "tests", "bench")
    assert result.returncode == 0, result.stdout


def test_core_stays_pure():
    """core/ imports pandas and the model only: no files, network, clock or backends."""
    banned = (
        "openpyxl",
        "gspread",
        "google",
        "requests",
        "time",
        "os",
        "filelock",
        "schedule",
        "sheetpipe.backends",
        "sheetpipe.sync",
    )
    for path in (ROOT / "src" / "sheetpipe" / "core").rglob("*.py"):
        for line in path.read_text().splitlines():
            words = line.split()
            if words[:1] in (["import"], ["from"]) and len(words) > 1:
                module = words[1]
                assert not any(module == b or module.startswith(b + ".") for b in banned), (
                    f"{path.name}: {line}"
                )
            assert "datetime.now" not in line and "date.today" not in line, f"{path.name}: {line}"
