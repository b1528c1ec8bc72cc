"""What `pip install .` gives a new user: a wheel built from the repository, its files
put where an install puts them, run as the README's quick start runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

ROOT = Path(__file__).resolve().parent.parent
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "mutants", "build", "dist", "*.egg-info", "__pycache__", ".*_cache",
    ".hypothesis", "*.xlsx", "*.bak", "out",
)  # fmt: skip


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def build_wheel(folder: Path) -> Path:
    """A wheel built as pip builds one from a clean clone (in an isolated environment)."""
    source = folder / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder), str(source)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    (built,) = folder.glob("sheetpipe-*.whl")
    return built


def test_the_wheel_ships_the_top_level_templates_inside_the_package(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    prefix = "sheetpipe/templates/"
    shipped = {n.removeprefix(prefix) for n in names if n.startswith(prefix)}
    folder = ROOT / "src" / "sheetpipe" / "templates"
    in_repository = {
        p.relative_to(folder).as_posix() for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }  # fmt: skip
    assert shipped == in_repository
    assert not any(n.startswith(("templates/", "tests/")) for n in names)


def test_the_installed_package_runs_the_demo_away_from_the_repository(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)  # a pure wheel installs by unpacking
    run = tmp_path / "run"
    run.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import sheetpipe; print(sheetpipe.__file__)"],
        cwd=run, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert Path(where.stdout.strip()).is_relative_to(site), "the wheel's code, not the checkout's"
    done = subprocess.run(
        [sys.executable, "-m", "sheetpipe", "demo", "demo"],
        cwd=run, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    book = CalamineWorkbook.from_path(str(run / "demo" / "pipeline.xlsx"))
    assert {"Deals", "Weights", "Stages", "Tasks", "Today"} <= set(book.sheet_names)
    assert len(book.get_sheet_by_name("Deals").to_python()) > 40
