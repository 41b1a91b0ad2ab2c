"""Where the real servers' binaries are: an environment variable first, else the build cache.

``hack/tools.sh --env`` exports the variables; without them the fixtures ask each build script
for its cache path (``--path`` prints it without building), so a version pin lives in one place.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def built_tool(env_var: str, build_script: str) -> Path:
    """The path named by ``env_var``, else the cached path ``hack/<build_script> --path`` prints."""
    value = os.environ.get(env_var)
    if value:
        return Path(value)
    script = REPO / "hack" / build_script
    out = subprocess.run([str(script), "--path"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def postgres_bin_dir() -> Path | None:
    """``LEADSCORE_PG_BIN_DIR``, else the newest Debian ``/usr/lib/postgresql/<major>/bin``."""
    value = os.environ.get("LEADSCORE_PG_BIN_DIR")
    if value:
        return Path(value)
    candidates = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()]
    return max(candidates, key=lambda p: int(p.parent.name), default=None)
