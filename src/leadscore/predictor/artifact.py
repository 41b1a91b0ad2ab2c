"""One model version's artifact directory, opened for serving (trainer/CONTRACT.md).

``model.onnx``, ``feature_spec.json`` and ``model_card.json`` are required; a missing one
raises KServe's ``ModelMissingError`` naming the file, so the pod never turns Ready and the
previous revision keeps serving. ``boosters/`` is only needed by ``:explain``.
"""

from __future__ import annotations

from kserve.errors import ModelMissingError

from leadscore.published import MissingArtifactFileError, PublishedArtifact


def open_artifact(uri: str) -> PublishedArtifact:
    """``PublishedArtifact.open``, with a missing file reported the way KServe expects."""
    try:
        return PublishedArtifact.open(uri)
    except MissingArtifactFileError as exc:
        raise ModelMissingError(str(exc.path)) from None
