from sheetpipe.cli import main

main()
