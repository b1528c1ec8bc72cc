"""sheetpipe: a spreadsheet turned into a managed sales pipeline."""

__version__ = "0.1.0"
