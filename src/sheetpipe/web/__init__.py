"""`sheetpipe serve`: the web form and webhook (serve.py), and the journal (journal.py)
every submission is committed to before it is answered and moved into the intake tab."""
