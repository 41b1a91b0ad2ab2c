"""MLflow: one run per training (params, held-out metrics, the artifact directory), nested
runs per Optuna trial, and a registered model version where the store has a registry.

Tracking URI: ``--mlflow-uri``, else ``MLFLOW_TRACKING_URI``, else MLflow's own default
(``sqlite:///mlflow.db`` in the working directory). MLflow 3 refuses the old file store
(``./mlruns``) unless ``MLFLOW_ALLOW_FILE_STORE`` is set, so a ``file:`` URI or a plain
directory is taken to mean "keep tracking in this directory": a SQLite database
``<dir>/mlflow.db`` with artifacts under ``<dir>/artifacts``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from leadscore.errors import ConfigError

ARTIFACT_PATH = "model"
ONNX_MODEL_NAME = "onnx"
_REMOTE_SCHEMES = ("http", "https", "databricks", "sqlite", "postgresql", "mysql", "mssql")


def resolve_uri(uri: str | None) -> tuple[str | None, str | None]:
    """(tracking URI, artifact root for new experiments); (None, None) = MLflow's default."""
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or None
    if uri is None:
        return None, None
    scheme = urlparse(uri).scheme.split("+")[0]
    if scheme in _REMOTE_SCHEMES:
        return uri, None
    if scheme in ("", "file"):
        directory = Path(urlparse(uri).path if scheme == "file" else uri).resolve()
        directory.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{directory / 'mlflow.db'}", (directory / "artifacts").as_uri()
    raise ConfigError(f"--mlflow-uri: unsupported scheme {scheme!r} in {uri!r} "
                      "(use http(s)://, sqlite:///, postgresql://, a file: URI or a directory)")


class Tracker:
    """A thin adapter over the MLflow client; only the trainer's pipeline talks to it."""

    def __init__(self, uri: str | None, experiment: str) -> None:
        import mlflow

        tracking_uri, self._artifact_root = resolve_uri(uri)
        if tracking_uri:
            mlflow.set_tracking_uri(tracking_uri)
        self._mlflow = mlflow
        self.client = mlflow.MlflowClient()
        self.uri = mlflow.get_tracking_uri()
        self.experiment_id = self._experiment(experiment)

    def _experiment(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        return self.client.create_experiment(name, artifact_location=self._artifact_root)

    def start(self, run_name: str, tags: Mapping[str, str]) -> AbstractContextManager[Any]:
        return self._mlflow.start_run(experiment_id=self.experiment_id, run_name=run_name, tags=dict(tags))

    def log_params(self, params: Mapping[str, Any]) -> None:
        self._mlflow.log_params({k: str(v)[:500] for k, v in params.items()})

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        self._mlflow.log_metrics(dict(metrics))

    def log_trial(self, algorithm: str, number: int, params: Mapping[str, Any], value: float | None,
                  state: str) -> None:
        """A nested run per Optuna trial, so the search can be browsed in the UI."""
        with self._mlflow.start_run(experiment_id=self.experiment_id, nested=True,
                                    run_name=f"{algorithm}-trial-{number}",
                                    tags={"leadscore.algorithm": algorithm, "leadscore.trial_state": state}):
            self._mlflow.log_params(dict(params))
            if value is not None:
                self._mlflow.log_metric("valid_log_loss", value)

    def log_directory(self, directory: Path) -> None:
        self._mlflow.log_artifacts(str(directory), artifact_path=ARTIFACT_PATH)

    def log_figures(self, figures: Mapping[str, Any]) -> None:
        """Each matplotlib figure as an image artifact of the run (``path`` -> figure)."""
        for path, figure in figures.items():
            self._mlflow.log_figure(figure, path)

    def log_onnx(self, onnx_bytes: bytes, n_features: int, input_name: str, output_name: str) -> tuple[str, str]:
        """The ONNX graph as an MLflow model (``onnx`` flavour) with its tensor signature; its
        (URI, model id), what a registered version is created from."""
        import mlflow.onnx
        import numpy as np
        import onnx
        from mlflow.models.signature import ModelSignature
        from mlflow.types.schema import Schema, TensorSpec

        signature = ModelSignature(inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, n_features), input_name)]),
                                   outputs=Schema([TensorSpec(np.dtype(np.float32), (-1,), output_name)]))
        info = mlflow.onnx.log_model(onnx.load_from_string(onnx_bytes), name=ONNX_MODEL_NAME, signature=signature)
        return str(info.model_uri), str(info.model_id)

    def register(self, name: str, run_id: str, description: str, source: tuple[str, str],
                 tags: Mapping[str, str]) -> str:
        """A new version of registered model ``name`` from ``source`` (the logged MLflow model),
        tagged with ``tags``; "" where the store has no registry."""
        from mlflow.exceptions import MlflowException

        try:
            try:
                self.client.get_registered_model(name)
            except MlflowException:
                self.client.create_registered_model(name)
            uri, model_id = source
            version = self.client.create_model_version(name, source=uri, run_id=run_id, model_id=model_id,
                                                       description=description, tags=dict(tags))
        except MlflowException as exc:
            if "registry" in str(exc).lower() and "not" in str(exc).lower():
                return ""
            raise
        return str(version.version)

    def unregister(self, name: str, version: str) -> None:
        """Undo ``register`` when publishing the artifact failed afterwards."""
        self.client.delete_model_version(name, version)
