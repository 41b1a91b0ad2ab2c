"""One model version's artifact directory, opened for serving (DESIGN.md section 4).

``model.onnx``, ``feature_spec.json`` and ``model_card.json`` are required; a missing one
raises KServe's ``ModelMissingError`` naming the file, so the pod never turns Ready and the
previous revision keeps serving. ``boosters/`` is only needed by ``:explain``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kserve.errors import ModelMissingError

from leadscore.features.spec import FeatureSpec
from leadscore.store.artifacts import fetch_directory

MODEL_FILE = "model.onnx"
SPEC_FILE = "feature_spec.json"
CARD_FILE = "model_card.json"
RESULT_FILE = "result.json"
REQUIRED = (MODEL_FILE, SPEC_FILE, CARD_FILE)


@dataclass(frozen=True)
class ModelArtifact:
    """The files of one version, parsed where serving needs them parsed."""

    path: Path
    feature_spec: FeatureSpec
    card: dict[str, Any]
    version: str

    @property
    def onnx_path(self) -> Path:
        return self.path / MODEL_FILE

    @classmethod
    def open(cls, uri: str) -> ModelArtifact:
        """A local directory, ``/mnt/models`` or an ``s3://`` prefix (downloaded once)."""
        path = fetch_directory(uri)
        for name in REQUIRED:
            if not (path / name).is_file():
                raise ModelMissingError(str(path / name))
        spec = FeatureSpec.model_validate_json((path / SPEC_FILE).read_text())
        card = json.loads((path / CARD_FILE).read_text())
        return cls(path=path, feature_spec=spec, card=card, version=_version(card, path))


def _version(card: dict[str, Any], path: Path) -> str:
    """The card's version; else result.json's; else the directory name (``.../v3/`` -> ``v3``)."""
    if card.get("version"):
        return str(card["version"])
    result = path / RESULT_FILE
    if result.is_file():
        version = json.loads(result.read_text()).get("version")
        if version:
            return str(version)
    return path.resolve().name
