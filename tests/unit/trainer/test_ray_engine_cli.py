"""What ``--engine ray`` refuses before any data or cluster is touched: an algorithm that cannot train on
Ray (one line naming it, exit 2, a Failed termination message), GPU workers, and ``--ray-address``
or ``--parallel-trials`` without the Ray engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leadscore.cli.main import main


def test_algorithms_that_cannot_train_on_ray_are_refused_by_name_with_a_failed_result(tmp_path: Path,
                                                                                      capsys) -> None:
    termination = tmp_path / "termination"
    code = main(["train", "--data", str(tmp_path / "leads.csv"), "--target", "converted", "--output",
                 str(tmp_path / "v1"), "--engine", "ray", "--termination-path", str(termination)])
    assert code == 2  # the default algorithms hold catboost
    assert capsys.readouterr().err.startswith("error: --algorithms: catboost cannot train with --engine ray "
                                              "(data-parallel on Ray: xgboost, lightgbm; lr, the baseline, on the "
                                              "driver)")
    result = json.loads(termination.read_text())
    assert (result["status"], result["reason"]) == ("Failed", "InvalidConfig")
    assert not (tmp_path / "v1").exists()


def test_gpu_workers_on_ray_are_refused(tmp_path: Path, capsys) -> None:
    code = main(["train", "--data", str(tmp_path / "leads.csv"), "--target", "converted", "--output",
                 str(tmp_path / "v1"), "--engine", "ray", "--algorithms", "xgboost", "--device", "cuda"])
    assert code == 2
    assert "error: --device cuda: --engine ray trains on the cluster's CPUs" in capsys.readouterr().err
    assert not (tmp_path / "v1").exists()


@pytest.mark.parametrize("command", ["train", "score"])
def test_a_ray_address_without_the_ray_engine_is_refused(tmp_path: Path, capsys, command: str) -> None:
    common = ["--data", str(tmp_path / "leads.csv"), "--output", str(tmp_path / "out.csv")]
    specific = ["--target", "converted"] if command == "train" else ["--model", str(tmp_path / "v1")]
    assert main([command, *common, *specific, "--ray-address", "127.0.0.1:6379"]) == 2
    assert "error: --ray-address needs --engine ray (got --engine local)" in capsys.readouterr().err


def test_parallel_trials_without_the_ray_engine_or_below_one_are_refused_naming_the_flag(tmp_path: Path,
                                                                                        capsys) -> None:
    common = ["train", "--data", str(tmp_path / "leads.csv"), "--target", "converted", "--output",
              str(tmp_path / "v1"), "--algorithms", "lr,xgboost"]
    assert main([*common, "--parallel-trials", "2"]) == 2
    assert "error: --parallel-trials needs --engine ray (got --engine local)" in capsys.readouterr().err
    assert main([*common, "--engine", "ray", "--parallel-trials", "0"]) == 2
    assert "error: --parallel-trials: Input should be greater than or equal to 1" in capsys.readouterr().err
    assert not (tmp_path / "v1").exists()
