"""The `passport` command line: init, run, db, app, check."""
