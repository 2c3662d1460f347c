"""Entrypoint of the image: `python3 -m pagerduty_port`."""

import sys

from .main import main

sys.exit(main())
