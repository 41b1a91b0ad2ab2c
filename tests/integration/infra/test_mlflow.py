"""The mlflow_server fixture is a real tracking server whose artifacts land in the S3 server."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.mlflow_server import ARTIFACT_BUCKET, MLflowServer
from support.s3 import S3Server

pytestmark = pytest.mark.integration


def test_mlflow_server_keeps_a_run_when_params_metrics_and_an_artifact_are_logged(
    mlflow_server: MLflowServer, s3_server: S3Server, tmp_path: Path
) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server.uri)
    experiment_id = client.create_experiment("infra-round-trip")
    run = client.create_run(experiment_id)
    client.log_param(run.info.run_id, "algorithm", "lightgbm")
    client.log_metric(run.info.run_id, "roc_auc", 0.875)
    card = tmp_path / "model_card.json"
    card.write_text('{"shipped": "lightgbm"}')
    client.log_artifact(run.info.run_id, str(card))
    client.set_terminated(run.info.run_id)

    stored = client.get_run(run.info.run_id)
    assert stored.data.params == {"algorithm": "lightgbm"}
    assert stored.data.metrics == {"roc_auc": 0.875}
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["model_card.json"]
    keys = [o.object_name for o in s3_server.client().list_objects(ARTIFACT_BUCKET, recursive=True)]
    assert any(k.endswith(f"{run.info.run_id}/artifacts/model_card.json") for k in keys), keys


def test_mlflow_server_registers_a_model_version_when_asked(mlflow_server: MLflowServer) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server.uri, registry_uri=mlflow_server.uri)
    client.create_registered_model("infra-model")
    version = client.create_model_version("infra-model", source="s3://models/infra/v1")

    assert version.version == "1"
    assert client.get_registered_model("infra-model").name == "infra-model"
