"""What serves a lead: a trained artifact or the rule-based baseline, behind one interface.

Without an experiment there is one arm (label ``None``). With a sticky experiment there are
two, ``control`` and ``treatment``, and either may be the rules; each lead's arm comes from
``routing.assign_arm`` on its id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any, Protocol

import numpy as np

from leadscore.api.wire import Device
from leadscore.engines import Engines, choose
from leadscore.engines.choice import reference_only
from leadscore.explain import UNIT, Explainer, members_from_card
from leadscore.features.describe import describe
from leadscore.features.spec import FeatureSpec
from leadscore.features.text import describe_term
from leadscore.predictor import metrics, rules
from leadscore.predictor.columnar import Columns
from leadscore.predictor.engine import SMALL_BATCH, OnnxScorer, default_threads
from leadscore.published import PublishedArtifact
from leadscore.uncertainty import Table, per_lead

Factor = dict[str, Any]


class Arm(Protocol):
    label: str | None
    version: str
    feature_spec: FeatureSpec | None
    unit: str

    def probabilities(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Calibrated probability of conversion per lead, float64 [N]."""
        ...

    def scored(self, records: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray | None]:
        """Probabilities and ``leadscore.uncertainty.per_lead`` (None when the arm has no such numbers)."""
        ...

    def factors(self, records: Sequence[Mapping[str, Any]], top: int) -> list[list[Factor]]:
        """Per lead, the ``top`` factors by absolute contribution, largest first."""
        ...


def _top_factors(
    terms: np.ndarray, names: Sequence[str], fields: Sequence[str], values: Sequence[Any], top: int
) -> list[Factor]:
    """The largest |terms| of one lead: the feature, the raw field and value it came from, a phrase."""
    order = np.argsort(-np.abs(terms), kind="stable")[:top]
    return [
        {
            "feature": names[j],
            "field": fields[j],
            "value": values[j],
            "contribution": round(float(terms[j]), 6),
            "description": describe_term(names[j], fields[j], values[j]) or describe(fields[j], values[j]),
        }
        for j in order
        if terms[j] != 0.0
    ]


class ModelArm:
    """A trained version: scores from ``model.onnx`` or the members' verified faster engines
    (``leadscore.engines``), native boosters for explanations."""

    unit = UNIT

    def __init__(self, artifact: PublishedArtifact, label: str | None, device: Device, threads: int | None) -> None:
        self.label = label
        self.version = artifact.version
        self.artifact = artifact
        self.feature_spec: FeatureSpec | None = artifact.feature_spec
        self._table = Table(artifact.uncertainty) if artifact.uncertainty is not None else None
        # an ensemble whose agreement is served asks model.onnx for its members' margins too; the
        # engines then answer them as well (verified against model.onnx's at load)
        self._onnx = OnnxScorer(artifact.onnx_path, device=device, threads=threads,
                                members=self._table is not None and len(self._table.members) > 1)
        if self._onnx.providers[0] == "CPUExecutionProvider":
            self.engines: Engines = choose(artifact.path, artifact.card, self._onnx.predict_members,
                                           threads=threads or default_threads(), small=SMALL_BATCH)
        else:
            self.engines = reference_only(self._onnx.predict_members, SMALL_BATCH,
                                          f"model.onnx runs on {self._onnx.providers[0]}: it scores every lead")
        self._names = artifact.feature_spec.feature_names()
        origins = artifact.feature_spec.feature_origins()
        self._fields = [origins.get(name, name) for name in self._names]

    @property
    def providers(self) -> list[str]:
        return self._onnx.providers

    def probabilities(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        return self.engines.predict(self.artifact.feature_spec.transform_records(records))

    def scored(self, records: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray | None]:
        return self._with_uncertainty(self.artifact.feature_spec.transform_records(records))

    def score_columns(self, columns: Columns, size: int) -> tuple[np.ndarray, np.ndarray | None]:
        """``scored`` for the same leads as typed columns (``leadscore.predictor.columnar``): the batch fast path."""
        return self._with_uncertainty(self.artifact.feature_spec.transform_columns(columns, size))

    def _with_uncertainty(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        probability, margins = self.engines.scored(matrix)
        return probability, None if self._table is None else per_lead(self._table, probability, margins)

    def announce(self, model_name: str, logger: logging.Logger) -> None:
        """Log the engine per batch-size class and member, and every refusal; set the engine metric."""
        logger.info("model %s: version %s scores with %s", model_name, self.version, self.engines.summary())
        for note in self.engines.notes:
            logger.info("model %s: version %s: %s", model_name, self.version, note)
        for batch_class, route in self.engines.routes.items():
            for member, engine in (route.engines or {"all": route.label}).items():
                metrics.ENGINE.labels(model_name, self.version, batch_class, member, engine).set(1)

    @cached_property
    def _explainer(self) -> Explainer:
        """Boosters load on the first ``:explain``: scoring never pays for them."""
        return Explainer(members_from_card(self.artifact.card, self.artifact.path))

    def factors(self, records: Sequence[Mapping[str, Any]], top: int) -> list[list[Factor]]:
        matrix = self.artifact.feature_spec.transform_records(records)
        explanation = self._explainer.explain(matrix)
        out = []
        for i, record in enumerate(records):
            values = [_origin_value(record, field, matrix[i, j]) for j, field in enumerate(self._fields)]
            out.append(_top_factors(explanation.terms[i], self._names, self._fields, values, top))
        return out


def _origin_value(record: Mapping[str, Any], origin: str, encoded: float) -> Any:
    """The raw value a feature came from; derived factors (completeness, ratios) show their own."""
    if origin in record:
        return record[origin]
    return None if np.isnan(encoded) else round(float(encoded), 4)


class RulesArm:
    """The points table of ``rules``; its probability is the score / 100 (never calibrated)."""

    unit = "points (rule-based score, 0-100)"
    feature_spec: FeatureSpec | None = None

    def __init__(self, label: str | None) -> None:
        self.label = label
        self.version = rules.RULES_VERSION

    def probabilities(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        return rules.rule_scores(records) / 100.0

    def scored(self, records: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray | None]:
        """Rule points are not calibrated: no interval, confidence or agreement."""
        return self.probabilities(records), None

    def factors(self, records: Sequence[Mapping[str, Any]], top: int) -> list[list[Factor]]:
        points, values = rules.rule_points(records)
        names = [rule.factor for rule in rules.RULES]
        return [_top_factors(points[i], names, names, [v for _, v in values[i]], top) for i in range(len(records))]
