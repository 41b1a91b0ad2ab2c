"""An incomplete artifact directory is refused with the missing file named."""

from __future__ import annotations

from pathlib import Path

import pytest
from kserve.errors import ModelMissingError

from leadscore.errors import StorageError
from leadscore.predictor.artifact import open_artifact


def test_open_raises_model_missing_naming_the_onnx_file_when_directory_is_empty(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError) as caught:
        open_artifact(str(tmp_path))
    assert str(caught.value) == str(tmp_path / "model.onnx")


def test_open_raises_model_missing_naming_the_card_when_only_it_is_absent(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"")
    (tmp_path / "feature_spec.json").write_text("{}")
    with pytest.raises(ModelMissingError) as caught:
        open_artifact(str(tmp_path))
    assert str(caught.value).endswith("model_card.json")


def test_open_raises_storage_error_when_the_directory_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="artifact directory not found"):
        open_artifact(str(tmp_path / "nope"))
