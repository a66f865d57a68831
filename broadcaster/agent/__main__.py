"""``python -m broadcaster.agent --config FILE``."""

import sys

from .main import main

raise SystemExit(main(sys.argv[1:]))
