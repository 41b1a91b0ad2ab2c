from pathlib import Path

import pytest

from leadscore.data import DatasetSpec
from leadscore.errors import ConfigError
from leadscore.trainer.config import TERMINATION_ENV, TrainConfig
from leadscore.trainer.tracking import resolve_uri


def _config(**changes) -> TrainConfig:
    return TrainConfig(data="x.csv", output="out", dataset=DatasetSpec(target="y"), **changes)


def test_config_splits_comma_separated_algorithms() -> None:
    assert _config(algorithms="lr, xgboost").algorithms == ["lr", "xgboost"]


def test_config_refuses_a_version_label_with_a_slash() -> None:
    with pytest.raises(ValueError, match="v1/evil"):
        _config(version="v1/evil")


def test_termination_path_prefers_the_flag_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TERMINATION_ENV, "/tmp/from-env")
    assert _config(termination_path="/tmp/flag").resolved_termination_path() == "/tmp/flag"
    assert _config().resolved_termination_path() == "/tmp/from-env"


def test_resolve_uri_keeps_a_tracking_server_uri() -> None:
    assert resolve_uri("http://mlflow:5000") == ("http://mlflow:5000", None)


def test_resolve_uri_turns_a_directory_into_a_sqlite_store(tmp_path: Path) -> None:
    tracking, artifacts = resolve_uri(str(tmp_path / "mlruns"))
    assert tracking == f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    assert artifacts == (tmp_path / "mlruns" / "artifacts").as_uri()


def test_resolve_uri_refuses_an_unknown_scheme() -> None:
    with pytest.raises(ConfigError, match="ftp"):
        resolve_uri("ftp://host/x")
