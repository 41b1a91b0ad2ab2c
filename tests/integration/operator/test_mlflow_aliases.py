"""The operator's MLflow aliases against a real ``mlflow server``: ``champion`` follows the
version serving (promotion, rollback by pinning), ``challenger`` an experiment's treatment, and
both are moved through MLflow's REST API only."""

from __future__ import annotations

from typing import Any

import pytest

from leadscore.api.leadscoringmodel import LeadScoringModelSpec, LeadScoringModelStatus
from leadscore.api.results import registered_model_name
from leadscore.operator.mlflow_aliases import MlflowAliases, sync_aliases

pytestmark = pytest.mark.integration

SPEC = {"vertical": "pc", "dataset": {"uri": "s3://data/leads.parquet", "targetColumn": "converted"}}


def _registered(uri: str, name: str, versions: int) -> dict[str, tuple[str, str]]:
    """``versions`` runs, each registered as a version of ``name``: leadscore version -> (run id, MLflow version)."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment(f"{name}-runs")
    client.create_registered_model(name)
    out = {}
    for n in range(1, versions + 1):
        run = client.create_run(experiment).info.run_id
        version = client.create_model_version(name, source=f"runs:/{run}/model", run_id=run).version
        out[f"v{n}"] = (run, str(version))
    return out


def _status(runs: dict[str, tuple[str, str]], **fields: Any) -> LeadScoringModelStatus:
    versions = [{"version": v, "artifactUri": f"s3://m/{v}/", "jobName": f"m-train-{v}", "gate": "Passed",
                 "mlflowRunId": run} for v, (run, _) in runs.items()]
    return LeadScoringModelStatus.model_validate({"versions": versions, **fields})


def _aliases(uri: str, name: str) -> dict[str, str]:
    from mlflow import MlflowClient

    return dict(MlflowClient(tracking_uri=uri).get_registered_model(name).aliases)


def test_champion_and_challenger_follow_promotion_experiment_and_rollback(mlflow_server) -> None:
    name = registered_model_name("sales", "pc-leads")
    runs = _registered(mlflow_server.uri, name, 3)
    mlflow_of = {v: number for v, (_, number) in runs.items()}
    spec = LeadScoringModelSpec.model_validate(SPEC)
    client = MlflowAliases(mlflow_server.uri, timeout=30)
    try:
        assert sync_aliases(client, "sales", "pc-leads", spec, _status(runs, activeVersion="v2")) == {
            "champion": mlflow_of["v2"]}
        experiment = {"name": "v3-vs-v2", "assignment": "sticky", "control": "v2", "treatment": "v3",
                      "trafficPercent": 50}
        running = _status(runs, activeVersion="v2", experiment=experiment)
        assert sync_aliases(client, "sales", "pc-leads", spec, running) == {"challenger": mlflow_of["v3"]}
        assert _aliases(mlflow_server.uri, name) == {"champion": mlflow_of["v2"], "challenger": mlflow_of["v3"]}
        assert sync_aliases(client, "sales", "pc-leads", spec, running) == {}  # nothing to move: no calls
        # rollback: the experiment ends and the model is pinned to v1
        pinned = LeadScoringModelSpec.model_validate({**SPEC, "serving": {"pinnedVersion": "v1"}})
        assert sync_aliases(client, "sales", "pc-leads", pinned, _status(runs, activeVersion="v2")) == {
            "champion": mlflow_of["v1"], "challenger": None}
        assert _aliases(mlflow_server.uri, name) == {"champion": mlflow_of["v1"]}
        # another namespace's model of the same name has its own registered model (not created: nothing to do)
        assert sync_aliases(client, "marketing", "pc-leads", spec, _status(runs, activeVersion="v3")) == {}
        assert _aliases(mlflow_server.uri, name) == {"champion": mlflow_of["v1"]}
    finally:
        client.close()
