"""LibreOffice as a real reader of the workbooks sheetpipe writes.

The README's test command installs it where it is missing (Debian's
`libreoffice-calc-nogui`); a test that needs it fails with how to install it.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

INSTALL = (
    "LibreOffice is needed by this test and is not installed: run the README's test "
    "command (it installs it), or `apt-get install -y libreoffice-calc-nogui`."
)
# Every sheet to its own CSV, UTF-8, comma-separated (LibreOffice 7.2+: the last token -1).
CSV_ALL_SHEETS = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    assert found, INSTALL
    return found


def convert(files: list[Path], out: Path, target: str = CSV_ALL_SHEETS) -> None:
    """Convert all `files` in one LibreOffice run (start-up is most of the cost)."""
    out.mkdir(parents=True, exist_ok=True)
    profile = out / "profile"
    subprocess.run(
        [soffice(), f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
         "--convert-to", target, "--outdir", str(out), *map(str, files)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip


def sheet_csv(out: Path, workbook: Path, sheet: str) -> list[list[str]]:
    """The rows LibreOffice exported for one sheet of `workbook`."""
    path = out / f"{workbook.stem}-{sheet}.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))
