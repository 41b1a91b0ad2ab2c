"""``python -m leadscore`` is the ``leadscore`` command."""

import sys

from leadscore.cli import main

sys.exit(main())
