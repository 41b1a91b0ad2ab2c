"""Training against the real parts: data read from and model published to an S3 server
(MinIO on loopback), tracked in a real ``mlflow server`` (SQLite backend, S3 artifacts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leadscore.api.results import TrainingResult, registered_model_name

pytestmark = pytest.mark.integration

ARTIFACT = {"model.onnx", "feature_spec.json", "model_card.json", "result.json"}


def _keys(s3_server, bucket: str, prefix: str) -> set[str]:
    objects = s3_server.client().list_objects(bucket, prefix=prefix, recursive=True)
    return {o.object_name.removeprefix(prefix) for o in objects}


def test_train_publishes_to_s3_and_registers_a_version_in_mlflow(
    s3_bucket: str, s3_server, mlflow_server, leads_csv: Path, run_cli, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s3_server.client().fput_object(s3_bucket, "data/leads.csv", str(leads_csv))
    output = f"s3://{s3_bucket}/model/v1/"
    process = run_cli(
        "train", "--data", f"s3://{s3_bucket}/data/leads.csv", "--target", "converted", "--id-col", "lead_id",
        "--algorithms", "lr,xgboost", "--trials", "1", "--threads", "1", "--model-name", "s3-leads",
        "--registered-model", registered_model_name("sales", "s3-leads"), "--namespace", "sales",
        "--job", "s3-leads-train-v1",
        "--version", "v1", "--mlflow-uri", mlflow_server.uri, "--termination-path", str(tmp_path / "term.json"),
        "--output", output, env=s3_server.env,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    keys = _keys(s3_server, s3_bucket, "model/v1/")
    assert keys >= ARTIFACT
    assert _keys(s3_server, s3_bucket, "model/v1") == {f"/{key}" for key in keys}  # no v1.progress.json left
    assert "cannot write progress" not in process.stderr and "cannot remove" not in process.stderr
    card = json.loads(s3_server.client().get_object(s3_bucket, "model/v1/model_card.json").read())
    assert {m["native_file"] for m in card["members"]} <= keys

    result = TrainingResult.model_validate_json((tmp_path / "term.json").read_text())
    assert result.status == "Succeeded" and result.artifact_uri == output

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server.uri)
    assert result.mlflow_registered_model == "sales.s3-leads"  # pc-leads of two namespaces never share one
    assert client.search_model_versions("name='s3-leads'") == []
    version = client.get_model_version("sales.s3-leads", result.mlflow_model_version)
    assert {k: v for k, v in version.tags.items() if k.startswith("leadscore.")} == {
        "leadscore.version": "v1", "leadscore.namespace": "sales", "leadscore.model": "s3-leads",
        "leadscore.job": "s3-leads-train-v1"}
    # the registered version is the ONNX graph as an MLflow model: onnx flavour, tensor signature
    from mlflow.models import get_model_info

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)  # models:/ URIs resolve through it
    info = get_model_info(f"models:/sales.s3-leads/{result.mlflow_model_version}")
    assert "onnx" in info.flavors
    (features,) = info.signature.inputs.inputs
    assert (features.name, features.shape) == ("features", (-1, len(card["feature_names"])))
    assert info.signature.outputs.inputs[0].name == "probability"
    run = client.get_run(result.mlflow_run_id)
    assert run.data.metrics["roc_auc"] == pytest.approx(result.metrics["roc_auc"])
    assert run.data.params["split"] == "stratified"
    logged = {a.path for a in client.list_artifacts(result.mlflow_run_id, "model")}
    assert "model/model.onnx" in logged
    figures = {a.path for a in client.list_artifacts(result.mlflow_run_id, "figures")}
    assert figures == {"figures/roc.png", "figures/calibration.png", "figures/lift.png"}
    nested = client.search_runs([run.info.experiment_id],
                                filter_string=f"tags.mlflow.parentRunId = '{result.mlflow_run_id}'")
    assert len(nested) == 2  # one trial each for lr and xgboost

    evaluated = run_cli("evaluate", "--model", output, "--data", str(leads_csv), "--target", "converted", "--json",
                        env=s3_server.env)
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert json.loads(evaluated.stdout)["rows"] == 2000


def test_train_publishes_nothing_to_s3_when_the_data_leaks(
    s3_bucket: str, s3_server, mlflow_server, leads_csv: Path, run_cli, tmp_path: Path
) -> None:
    import pandas as pd

    frame = pd.read_csv(leads_csv)
    frame["closed_reason"] = frame["converted"].map({1: "signed", 0: "no answer"})
    frame.to_csv(tmp_path / "leaky.csv", index=False)
    process = run_cli(
        "train", "--data", str(tmp_path / "leaky.csv"), "--target", "converted", "--algorithms", "lr",
        "--trials", "1", "--mlflow-uri", mlflow_server.uri, "--termination-path", str(tmp_path / "term.json"),
        "--output", f"s3://{s3_bucket}/model/v2/", env=s3_server.env,
    )
    assert process.returncode == 4
    assert "closed_reason" in process.stderr.strip().splitlines()[-1]
    assert _keys(s3_server, s3_bucket, "model/") == set()
    assert TrainingResult.model_validate_json((tmp_path / "term.json").read_text()).reason == "LeakyColumns"
