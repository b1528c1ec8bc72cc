"""The tabs sheetpipe writes whole or in part besides the pipelines: Today, Lists,
Outbox, Status, and the column widths of the tabs it makes."""
