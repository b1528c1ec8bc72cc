"""A local Google Sheets API (and the bit of Drive gspread needs) for offline tests.

    python -m tests.emulator --port 8765 --credentials-out key.json

or in-process: `Emulator().serve()`; see server.py. Known differences from Google are
listed in docs/emulator.md.
"""

from .server import Emulator

__all__ = ["Emulator"]
