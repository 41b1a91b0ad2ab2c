"""What ``--engine ray`` refuses today, before any data or cluster is touched: training on Ray is not
built (one line, exit 2, a Failed termination message), and ``--ray-address`` means nothing without it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leadscore.cli.main import main


def test_training_on_ray_is_refused_as_not_implemented_with_a_failed_result(tmp_path: Path, capsys) -> None:
    termination = tmp_path / "termination"
    code = main(["train", "--data", str(tmp_path / "leads.csv"), "--target", "converted", "--output",
                 str(tmp_path / "v1"), "--engine", "ray", "--termination-path", str(termination)])
    assert code == 2
    assert capsys.readouterr().err.startswith("error: --engine ray: distributed training is not implemented yet")
    result = json.loads(termination.read_text())
    assert (result["status"], result["reason"]) == ("Failed", "InvalidConfig")
    assert not (tmp_path / "v1").exists()


@pytest.mark.parametrize("command", ["train", "score"])
def test_a_ray_address_without_the_ray_engine_is_refused(tmp_path: Path, capsys, command: str) -> None:
    common = ["--data", str(tmp_path / "leads.csv"), "--output", str(tmp_path / "out.csv")]
    specific = ["--target", "converted"] if command == "train" else ["--model", str(tmp_path / "v1")]
    assert main([command, *common, *specific, "--ray-address", "127.0.0.1:6379"]) == 2
    assert "error: --ray-address needs --engine ray (got --engine local)" in capsys.readouterr().err
