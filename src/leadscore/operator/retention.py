"""Which versions lose their artifacts: all but the newest N, never one that is still needed."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from leadscore.api.leadscoringmodel import ModelVersion
from leadscore.operator.versions import version_number


def versions_to_delete(versions: Sequence[ModelVersion], keep: int,
                       protected: Collection[str]) -> list[ModelVersion]:
    """Versions beyond the newest ``keep`` whose artifacts still exist, minus ``protected`` ones
    (the active, pinned, previous and experiment-arm versions: deleting them would break serving)."""
    newest_first = sorted(versions, key=lambda v: version_number(v.version), reverse=True)
    return [v for v in newest_first[keep:] if not v.artifacts_deleted and v.version not in protected]
