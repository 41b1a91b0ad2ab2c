"""One published model version opened for reading: what the predictor serves and what
``leadscore score``/``evaluate`` and the champion scorer measure, so both read the same files
the same way."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from leadscore.api.artifact import (
    CARD_FILE,
    MODEL_FILE,
    REQUIRED_FILES,
    RESULT_FILE,
    SPEC_FILE,
    UNCERTAINTY_FILE,
    ServingCard,
    Uncertainty,
)
from leadscore.errors import StorageError
from leadscore.features.spec import FeatureSpec
from leadscore.store.artifacts import fetch_directory


class MissingArtifactFileError(StorageError):
    """A required file of the artifact is absent; ``path`` names it."""

    def __init__(self, uri: str, path: Path) -> None:
        super().__init__(f"model {uri}: {path.name} is missing; not a leadscore model directory")
        self.path = path


@dataclass(frozen=True)
class PublishedArtifact:
    """The files of one version, parsed where scoring needs them parsed."""

    path: Path
    feature_spec: FeatureSpec
    card: ServingCard
    version: str
    uncertainty: Uncertainty | None = None  # None: trained before intervals (uncertainty.json) existed

    @property
    def onnx_path(self) -> Path:
        return self.path / MODEL_FILE

    @classmethod
    def open(cls, uri: str) -> PublishedArtifact:
        """A local directory, ``/mnt/models`` or an ``s3://`` prefix (downloaded once)."""
        path = fetch_directory(uri)
        for name in REQUIRED_FILES:
            if not (path / name).is_file():
                raise MissingArtifactFileError(uri, path / name)
        spec = FeatureSpec.model_validate_json((path / SPEC_FILE).read_text())
        card = ServingCard.model_validate_json((path / CARD_FILE).read_text())
        extra = path / UNCERTAINTY_FILE
        uncertainty = Uncertainty.model_validate_json(extra.read_text()) if extra.is_file() else None
        return cls(path=path, feature_spec=spec, card=card, version=_version(card, path), uncertainty=uncertainty)


def _version(card: ServingCard, path: Path) -> str:
    """The card's version; else result.json's; else the directory name (``.../v3/`` -> ``v3``)."""
    if card.version:
        return card.version
    result = path / RESULT_FILE
    if result.is_file():
        version = json.loads(result.read_text()).get("version")
        if version:
            return str(version)
    return path.resolve().name
