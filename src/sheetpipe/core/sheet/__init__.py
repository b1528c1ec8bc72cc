"""The sheet as sheetpipe reads it: cell values, tables of named columns, the
diff of what changes, and the in-memory reference of applying a change set."""
