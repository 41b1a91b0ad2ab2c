"""Offline use of a published model: ``leadscore evaluate`` and ``leadscore score``.

Both read only what a predictor reads (``model.onnx``, ``feature_spec.json``,
``model_card.json``, the stored parity rows and the native boosters), and score on the same
verified engines (``leadscore.engines``), so an evaluation measures exactly what would be served.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadscore.api.health import DriftReport
from leadscore.api.leadscoringmodel import ScoringSpec
from leadscore.data import load_dataset
from leadscore.data.selection import RowSelection, select_rows
from leadscore.data.validation import binary_target
from leadscore.engines import Engines, choose
from leadscore.errors import DatasetError, StorageError
from leadscore.features.spec import frame_columns
from leadscore.monitoring.drift import DriftThresholds, compare
from leadscore.monitoring.profile import PROFILE_FILE, ReferenceProfile
from leadscore.published import PublishedArtifact
from leadscore.store import artifacts
from leadscore.trainer import onnx_graph
from leadscore.trainer.metrics import evaluate
from leadscore.uncertainty import UNCERTAINTY_FIELDS, Table, per_lead


@dataclass
class PublishedModel:
    """A published version (opened as the predictor opens it) with a session tuned for batches
    and the members' engines chosen as the predictor chooses them."""

    artifact: PublishedArtifact
    session: Any  # onnxruntime.InferenceSession
    engines: Engines

    @classmethod
    def open(cls, uri: str, threads: int | None = None) -> PublishedModel:
        """``threads`` per batch call (default: every core; a Ray task passes the CPUs it holds)."""
        artifact = PublishedArtifact.open(uri)
        session = onnx_graph.session(str(artifact.onnx_path))
        # an ensemble with agreement also answers its members' margins, from the same run
        members = artifact.uncertainty is not None and len(artifact.uncertainty.members) > 1

        def reference(x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
            return onnx_graph.predict_with_members(session, x, members)

        engines = choose(artifact.path, artifact.card, reference, threads=threads or os.cpu_count() or 1, small=2,
                         spinning=True)
        return cls(artifact=artifact, session=session, engines=engines)

    def probabilities(self, frame: pd.DataFrame, batch_size: int = 65536) -> np.ndarray:
        return self.scored(frame, batch_size, uncertain=False)[0]

    def scored(self, frame: pd.DataFrame, batch_size: int = 65536, uncertain: bool = True,
               progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities, and ``leadscore.uncertainty.per_lead`` (the interval, confidence and
        agreement the endpoint answers; NaN where the version has none) when ``uncertain``,
        ``batch_size`` rows at a time; ``progress(done, total)`` after each batch."""
        from leadscore.features.pipeline import frame_columns

        table = Table(self.artifact.uncertainty) if uncertain and self.artifact.uncertainty is not None else None
        out, extra = [], []
        for start in range(0, len(frame), batch_size):
            chunk = frame.iloc[start : start + batch_size]
            matrix = self.artifact.feature_spec.transform_columns(frame_columns(chunk), len(chunk))
            probability, margins = self.engines.scored(matrix)
            out.append(probability)
            extra.append(per_lead(table, probability, margins))
            if progress is not None:
                progress(start + len(chunk), len(frame))
        if not out:
            return np.empty(0), np.empty((0, len(UNCERTAINTY_FIELDS)))
        return np.concatenate(out), np.concatenate(extra)


def evaluate_model(model_uri: str, data_uri: str, target: str) -> dict[str, Any]:
    """Held-out style metrics of a published model on labelled data."""
    model = PublishedModel.open(model_uri)
    frame = load_dataset(data_uri)
    if target not in frame.columns:
        shown = ", ".join(map(str, frame.columns[:12]))
        raise DatasetError(f"target {target!r} is not in the dataset (columns: {shown})")
    labels = binary_target(frame[target]).to_numpy(dtype=np.int64)
    probabilities = model.probabilities(frame.drop(columns=[target]))
    metrics = evaluate(labels, probabilities, model.artifact.card.threshold)
    return {"model_version": model.artifact.card.version, **metrics.model_dump()}


def drift_of_file(model_uri: str, data_uri: str, thresholds: DriftThresholds) -> DriftReport:
    """A data file's drift against the model's reference profile, the model's scores included."""
    model = PublishedModel.open(model_uri)
    profile_path = model.artifact.path / PROFILE_FILE
    if not profile_path.is_file():
        raise StorageError(f"model {model_uri}: {PROFILE_FILE} is missing (trained before leadscore stored "
                           "reference profiles); retrain it to monitor drift")
    profile = ReferenceProfile.model_validate_json(profile_path.read_text())
    frame = load_dataset(data_uri)
    return compare(profile, frame_columns(frame), len(frame), model.probabilities(frame), thresholds)


@dataclass(frozen=True)
class ScoreRun:
    """What one ``score_file`` did: the completion metrics of a (scheduled) re-scoring."""

    rows: int
    """Leads scored and written."""
    dataset_rows: int
    """Leads in the dataset before the selection."""
    seconds: float
    """Time in the model alone (rows/s is measured on it)."""
    model_version: str
    engines: Engines
    """What scored: the engine per batch-size class and member, and every refusal."""
    tiers: dict[str, int] = field(default_factory=dict)
    """Leads per tier, every tier named (zero included)."""


def score_file(model_uri: str, data_uri: str, output: str, batch_size: int,
               scoring: ScoringSpec | None = None, selection: RowSelection | None = None,
               progress: Callable[[int, int], None] | None = None) -> ScoreRun:
    """Write per row what the endpoint answers (``score_rows``) for the rows ``selection`` keeps.
    The tiers are ``scoring``'s, else the card's: the precedence the predictor applies. The output
    is replaced whole (``artifacts.write_bytes``), so a rerun overwrites the previous run's file."""
    model = PublishedModel.open(model_uri)
    bounds = tier_bounds(model, scoring)  # refuse before loading the data
    dataset = load_dataset(data_uri)
    frame = select_rows(dataset, selection, data_uri) if selection is not None else dataset
    started = time.perf_counter()
    table, counts = score_rows(model, scoring, bounds, frame, batch_size, progress)
    seconds = time.perf_counter() - started
    artifacts.write_bytes(output, table_bytes(table, output))
    return ScoreRun(rows=len(table), dataset_rows=len(dataset), seconds=seconds, model_version=model.artifact.version,
                    engines=model.engines, tiers=counts)


def tier_bounds(model: PublishedModel, scoring: ScoringSpec | None) -> np.ndarray:
    """The score cut-offs of ``scoring``'s tiers, else the card's (``leadscore.scoring.cutoffs``)."""
    from leadscore.scoring import cutoffs

    return cutoffs(scoring or model.artifact.card.scoring, model.artifact.card.score_histogram)


def score_rows(model: PublishedModel, scoring: ScoringSpec | None, bounds: np.ndarray, frame: pd.DataFrame,
               batch_size: int, progress: Callable[[int, int], None] | None = None,
               ) -> tuple[pd.DataFrame, dict[str, int]]:
    """The output table of ``leadscore score`` for ``frame`` (lead id, probability, binary prediction,
    score, tier, action, SLA, priority, interval, confidence, agreement, model version and type) and
    the leads per tier, every tier named. One home for a node's whole file and a Ray shard alike."""
    from leadscore.scoring import TIERS, actions, demote_unconfident, priorities, slas, tier_index, to_scores

    card = model.artifact.card
    spec = scoring or card.scoring
    probabilities, uncertainty = model.scored(frame, batch_size, progress=progress)
    scores = to_scores(probabilities)
    tiers = demote_unconfident(tier_index(scores, bounds), uncertainty[:, UNCERTAINTY_FIELDS.index("confidence")],
                               spec)
    id_field = model.artifact.feature_spec.id_field
    ids = frame[id_field].to_numpy() if id_field and id_field in frame.columns else np.arange(len(frame))
    table = pd.DataFrame({
        id_field or "row": ids,
        "probability": probabilities,
        "prediction": probabilities >= card.threshold,
        "score": scores,
        "tier": np.asarray(TIERS, dtype=object)[tiers],
        "action": np.asarray(actions(spec), dtype=object)[tiers],
        "sla": np.asarray(slas(spec), dtype=object)[tiers],
        "priority": np.asarray(priorities(spec), dtype=object)[tiers],
        **dict(zip(UNCERTAINTY_FIELDS, np.round(uncertainty, 6).T, strict=True)),
        "model_version": model.artifact.version,
        "model_type": card.shipped,
    })
    counts = np.bincount(tiers, minlength=len(TIERS))
    return table, {tier: int(n) for tier, n in zip(TIERS, counts, strict=True)}


def table_bytes(table: pd.DataFrame, output: str) -> bytes:
    """The scores file: Parquet when ``output`` ends in ``.parquet``, else CSV."""
    buffer = io.BytesIO()
    if output.lower().endswith(".parquet"):
        table.to_parquet(buffer, index=False)
    else:
        table.to_csv(buffer, index=False)
    return buffer.getvalue()


def write_termination_message(path: str | None, text: str) -> str | None:
    """Best effort: the Job's result must not be lost to an unwritable path, but say so."""
    if not path:
        return None
    try:
        Path(path).write_text(text)
    except OSError as exc:
        return f"cannot write the termination message to {path}: {exc.strerror or exc}"
    return None
