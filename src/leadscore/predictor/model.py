"""``LeadScoreModel``: the ``kserve.Model`` the leadscore ServingRuntime serves.

KServe runs ``preprocess -> predict | explain -> postprocess`` and owns every wire format,
status code and health route. Here:

* ``preprocess`` decodes V1 instances, V2 field tensors or the V2 ``records`` JSON input into
  lead records, validates them against every serving arm's ``feature_spec.json`` and assigns
  each lead its arm (sticky hash of the lead id) when an experiment runs;
* ``predict`` scores each arm's leads with its ONNX session (or the rules);
* ``explain`` adds each lead's top factors;
* ``postprocess`` maps probabilities to score, tier and action and answers in the caller's
  protocol (V1 ``predictions`` or V2 output tensors).

The stages are synchronous on purpose: a request is a few hundred microseconds of CPU, less
than a hop to a thread pool costs.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from kserve import InferRequest, InferResponse, Model
from kserve.errors import InvalidInput
from kserve.model import InferenceVerb
from kserve.protocol.infer_type import InferOutput

from leadscore.api.wire import RECORDS_TENSOR
from leadscore.errors import ConfigError
from leadscore.features.contract import RecordError
from leadscore.predictor import metrics
from leadscore.predictor.arms import Arm, ModelArm, RulesArm
from leadscore.predictor.artifact import open_artifact
from leadscore.predictor.columnar import MIN_BATCH, Columns, plain_columns
from leadscore.predictor.config import RULES, PredictorSettings
from leadscore.predictor.decode import DecodedBatch, check_batch_size, v1_batch, v1_locate, v2_batch
from leadscore.predictor.errors import InvalidRecord, RequestRefused
from leadscore.predictor.routing import CONTROL, TREATMENT, assign_arm
from leadscore.predictor.rules import RULES_VERSION
from leadscore.predictor.typed import RawInstances, TypedLeads
from leadscore.predictor.v1json import encode_leads
from leadscore.scoring import TIERS, actions, cutoffs, demote_unconfident, priorities, slas, tier_index, to_scores
from leadscore.uncertainty import UNCERTAINTY_FIELDS

DEFAULT_ID_FIELD = "lead_id"

logger = logging.getLogger("kserve")

OUT_OF_RANGE = "out_of_range"
"""Response field (V1) / output tensor (V2, comma-separated) naming a lead's clipped fields;
present only when some lead of the request had one."""

_V2_TYPES = {"numeric": "FP64", "boolean": "BOOL"}  # every other field kind travels as BYTES


@dataclass
class Prepared:
    """A validated request on its way through the stages."""

    batch: DecodedBatch
    lead_ids: list[str]
    arm_index: np.ndarray | None  # per lead, index into LeadScoreModel.arms; None: one arm
    request: InferRequest | None = None
    columns: dict[int, Columns] = field(default_factory=dict)  # id(FeatureSpec) -> typed columns
    out_of_range: list[list[str]] | None = None  # per lead: fields outside the training range; None: none
    started: float = 0.0  # perf_counter() when the decoded request reached preprocess
    encoded: bool = False  # answer V1 as JSON bytes (a raw V1 body whose answer KServe does not wrap)


@dataclass
class Scored:
    """Probabilities per lead, plus the explanation factors when the verb was explain."""

    prepared: Prepared
    probability: np.ndarray
    factors: list[list[dict[str, Any]]] | None = field(default=None)
    fell_back: np.ndarray | None = field(default=None)  # per lead: scored by the rules after a model failure
    covariate: np.ndarray | None = field(default=None)  # per lead: the control arm's probability (experiments)
    uncertainty: np.ndarray | None = field(default=None)  # [N, 4] UNCERTAINTY_FIELDS, NaN where none


class LeadScoreModel(Model):
    """Scores, tiers, actions and explanations for lead records."""

    def __init__(self, name: str, settings: PredictorSettings) -> None:
        super().__init__(name)
        self.settings = settings
        self.arms: list[Arm] = []
        self.ready = False

    # ---- loading -------------------------------------------------------------------------

    def load(self) -> bool:
        """Open every artifact the settings name; raises ModelMissingError naming a missing file."""
        ab = self.settings.ab
        if ab is None:
            self.arms = [self._open_arm(self.settings.model_uri, None)]
        else:
            self.arms = [self._open_arm(ab.control_uri, CONTROL), self._open_arm(ab.treatment_uri, TREATMENT)]
        specs = [arm.feature_spec for arm in self.arms if arm.feature_spec is not None]
        if not specs:
            raise ConfigError("an experiment needs at least one trained arm; both arms are 'rules'")
        self._specs = specs
        self._id_field = next((s.id_field for s in specs if s.id_field), DEFAULT_ID_FIELD)
        self._known_fields = {f.name for s in specs for f in s.inputs} | {self._id_field}
        # V1 bodies typed in C against the one contract; two trained arms' contracts take the usual path
        self._typed = (TypedLeads(specs[0].inputs, self._id_field, strict=self.settings.strict)
                       if len(specs) == 1 else None)
        first = next(arm for arm in self.arms if isinstance(arm, ModelArm))
        self._scoring = self.settings.scoring or first.artifact.card.scoring
        # Each version cuts its own held-out distribution (tiers set by share); the rules arm of an
        # experiment borrows the trained arm's cut-offs, as it has no distribution of its own.
        self._bounds = np.stack([
            cutoffs(self._scoring, (arm if isinstance(arm, ModelArm) else first).artifact.card.score_histogram)
            for arm in self.arms
        ])
        self._tier_names = np.array(TIERS, dtype=object)
        self._tier_actions = np.array(actions(self._scoring), dtype=object)
        self._tier_slas = np.array(slas(self._scoring), dtype=object)
        self._tier_priorities = np.array(priorities(self._scoring), dtype=object)
        # Per arm: the model type, and the probability cut-off of the binary ``prediction`` (the
        # version's best-F1 threshold; the rules arm borrows the trained arm's, as for the tiers).
        cards = [arm.artifact.card if isinstance(arm, ModelArm) else None for arm in self.arms]
        self._model_types = np.array([card.shipped if card else RULES for card in cards], dtype=object)
        self._thresholds = np.array([(card or first.artifact.card).threshold for card in cards])
        self._vertical = first.artifact.card.vertical
        self.activated_at = datetime.now(UTC)
        self._errors = {
            reason: metrics.ERRORS.labels(self.name, reason)
            for reason in ("invalid_input", "malformed_request", "batch_too_large", "invalid_record", "internal",
                           "scoring_fallback")
        }
        self._fallback = RulesArm(None) if self.settings.fallback == RULES else None
        self._prediction_counters: dict[tuple[str, str, str], Any] = {}
        self._output_types = {o["name"]: o["datatype"] for o in self.get_output_types()}
        self._latency = {verb: metrics.REQUEST_SECONDS.labels(self.name, verb.name.lower()) for verb in InferenceVerb}
        for arm, (low, medium, high) in zip(self.arms, self._bounds.tolist(), strict=True):
            where = ", ".join(arm.providers) if isinstance(arm, ModelArm) else "rules"
            logger.info("model %s: arm %s serves version %s (%s); tiers high >= %d, medium >= %d, low >= %d",
                        self.name, arm.label or "-", arm.version, where, high, medium, low)
            if isinstance(arm, ModelArm):
                arm.announce(self.name, logger)
        self.ready = True
        return self.ready

    def _open_arm(self, uri: str, label: str | None) -> Arm:
        if uri == RULES:
            return RulesArm(label)
        return ModelArm(open_artifact(uri), label, self.settings.device, self.settings.threads)

    def __getstate__(self) -> dict[str, Any]:
        """Only the settings cross a process boundary (``--workers`` > 1); each worker reloads."""
        return {"name": self.name, "settings": self.settings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Load in the background: KServe pings a new worker within 5 s of unpickling it and
        replaces one that does not answer, and loading can take longer than that. Until the
        load finishes the worker reports not ready (503), as a loading pod does."""
        self.__init__(state["name"], state["settings"])  # type: ignore[misc]
        threading.Thread(target=self.load, name=f"load-{self.name}", daemon=True).start()

    # ---- metadata ------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """What this endpoint serves (``GET /v1/models/{name}/info``): per arm the version, what
        it is, when it was trained, when this predictor began serving it (a rollout starts new
        predictor pods, so this is when the version went live here), its binary-prediction
        threshold and the tier cut-offs in force."""
        versions: list[dict[str, Any]] = []
        if not self.ready:  # a worker still loading: nothing is served yet
            return {"name": self.name, "ready": False, "versions": versions}
        for k, arm in enumerate(self.arms):
            card = arm.artifact.card if isinstance(arm, ModelArm) else None
            low, medium, high = self._bounds[k].tolist()
            versions.append({
                "version": arm.version, "arm": arm.label, "model_type": str(self._model_types[k]),
                "vertical": self._vertical, "trained_at": card.created.isoformat() if card and card.created else None,
                "activated_at": self.activated_at.isoformat(), "threshold": float(self._thresholds[k]),
                "tiers": {"high": high, "medium": medium, "low": low},
                "engines": arm.engines.describe() if isinstance(arm, ModelArm) else None,
            })
        return {"name": self.name, "ready": self.ready, "versions": versions}

    # ---- V2 metadata ---------------------------------------------------------------------

    def get_input_types(self) -> list[dict[str, Any]]:
        """One tensor per raw lead field (or ``records``: whole leads as JSON strings)."""
        seen: dict[str, dict[str, Any]] = {}
        for spec in self._specs:
            for f in spec.inputs:
                seen.setdefault(f.name, {"name": f.name, "datatype": _V2_TYPES.get(f.kind, "BYTES"), "shape": [-1]})
        return [*seen.values(), {"name": RECORDS_TENSOR, "datatype": "BYTES", "shape": [-1]}]

    def get_output_types(self) -> list[dict[str, Any]]:
        outputs = [
            ("lead_id", "BYTES"),
            ("probability", "FP64"),
            ("score", "INT64"),
            ("tier", "BYTES"),
            ("action", "BYTES"),
            ("sla", "BYTES"),
            ("priority", "BYTES"),
            ("prediction", "BOOL"),
            ("model_version", "BYTES"),
            ("model_type", "BYTES"),
            ("vertical", "BYTES"),
            *((name, "FP64") for name in UNCERTAINTY_FIELDS),
            ("processing_time_ms", "FP64"),
        ]
        if self.settings.ab:
            outputs += [("arm", "BYTES"), ("control_probability", "FP64")]
        return [{"name": name, "datatype": dtype, "shape": [-1]} for name, dtype in outputs]

    # ---- the stages ----------------------------------------------------------------------

    async def __call__(
        self, body: Any, headers: dict[str, str] | None = None, verb: InferenceVerb = InferenceVerb.PREDICT
    ) -> Any:
        """KServe's pipeline, timed, with refusals and failures counted by reason; an answer of JSON bytes
        (``leadscore.predictor.v1json``) goes out typed as JSON, as a dict answer would."""
        start = time.perf_counter()
        try:
            response, response_headers = await super().__call__(body, headers, verb)
            if isinstance(response, bytes):  # KServe's route sends bytes as they are, typed by these headers
                response_headers["content-type"] = "application/json"
            return response, response_headers
        except RequestRefused as exc:
            self._errors[exc.label].inc()
            raise
        except InvalidInput:
            self._errors["invalid_input"].inc()
            raise
        except Exception:
            self._errors["internal"].inc()
            raise
        finally:
            self._latency[verb].observe(time.perf_counter() - start)

    def preprocess(self, payload: Any, headers: dict[str, str] | None = None) -> Prepared:
        started = time.perf_counter()
        if isinstance(payload, InferRequest):
            batch = v2_batch(payload.inputs, self.settings.max_batch)
            request: InferRequest | None = payload
        elif isinstance(payload, RawInstances):
            batch = self._typed_batch(payload)
            request = None
        else:
            batch = v1_batch(payload, self.settings.max_batch)
            request = None
        columns = self._validate(batch)
        lead_ids = self._lead_ids(batch)
        arm_index = None
        if self.settings.ab:
            salt, percent = self.settings.ab.salt, self.settings.ab.treatment_percent
            arm_index = np.fromiter(
                (assign_arm(i, salt, percent) == TREATMENT for i in lead_ids), dtype=np.intp, count=len(lead_ids)
            )
        encoded = isinstance(payload, RawInstances) and not payload.wrapped
        return Prepared(batch, lead_ids, arm_index, request, columns, self._out_of_range(batch, columns), started,
                        encoded)

    def _typed_batch(self, raw: RawInstances) -> DecodedBatch:
        """A V1 body KServe left unparsed: typed columns when every lead is plainly valid, else
        parsed as KServe would have and decoded the usual way (which words any error)."""
        columns = self._typed.columns(raw) if self._typed is not None else None
        if columns is None:
            return v1_batch(raw.parsed(), self.settings.max_batch)
        size = len(columns[self._id_field])
        check_batch_size(size, self.settings.max_batch, "instances")
        return DecodedBatch(size, v1_locate, "v1", fields=columns, source=lambda: raw.parsed()["instances"],
                            typed=True)

    def _out_of_range(self, batch: DecodedBatch, typed: dict[int, Columns]) -> list[list[str]] | None:
        """Per lead, the fields whose value lies outside any serving arm's training range (the
        arms clip such values); counted in ``leadscore_out_of_range``. None when no lead has one."""
        flagged: dict[str, np.ndarray] = {}
        for spec in self._specs:
            plain = typed.get(id(spec))
            if plain is None and batch.size < MIN_BATCH:
                found = spec.out_of_range_records(batch.records)
            else:
                found = spec.out_of_range({
                    name: plain[name] if plain is not None and name in plain
                    else np.array(batch.values(name), dtype=object)
                    for name in spec.range_fields
                }, batch.size)
            for name, where in found.items():
                flagged[name] = where | flagged[name] if name in flagged else where
        if not flagged:
            return None
        per_lead: list[list[str]] = [[] for _ in range(batch.size)]
        for name in sorted(flagged):
            rows = np.flatnonzero(flagged[name])
            metrics.OUT_OF_RANGE.labels(self.name, name).inc(len(rows))
            for row in rows.tolist():
                per_lead[row].append(name)
        return per_lead

    def _validate(self, batch: DecodedBatch) -> dict[int, Columns]:
        """Check every lead against every arm's contract; typed columns per spec when plain."""
        strict_per_spec = self.settings.strict and len(self._specs) == 1
        columns: dict[int, Columns] = {}
        try:
            for spec in self._specs:
                plain = None
                if batch.size >= MIN_BATCH:
                    plain = plain_columns(spec.inputs, batch, strict=strict_per_spec, typed=batch.typed)
                if plain is None:
                    spec.validate_records(batch.records, strict=strict_per_spec)
                else:
                    columns[id(spec)] = plain
        except RecordError as exc:
            raise InvalidRecord(f"{batch.locate(exc.index, exc.field or '')}: {exc.problem}") from None
        if self.settings.strict and not strict_per_spec and not batch.names() <= self._known_fields:
            for index, record in enumerate(batch.records):
                unknown = sorted(k for k in record if k not in self._known_fields)
                if unknown:
                    raise InvalidRecord(f"{batch.locate(index, unknown[0])}: unknown field (strict mode)")
        return columns

    def _lead_ids(self, batch: DecodedBatch) -> list[str]:
        """Every lead's id as a string; the first lead without one is refused."""
        values = batch.values(self._id_field)
        if set(map(type, values)) == {str} and all(map(str.strip, values)):
            return values  # the common case, checked in C
        ids = []
        for index, record in enumerate(batch.records):
            value = record.get(self._id_field)
            if value is None or isinstance(value, bool) or not str(value).strip():
                raise InvalidRecord(
                    f"{batch.locate(index, self._id_field)}: required field is missing "
                    "(responses, A/B assignment and outcome reports are keyed by it)"
                )
            ids.append(str(value))
        return ids

    def predict(self, payload: Prepared, headers: dict[str, str] | None = None) -> Scored:
        probability, fell_back, uncertainty = self._probabilities(payload, self._fallback)
        covariate = self._control_probabilities(payload, probability, fell_back)
        return Scored(payload, probability, fell_back=fell_back, covariate=covariate, uncertainty=uncertainty)

    def explain(self, payload: Prepared, headers: dict[str, str] | None = None) -> Scored:
        top = self.settings.top_factors
        probability, _, uncertainty = self._probabilities(payload, None)  # factors come from the model: no fallback
        factors: list[list[dict[str, Any]]] = [[] for _ in payload.lead_ids]
        for arm, rows in self._groups(payload):
            records = self._records(payload.batch, rows)
            for row, lead_factors in zip(
                range(len(records)) if rows is None else rows, arm.factors(records, top), strict=True
            ):
                factors[row] = lead_factors
        return Scored(payload, probability, factors, covariate=self._control_probabilities(payload, probability, None),
                      uncertainty=uncertainty)

    def _control_probabilities(
        self, payload: Prepared, probability: np.ndarray, fell_back: np.ndarray | None
    ) -> np.ndarray | None:
        """In a sticky experiment, the control arm's probability for every lead, whichever arm served it.

        It is computed from the lead's features at scoring time by the same fixed model in both
        arms, so the treatment cannot move it: the pre-treatment covariate the A/B analysis adjusts
        for (CUPED/CUPAC; the rules score when the control is the rules). None outside experiments,
        and for the whole batch when the control could not score it (the analysis then does not
        adjust, rather than adjust for a mix of scores).
        """
        if payload.arm_index is None or (fell_back is not None and fell_back[payload.arm_index == 0].any()):
            return None
        covariate = probability.copy()
        treated = np.flatnonzero(payload.arm_index == 1)
        if treated.size:
            try:
                covariate[treated] = self._arm_probabilities(self.arms[0], payload, treated)[0]
            except Exception:
                logger.exception("model %s: the control arm failed to score %d treatment leads; their "
                                 "covariate is left out", self.name, treated.size)
                return None
        return covariate

    def _groups(self, payload: Prepared) -> list[tuple[Arm, np.ndarray | None]]:
        """(arm, row indices) pairs; ``None`` rows means every lead (no experiment)."""
        if payload.arm_index is None:
            return [(self.arms[0], None)]
        return [(arm, rows) for k, arm in enumerate(self.arms) if len(rows := np.flatnonzero(payload.arm_index == k))]

    def _probabilities(
        self, payload: Prepared, fallback: RulesArm | None
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Each arm's probabilities for its own leads, which leads ``fallback`` scored instead
        because their model failed (None when none did), and each lead's interval, confidence and
        agreement (``leadscore.uncertainty.per_lead``; NaN where its arm has none)."""
        batch = payload.batch
        out = np.empty(batch.size, dtype=np.float64)
        uncertainty = np.full((batch.size, len(UNCERTAINTY_FIELDS)), np.nan)
        fell_back = None
        for arm, rows in self._groups(payload):
            leads = slice(None) if rows is None else rows
            try:
                out[leads], arm_uncertainty = self._arm_probabilities(arm, payload, rows)
                if arm_uncertainty is not None:
                    uncertainty[leads] = arm_uncertainty
            except Exception:
                if fallback is None or not isinstance(arm, ModelArm):
                    raise
                logger.exception("model %s: version %s failed to score %d leads; the rules scored them instead "
                                 "(LEADSCORE_FALLBACK=rules)", self.name, arm.version, len(out[leads]))
                self._errors["scoring_fallback"].inc()
                out[leads] = fallback.probabilities(self._records(batch, rows))
                fell_back = np.zeros(batch.size, dtype=bool) if fell_back is None else fell_back
                fell_back[leads] = True
                uncertainty[leads] = np.nan
        return out, fell_back, uncertainty

    @staticmethod
    def _arm_probabilities(
        arm: Arm, payload: Prepared, rows: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """From typed columns when the batch had them for the arm's contract, else from records
        (which a batch that arrived as columns builds only then)."""
        columns = payload.columns.get(id(arm.feature_spec))
        if columns is not None and isinstance(arm, ModelArm):
            if rows is not None:
                columns = {name: column[rows] for name, column in columns.items()}
            return arm.score_columns(columns, payload.batch.size if rows is None else len(rows))
        return arm.scored(LeadScoreModel._records(payload.batch, rows))

    @staticmethod
    def _records(batch: DecodedBatch, rows: np.ndarray | None) -> list[dict[str, Any]]:
        return batch.records if rows is None else [batch.records[i] for i in rows]

    def postprocess(
        self, result: Any, headers: dict[str, str] | None = None, response_headers: dict[str, str] | None = None
    ) -> dict[str, Any] | InferResponse | bytes:
        prepared = result.prepared
        probability = np.round(result.probability, 6)
        scores = to_scores(probability)
        per_arm = np.zeros(len(scores), dtype=np.intp) if prepared.arm_index is None else prepared.arm_index
        tiers = tier_index(scores, self._bounds[per_arm])
        if result.uncertainty is not None:
            tiers = demote_unconfident(tiers, result.uncertainty[:, UNCERTAINTY_FIELDS.index("confidence")],
                                       self._scoring)
        model_types = self._model_types[per_arm]
        if prepared.arm_index is None:
            versions = [self.arms[0].version] * len(scores)
            arms = None
        else:
            versions = [self.arms[k].version for k in prepared.arm_index.tolist()]
            arms = [self.arms[k].label for k in prepared.arm_index.tolist()]
        if result.fell_back is not None:
            by_rules = result.fell_back.tolist()
            versions = [RULES_VERSION if rules else v for v, rules in zip(versions, by_rules, strict=True)]
            model_types = np.where(result.fell_back, RULES, model_types)
        tier_names = self._tier_names[tiers].tolist()
        self._count(versions, arms, tier_names, scores, prepared)
        columns = {
            "lead_id": prepared.lead_ids,
            "probability": probability.tolist(),
            "score": scores.tolist(),
            "tier": tier_names,
            "action": self._tier_actions[tiers].tolist(),
            "sla": self._tier_slas[tiers].tolist(),
            "priority": self._tier_priorities[tiers].tolist(),
            "prediction": (probability >= self._thresholds[per_arm]).tolist(),
            "model_version": versions,
            "model_type": model_types.tolist(),
            "vertical": [self._vertical] * len(scores),
            **_uncertainty_columns(result.uncertainty, len(scores), prepared.request is not None),
            "processing_time_ms": [round((time.perf_counter() - prepared.started) * 1000.0, 3)] * len(scores),
        }
        if arms is not None:
            columns["arm"] = arms
        flags = prepared.out_of_range
        if result.covariate is not None:
            columns["control_probability"] = np.round(result.covariate, 6).tolist()
        if result.factors is not None:
            return _v1_explanations(columns, result.factors, self._units(prepared), flags)
        if prepared.request is not None:
            if flags is not None:
                columns[OUT_OF_RANGE] = [",".join(names) for names in flags]
            return self._v2_response(prepared.request, columns)
        if prepared.encoded:
            return encode_leads("predictions", columns, None if flags is None else (OUT_OF_RANGE, flags))
        keys = list(columns)
        predictions = [dict(zip(keys, row, strict=True)) for row in zip(*columns.values(), strict=True)]
        _flag(predictions, flags)
        return {"predictions": predictions}

    def _units(self, prepared: Prepared) -> list[str]:
        if prepared.arm_index is None:
            return [self.arms[0].unit] * len(prepared.lead_ids)
        return [self.arms[k].unit for k in prepared.arm_index.tolist()]

    def _count(
        self,
        versions: list[str],
        arms: list[str | None] | None,
        tiers: list[str],
        scores: np.ndarray,
        prepared: Prepared,
    ) -> None:
        arm_labels = [arm or "" for arm in arms] if arms else [""] * len(versions)  # one arm: no label
        labels = zip(versions, arm_labels, tiers, strict=True)
        for key, n in Counter(labels).items():
            counter = self._prediction_counters.get(key)
            if counter is None:  # .labels() costs more than the increment: resolve each series once
                counter = self._prediction_counters[key] = metrics.PREDICTIONS.labels(self.name, *key)
            counter.inc(n)
        for arm, rows in self._groups(prepared):
            part = scores if rows is None else scores[rows]
            metrics.SCORES.observe_many(self.name, arm.version, arm.label or "", part)

    def _v2_response(self, request: InferRequest, columns: dict[str, list[Any]]) -> InferResponse:
        outputs = []
        types = self._output_types
        for name, values in columns.items():
            datatype = types.get(name, "BYTES")
            data = ["" if v is None else str(v) for v in values] if datatype == "BYTES" else values
            outputs.append(InferOutput(name=name, shape=[len(values)], datatype=datatype, data=data))
        version = self.arms[0].version if self.settings.ab is None else None
        return InferResponse(
            response_id=request.id or str(uuid.uuid4()),
            model_name=self.name,
            model_version=version,
            infer_outputs=outputs,
            from_grpc=request.from_grpc,
        )


def _uncertainty_columns(values: np.ndarray | None, size: int, v2: bool) -> dict[str, list[float | None]]:
    """``interval_low``, ``interval_high``, ``confidence`` and ``agreement`` rounded to 6 digits; a
    missing one (an old version, a single model's agreement, the rules) is null in V1 JSON and
    NaN in a V2 FP64 tensor."""
    values = np.full((size, len(UNCERTAINTY_FIELDS)), np.nan) if values is None else np.round(values, 6)
    columns = {}
    for name, column in zip(UNCERTAINTY_FIELDS, values.T, strict=True):
        missing = np.isnan(column)
        if v2 or not missing.any():
            columns[name] = column.tolist()
        elif missing.all():
            columns[name] = [None] * size
        else:
            present = column.astype(object)  # Python floats, None where missing
            present[missing] = None
            columns[name] = present.tolist()
    return columns


def _flag(leads: list[dict[str, Any]], flags: list[list[str]] | None) -> None:
    """Add ``out_of_range`` (the fields that were clipped) to the leads that had any."""
    if flags is not None:
        for lead, names in zip(leads, flags, strict=True):
            if names:
                lead[OUT_OF_RANGE] = names


def _v1_explanations(
    columns: dict[str, list[Any]],
    factors: list[list[dict[str, Any]]],
    units: list[str],
    flags: list[list[str]] | None,
) -> dict[str, Any]:
    keys = list(columns)
    rows = zip(*columns.values(), factors, units, strict=True)
    explanations = [
        {**dict(zip(keys, row[:-2], strict=True)), "unit": row[-1], "top_factors": row[-2]} for row in rows
    ]
    _flag(explanations, flags)
    return {"explanations": explanations}
