"""Small real artifacts for predictor tests, built only through the trainer's and features' public API.

An artifact is what docs/architecture.md describes: ``model.onnx`` (the trainer's single scoring
graph), ``feature_spec.json``, ``model_card.json``, ``boosters/`` and ``result.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from leadscore.api.artifact import UNCERTAINTY_FILE
from leadscore.api.leadscoringmodel import ScoringSpec
from leadscore.api.results import TrainingResult
from leadscore.data import DatasetSpec, drop_ground_truth, infer_schema, synth
from leadscore.engines import save_parity_rows
from leadscore.features import LeadFeatures
from leadscore.scoring import score_histogram
from leadscore.trainer import intervals, onnx_graph
from leadscore.trainer.algorithms import ALGORITHMS, TrainData
from leadscore.trainer.ensemble import fit_blend
from leadscore.trainer.onnx_graph import Member

SPEC = DatasetSpec(target="converted", id_column="lead_id", time_column="created_at")


def synthetic_leads(rows: int, seed: int) -> pd.DataFrame:
    return drop_ground_truth(synth.generate("pc", rows, seed))


def build_artifact(
    target: Path,
    version: str,
    algorithms: tuple[str, ...] = ("lightgbm", "lr"),
    rows: int = 1200,
    seed: int = 7,
    scoring: ScoringSpec | None = None,
    threshold: float = 0.25,
    parity_rows: bool = False,
    method: str = "sigmoid",
    uncertainty: bool = True,
) -> Path:
    """Fit features and members on synthetic P&C leads, blend, export, write the directory
    (without ``uncertainty.json`` when not ``uncertainty``: a version trained before intervals).

    Without ``parity_rows`` the directory is an artifact from before per-member engines (no
    stored held-out rows): it scores with ``model.onnx`` alone."""
    frame = synthetic_leads(rows, seed)
    schema = infer_schema(frame, SPEC)
    y = frame[SPEC.target].to_numpy()
    cut = int(rows * 0.75)
    features = LeadFeatures(schema=schema.model_dump()).fit(frame.iloc[:cut], y[:cut])
    x = features.transform(frame).astype(np.float32)
    data = TrainData(x[:cut], y[:cut], x[cut:], y[cut:], seed=seed, threads=1)
    (target / "boosters").mkdir(parents=True, exist_ok=True)
    fitted, margins = {}, {}
    for name in algorithms:
        algorithm = ALGORITHMS[name]
        params = algorithm.default_params()
        fitted[name] = algorithm.fit(data, params, None)
        margins[name] = algorithm.margin(fitted[name], data.x_valid)
        algorithm.save_native(fitted[name], target / "boosters" / algorithm.native_file)
    blend = fit_blend(margins, list(algorithms), data.y_valid, method)
    members = [
        Member(name, ALGORITHMS[name].to_onnx(fitted[name], x.shape[1]), float(w))
        for name, w in zip(blend.members, blend.weights, strict=True)
    ]
    model = onnx_graph.build(members, blend, x.shape[1])
    (target / "model.onnx").write_bytes(model.SerializeToString())
    if parity_rows:
        save_parity_rows(target, data.x_valid)
    if uncertainty:
        table = intervals.fit(blend.predict(margins), blend.members, margins, data.y_valid)
        (target / UNCERTAINTY_FILE).write_text(table.model_dump_json())
    (target / "feature_spec.json").write_text(json.dumps(features.to_spec()))
    card = {
        "version": version,
        "created": "2026-11-20T10:00:00Z",
        "vertical": "pc",
        "threshold": threshold,
        "algorithms": list(algorithms),
        "shipped": "ensemble" if len(algorithms) > 1 else algorithms[0],
        "members": [
            {"algorithm": m.name, "weight": m.weight, "native_file": f"boosters/{ALGORITHMS[m.name].native_file}"}
            for m in members
        ],
        "calibration": {"method": blend.method, "parameters": blend.calibrator.to_dict()},
        "scoring": (scoring or ScoringSpec()).to_wire(),
        "score_histogram": score_histogram(onnx_graph.predict(onnx_graph.session(model.SerializeToString()), x[cut:])),
    }
    (target / "model_card.json").write_text(json.dumps(card))
    (target / "result.json").write_text(
        TrainingResult(status="Succeeded", version=version, artifact_uri=str(target)).model_dump_json()
    )
    return target


def request_records(rows: int, seed: int) -> list[dict[str, object]]:
    """Leads as a CRM would send them: JSON-ready values, no label, ISO timestamps."""
    frame = synthetic_leads(rows, seed).drop(columns=[SPEC.target])
    frame["created_at"] = frame["created_at"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    records = json.loads(frame.to_json(orient="records"))
    return [{k: v for k, v in r.items() if v is not None} for r in records]
