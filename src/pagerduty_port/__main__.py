"""Entrypoint of the image (`python3 -m pagerduty_port`, no arguments: the action reads its
INPUT_* variables) and of the command line (any argument, e.g. `sync --help`)."""

import sys

if len(sys.argv) > 1:
    from .cli import main as cli_main

    sys.exit(cli_main())

from .main import main

sys.exit(main())
