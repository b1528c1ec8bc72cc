"""Bring the real programs the tests drive, where they are missing (Debian packages).

    python -m tests.system_packages

Part of the README's test command. LibreOffice opens the workbooks sheetpipe writes,
as a user's would; poppler's pdftotext reads what it renders; Chromium (with its
chromedriver) fills in the web form. As root (CI, a fresh
container) the missing packages are installed with apt-get; otherwise the command that
would install them is printed and the exit code is 1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

# program → the Debian package that brings it
NEEDED = {
    "soffice": "libreoffice-calc-nogui",
    "pdftotext": "poppler-utils",
    # A real browser fills in the web form (tests/test_browser.py), driven by Selenium.
    "chromium": "chromium",
    "chromedriver": "chromium-driver",
}


def missing() -> list[str]:
    return sorted({package for program, package in NEEDED.items() if not shutil.which(program)})


def main() -> int:
    packages = missing()
    if not packages:
        return 0
    command = ["apt-get", "install", "-y", *packages]
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(f"The tests need {', '.join(packages)}: run `sudo {' '.join(command)}`.")
        return 1
    print(f"Installing {', '.join(packages)} for the tests…", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*command, "-qq"], check=True, env=env)
    still = missing()
    if still:
        print(f"apt-get ran but {', '.join(still)} is still missing.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
