"""Sticky A/B assignment: the same lead always lands in the same arm.

KServe's canary split is random per request, so a lead re-scored tomorrow could see the
other model and pollute both arms. Here the arm is a pure function of a salted hash of the
lead id: stable across replicas, restarts and time, and independent between experiments
because each experiment has its own salt. blake2b is used for its speed and uniformity, not
for secrecy.
"""

from __future__ import annotations

import hashlib

from leadscore.api.wire import CONTROL, TREATMENT

_BUCKETS = 1 << 64


def bucket(lead_id: str, salt: str) -> float:
    """The lead's position in [0, 1), uniform over ids and fixed for a given salt."""
    digest = hashlib.blake2b(f"{salt}\x1f{lead_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _BUCKETS


def assign_arm(lead_id: str, salt: str, treatment_percent: float) -> str:
    """``treatment`` for the first ``treatment_percent`` percent of the hash space, else ``control``."""
    return TREATMENT if bucket(lead_id, salt) * 100.0 < treatment_percent else CONTROL
