"""Downloaded object keys stay inside the destination (issue 19, item 16).

MinIO refuses keys like ``prefix//abs/path`` or ``prefix/../x``, so a real server cannot hand
them out here; AWS S3 accepts them. The confinement rule is a pure function, tested as one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from leadscore.errors import StorageError
from leadscore.store.artifacts import confined


@pytest.mark.parametrize("key", ["model.onnx", "boosters/lightgbm.txt", "a/b/c.json", "..hidden", "x..y"])
def test_keys_inside_the_prefix_land_under_the_destination(tmp_path: Path, key: str) -> None:
    target = confined(tmp_path, key)
    assert target == tmp_path.joinpath(*key.split("/"))


@pytest.mark.parametrize(
    "key", ["/etc/cron.d/evil", "/abs", "../escape", "boosters/../../escape", "a//b", "./model.onnx", "", "a/./b"]
)
def test_keys_that_would_escape_or_are_ambiguous_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(StorageError, match="refusing object key"):
        confined(tmp_path, key)


def test_a_key_through_a_symlink_out_of_the_destination_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    destination = tmp_path / "dest"
    destination.mkdir()
    (destination / "link").symlink_to(outside)
    with pytest.raises(StorageError, match="refusing object key"):
        confined(destination, "link/model.onnx")
