"""Every bad input: one line on stderr naming the problem, a non-zero exit, no artifact, and a
Failed result in the termination message."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from trainer_helpers import synthetic_leads

from leadscore.api.results import TrainingResult

pytestmark = pytest.mark.integration


def _train(run_cli, tmp_path: Path, data: Path, *extra: str, target: str = "converted"):
    process = run_cli("train", "--data", str(data), "--target", target, "--algorithms", "lr", "--trials", "1",
                      "--threads", "1", "--mlflow-uri", "mlruns", "--termination-path", str(tmp_path / "term.json"),
                      "--output", str(tmp_path / "out" / "v1"), *extra)
    return process


def _assert_refused(process, tmp_path: Path, expected: str, exit_code: int | None = None) -> None:
    lines = process.stderr.strip().splitlines()
    assert process.returncode != 0
    if exit_code is not None:
        assert process.returncode == exit_code
    assert lines[-1].startswith("error: "), process.stderr[-2000:]
    assert expected in lines[-1]
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return synthetic_leads(400, seed=5).drop(columns=["true_probability"])


def _csv(frame: pd.DataFrame, tmp_path: Path, name: str = "data.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_train_refuses_a_missing_file(run_cli, tmp_path: Path) -> None:
    process = _train(run_cli, tmp_path, tmp_path / "nope.csv")
    _assert_refused(process, tmp_path, "nope.csv", exit_code=3)
    failed = TrainingResult.model_validate_json((tmp_path / "term.json").read_text())
    assert failed.status == "Failed" and failed.reason == "InvalidDataset"


def test_train_refuses_an_empty_file(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    _assert_refused(_train(run_cli, tmp_path, path), tmp_path, "empty", exit_code=3)


def test_train_refuses_an_unknown_target(run_cli, tmp_path: Path, small: pd.DataFrame) -> None:
    process = _train(run_cli, tmp_path, _csv(small, tmp_path), target="bought")
    _assert_refused(process, tmp_path, "'bought'", exit_code=3)


def test_train_refuses_an_unknown_id_column(run_cli, tmp_path: Path, small: pd.DataFrame) -> None:
    process = _train(run_cli, tmp_path, _csv(small, tmp_path), "--id-col", "lead")
    _assert_refused(process, tmp_path, "id column 'lead'", exit_code=3)


def test_train_refuses_an_unknown_time_column(run_cli, tmp_path: Path, small: pd.DataFrame) -> None:
    process = _train(run_cli, tmp_path, _csv(small, tmp_path), "--time-col", "when")
    _assert_refused(process, tmp_path, "time column 'when'", exit_code=3)


def test_train_refuses_a_target_that_is_not_binary(run_cli, tmp_path: Path, small: pd.DataFrame) -> None:
    frame = small.assign(converted=[i % 3 for i in range(len(small))])
    _assert_refused(_train(run_cli, tmp_path, _csv(frame, tmp_path)), tmp_path, "not binary", exit_code=3)


def test_train_refuses_a_single_class_target(run_cli, tmp_path: Path, small: pd.DataFrame) -> None:
    frame = small.assign(converted=0)
    _assert_refused(_train(run_cli, tmp_path, _csv(frame, tmp_path)), tmp_path, "single class", exit_code=3)


def test_train_refuses_fewer_than_100_rows(run_cli, tmp_path: Path, small: pd.DataFrame) -> None:
    _assert_refused(_train(run_cli, tmp_path, _csv(small.head(60), tmp_path)), tmp_path, "60 rows", exit_code=3)


def test_train_refuses_a_numeric_column_full_of_garbage(run_cli, tmp_path: Path, small: pd.DataFrame) -> None:
    frame = small.astype({"pages_visited": object})
    frame.loc[frame.index[:40], "pages_visited"] = "lots"
    _assert_refused(_train(run_cli, tmp_path, _csv(frame, tmp_path)), tmp_path, "pages_visited", exit_code=3)


def test_train_refuses_duplicate_lead_ids(run_cli, tmp_path: Path, small: pd.DataFrame) -> None:
    frame = small.copy()
    frame.loc[frame.index[1], "lead_id"] = frame["lead_id"].iloc[0]
    process = _train(run_cli, tmp_path, _csv(frame, tmp_path), "--id-col", "lead_id")
    _assert_refused(process, tmp_path, "duplicate", exit_code=3)


def test_train_refuses_a_leaky_column_and_names_it(run_cli, tmp_path: Path, small: pd.DataFrame) -> None:
    frame = small.assign(sales_tag=small["converted"].map({1: "won", 0: "lost"}))
    process = _train(run_cli, tmp_path, _csv(frame, tmp_path))
    _assert_refused(process, tmp_path, "sales_tag", exit_code=4)
    failed = TrainingResult.model_validate_json((tmp_path / "term.json").read_text())
    assert failed.reason == "LeakyColumns" and "sales_tag" in failed.message


def test_train_refuses_an_unknown_algorithm(run_cli, tmp_path: Path, small: pd.DataFrame) -> None:
    process = _train(run_cli, tmp_path, _csv(small, tmp_path), "--algorithms", "lr,svm")
    _assert_refused(process, tmp_path, "svm", exit_code=2)


def test_train_refuses_negative_trials(run_cli, tmp_path: Path, small: pd.DataFrame) -> None:
    """0 is allowed (the CRD's "keep default hyper-parameters"); below it nothing is."""
    process = _train(run_cli, tmp_path, _csv(small, tmp_path), "--trials", "-1")
    _assert_refused(process, tmp_path, "--trials", exit_code=2)


def test_train_refuses_cuda_when_no_gpu_is_visible(run_cli, tmp_path: Path, small: pd.DataFrame) -> None:
    from leadscore.trainer.device import cuda_available

    if cuda_available():
        pytest.skip("this machine has a CUDA GPU")
    process = _train(run_cli, tmp_path, _csv(small, tmp_path), "--device", "cuda")
    _assert_refused(process, tmp_path, "--device cuda", exit_code=2)


def test_train_refuses_an_unsupported_mlflow_uri(run_cli, tmp_path: Path, small: pd.DataFrame) -> None:
    process = run_cli("train", "--data", str(_csv(small, tmp_path)), "--target", "converted", "--algorithms", "lr",
                      "--trials", "1", "--mlflow-uri", "ftp://tracking", "--output", str(tmp_path / "out" / "v1"))
    _assert_refused(process, tmp_path, "ftp", exit_code=2)


def test_evaluate_refuses_a_directory_without_a_model(run_cli, tmp_path: Path, small: pd.DataFrame) -> None:
    (tmp_path / "empty-model").mkdir()
    process = run_cli("evaluate", "--model", str(tmp_path / "empty-model"), "--data", str(_csv(small, tmp_path)),
                      "--target", "converted")
    assert process.returncode == 7
    assert process.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "model.onnx is missing" in process.stderr
