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


def _cli(*extra: str) -> TrainConfig:
    """``leadscore train``'s real options parsed into the config (the Job's path)."""
    import typer

    from leadscore.cli import train as train_cli

    app = typer.Typer()
    train_cli.register(app)
    command = typer.main.get_command(app).commands["train"]
    params = command.make_context("train", ["--data", "x.csv", "--target", "y", "--output", "out", *extra]).params
    return train_cli.train_config(**params)


def test_cli_accepts_the_new_families_params_and_fractions() -> None:
    config = _cli("--algorithms", "lr,randomforest,mlp", "--params",
                  '{"randomforest": {"max_depth": {"high": 8}}, "mlp": {"layers": {"value": 2}}}',
                  "--valid-fraction", "0.2", "--test-fraction", "0.25")
    assert config.algorithms == ["lr", "randomforest", "mlp"]
    assert config.params["randomforest"]["max_depth"].high == 8
    assert config.params["mlp"]["layers"].value == 2
    assert (config.valid_fraction, config.test_fraction) == (0.2, 0.25)


def test_cli_defaults_leave_the_new_families_out_and_split_15_15() -> None:
    config = _cli()
    assert config.algorithms == ["lr", "xgboost", "lightgbm", "catboost"]
    assert (config.valid_fraction, config.test_fraction, config.params) == (0.15, 0.15, {})


@pytest.mark.parametrize(("extra", "named"), [
    (["--params", '{"xgboost": {"max_leaves": {"value": 3}}}'], "--params: params.xgboost.max_leaves: unknown"),
    (["--params", '{"svm": {}}'], "--params: params.svm: unknown algorithm"),
    (["--params", '{"lr": {"C": {"value": 1, "low": 0.1}}}'], "--params: lr.C"),
    (["--params", "not json"], "--params"),
    (["--valid-fraction", "0.9"], "--valid-fraction"),
    (["--valid-fraction", "0.35", "--test-fraction", "0.35"], "--test-fraction: .*must not exceed 0.6"),
])
def test_cli_refuses_bad_params_and_fractions_naming_the_option(extra: list[str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        _cli(*extra)
