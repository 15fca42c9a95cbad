"""``python -m cli`` runs the ``scopeguard`` command line."""

import sys

from cli.main import main

sys.exit(main())
