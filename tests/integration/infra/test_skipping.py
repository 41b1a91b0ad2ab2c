"""require_or_skip: a missing server skips a local run and fails a CI run."""

from __future__ import annotations

import pytest

from support.skipping import require_or_skip


@pytest.mark.parametrize("value", ["", "false", "0"])
def test_require_or_skip_skips_when_not_in_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)

    with pytest.raises(pytest.skip.Exception, match="no minio here"):
        require_or_skip("no minio here")


@pytest.mark.parametrize("value", ["true", "1", "TRUE"])
def test_require_or_skip_fails_when_ci_is_true(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)

    with pytest.raises(pytest.fail.Exception, match=r"CI=true .*no minio here"):
        require_or_skip("no minio here")
