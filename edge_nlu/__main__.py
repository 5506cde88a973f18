"""``python -m edge_nlu``: the ``edge-nlu`` command line."""

import sys

from edge_nlu.cli import main

sys.exit(main())
