"""``leadscore operator run``: kopf with our handlers, standalone or peered."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def kopf_log_format() -> Any:
    """kopf's JSON lines under ``LEADSCORE_LOG_FORMAT=json``, its plain format otherwise."""
    import kopf

    from leadscore.logs import json_wanted

    return kopf.LogFormat.JSON if json_wanted() else kopf.LogFormat.FULL


def run_operator(*, namespaces: Sequence[str] = (), peering: str | None = None,
                 liveness: str | None = None, verbose: bool = False) -> None:
    """Block until interrupted. With ``peering``, replicas sharing the name elect one active
    operator (kopf.dev peering CRDs required); without it, this process acts alone."""
    import kopf

    import leadscore.operator.handlers  # noqa: F401  (registers the handlers)

    kopf.configure(verbose=verbose, log_format=kopf_log_format())
    kopf.run(
        standalone=peering is None,
        peering_name=peering,
        namespaces=list(namespaces),
        clusterwide=not namespaces,
        liveness_endpoint=liveness,
    )
