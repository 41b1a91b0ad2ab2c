"""The ``leadscore`` command: one entry point that wires the subpackages together.

Each command module imports its subsystem inside the command body, so ``leadscore
experiment plan`` never pays for XGBoost, and each container image only needs the
dependencies of the commands it runs.
"""

from leadscore.cli.main import app, main

__all__ = ["app", "main"]
