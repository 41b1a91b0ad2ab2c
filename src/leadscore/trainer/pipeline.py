"""The training Job, end to end: data -> features -> search -> selection rows -> refit on every
non-test row -> selection -> ONNX -> card -> MLflow -> artifact, all or nothing.

Every step that can refuse (data, leakage, device, parity) runs before anything is
published; the artifact directory is assembled in a temporary directory and handed to
``publish_directory`` last, so a failure at any point leaves no version behind.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadscore.api.artifact import (
    BOOSTERS_DIR,
    CARD_FILE,
    MODEL_FILE,
    RESULT_FILE,
    SPEC_FILE,
    UNCERTAINTY_FILE,
    IntervalCoverage,
    ServingCard,
    Uncertainty,
)
from leadscore.api.feedback import TARGET_SCORE_COLUMN
from leadscore.api.results import JOB_TAG, MODEL_TAG, NAMESPACE_TAG, VERSION_TAG, TrainingResult
from leadscore.data import DatasetSchema, LeakFinding, check_leakage, conversion_rate_warning, load_dataset, validate
from leadscore.data.targets import soft_labels
from leadscore.engines import save_parity_rows
from leadscore.errors import ConfigError, DatasetError, LeadscoreError
from leadscore.explain import Explainer, global_importance, members_from_card
from leadscore.features import FeatureSpec
from leadscore.features.spec import frame_columns
from leadscore.monitoring.profile import PROFILE_FILE, build_profile
from leadscore.scoring import resolved_tiers, score_histogram
from leadscore.store.artifacts import publish_directory
from leadscore.trainer import estimate, intervals, onnx_graph, refit
from leadscore.trainer.algorithms import BASELINE, Algorithm, TrainData, resolve
from leadscore.trainer.algorithms.base import Device
from leadscore.trainer.card import (
    AlgorithmCard,
    CalibrationCard,
    ChampionCard,
    CrossValidationCard,
    DataCard,
    EngineCard,
    FeatureImportance,
    FinalFitCard,
    MemberCard,
    ModelCard,
    TargetsCard,
    TensorCard,
    TrainingCard,
    compare_to_baseline,
    data_fingerprint,
    library_versions,
)
from leadscore.trainer.champion import score_champion
from leadscore.trainer.config import TrainConfig
from leadscore.trainer.device import resolve_device
from leadscore.trainer.ensemble import Blend, Selection, fit_blend, select
from leadscore.trainer.figures import evaluation_figures
from leadscore.trainer.metrics import Metrics, best_f1_threshold, evaluate
from leadscore.trainer.progress import Progress, Silent
from leadscore.trainer.split import Split, split_rows
from leadscore.trainer.tracking import Tracker
from leadscore.trainer.tuning import Tuned, tune

IMPORTANCE_ROWS = 5000
"""Held-out rows, evenly spaced, behind the card's global feature importance."""
CALIBRATION_CHOICE = ("cross-fitted on the selection rows (see training.final_fit): 5-fold out-of-fold log "
                      "loss of sigmoid vs isotonic (weights and calibrator refitted per fold); the lower wins, "
                      "then refitted on all selection rows, whose margins come from models that never trained "
                      "on them")


@dataclass
class Prepared:
    """Loaded, validated and encoded data, split once."""

    raw: pd.DataFrame
    schema: DatasetSchema
    findings: list[LeakFinding]
    split: Split
    features: Any  # LeadFeatures, fitted on the training rows
    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    warnings: list[str]
    t: dict[str, np.ndarray] | None = None
    """Graded targets per part (``--targets``); None: the models learn from ``y``."""
    frame: pd.DataFrame | None = None
    """Every labelled row's raw features (the k-fold estimate refits the feature pipeline per fold)."""
    labels: np.ndarray | None = None
    graded: np.ndarray | None = None


Loader = Callable[[TrainConfig], pd.DataFrame]


def load(config: TrainConfig) -> pd.DataFrame:
    """The data set read in this process (``--engine local``)."""
    return load_dataset(config.data, format=config.format)


def prepare(config: TrainConfig, progress: Progress, loader: Loader = load) -> Prepared:
    """Load -> validate -> leakage guard -> split -> fit features on training rows only."""
    from leadscore.features import LeadFeatures

    progress.stage(f"loading {config.data}")
    raw = loader(config)
    clean, schema = validate(raw, config.dataset)
    findings = check_leakage(clean, schema, config.dataset, seed=config.seed)
    warning = conversion_rate_warning(float(schema.positive_rate or 0.0))
    if warning:
        progress.stage(f"warning: {warning}")
    target = config.dataset.target
    y = clean[target].to_numpy(dtype=np.int64)
    times = None
    if config.dataset.time_column:
        times = clean[config.dataset.time_column].astype("int64").to_numpy(dtype=np.float64) / 1e9
    split = split_rows(y, times, config.seed, config.valid_fraction, config.test_fraction)
    graded = None if config.targets is None else soft_labels(raw.loc[clean.index], y, config.targets)
    if graded is not None:
        progress.stage(f"graded targets: {int(((graded > 0) & (graded < 1)).sum()):,} rows between 0 and 1, mean "
                       f"{graded.mean():.3f} (conversion rate {y.mean():.3f}); calibration and metrics stay binary")
    progress.stage(f"{len(clean):,} rows, {schema.positive_rate:.1%} positive; {split.strategy} split "
                   + ", ".join(f"{k} {v:,}" for k, v in split.sizes().items()))
    frame = clean.drop(columns=[target])
    features = LeadFeatures(schema=schema, random_state=config.seed,
                            text_max_features=config.dataset.text_max_features)
    parts = {"train": split.train, "valid": split.valid, "test": split.test}
    x = {"train": fit_on_sample(features, frame.iloc[split.train], y[split.train], config.feature_sample,
                                config.seed)}
    if feature_rows(len(split.train), config.feature_sample) < len(split.train):
        progress.stage(f"feature pipeline fitted on a sample of {config.feature_sample:,} of the "
                       f"{len(split.train):,} training rows")
    for part in ("valid", "test"):
        x[part] = features.transform(frame.iloc[parts[part]])
    if x["train"].shape[1] == 0:
        raise DatasetError("no feature columns left after excluding id, target and excluded columns")
    return Prepared(raw=raw, schema=schema, findings=findings, split=split, features=features, x=x,
                    y={part: y[rows] for part, rows in parts.items()}, warnings=[warning] if warning else [],
                    t=None if graded is None else {part: graded[rows] for part, rows in parts.items()},
                    frame=frame, labels=y, graded=graded)


def search(config: TrainConfig, data: TrainData, progress: Progress, tracker: Tracker | None = None,
           algorithms: list[Algorithm] | None = None) -> dict[str, Tuned]:
    """Tune each algorithm (default: ``config.algorithms``) in turn; the time budget is shared,
    each gets an equal part of what is left (every algorithm still completes its default trial)."""
    algorithms = algorithms or resolve(config.algorithms)
    tuned: dict[str, Tuned] = {}
    started = time.monotonic()
    for index, algorithm in enumerate(algorithms):
        timeout = None
        if config.time_budget is not None:
            left = config.time_budget - (time.monotonic() - started)
            timeout = max(left, 0.0) / (len(algorithms) - index)
        advance = progress.search(algorithm.name, config.trials)

        def on_trial(study: Any, trial: Any, name: str = algorithm.name, step: Any = advance) -> None:
            value = trial.value if trial.value is not None else None
            if tracker is not None:
                tracker.log_trial(name, trial.number, trial.params, value, trial.state.name)
            step(f"best {study.best_value:.4f}" if value is not None or len(study.trials) > 1 else "")

        tuned[algorithm.name] = tune(algorithm, data, config.trials, timeout, callbacks=[on_trial],
                                     overrides=config.params.get(algorithm.name, {}),
                                     concurrency=algorithm.concurrent_trials)
        progress.done(algorithm.name)
    return tuned


def fit_final(searched: dict[str, Tuned], data: TrainData, prepared: Prepared,
              progress: Progress) -> tuple[dict[str, Tuned], refit.Holdout]:
    """The selection rows' margins, then every algorithm refitted on all non-test rows."""
    if refit.use_cross_validation(data.y_valid, prepared.split.strategy):
        progress.stage(f"validation holds {int(data.y_valid.sum())} positives (< {refit.CV_MIN_POSITIVES}): "
                       f"cross-fitting {refit.CV_FOLDS} folds over all non-test rows to select on")
    holdout = refit.holdout(searched, data, prepared.split.strategy)
    progress.stage(f"refitting the tuned models on all {len(data.y_train) + len(data.y_valid):,} non-test rows")
    return refit.refit_all(searched, data), holdout


def _margins(tuned: dict[str, Tuned], names: list[str], x: np.ndarray) -> dict[str, np.ndarray]:
    return {name: tuned[name].algorithm.margin(tuned[name].model, x) for name in names}


def _algorithm_cards(tuned: dict[str, Tuned], holdout: refit.Holdout, selection: Selection,
                     prepared: Prepared) -> tuple[list[AlgorithmCard], dict[str, Metrics]]:
    """Each algorithm alone, calibrated with its own best method, on the held-out rows."""
    cards, metrics = [], {}
    test = _margins(tuned, list(tuned), prepared.x["test"])
    for name, result in tuned.items():
        scored = [s for s in selection.candidates if s.candidate == name]
        method = min(scored, key=lambda s: s.log_loss).method if scored else "sigmoid"
        own = {name: holdout.margins[name]}
        alone = fit_blend(own, [name], holdout.y, method)
        own_threshold = best_f1_threshold(holdout.y, alone.predict(own))
        metrics[name] = evaluate(prepared.y["test"], alone.predict({name: test[name]}), own_threshold)
        cards.append(AlgorithmCard(
            algorithm=name, trials=result.trials, pruned=result.pruned, seconds=round(result.seconds, 2),
            valid_log_loss=result.valid_log_loss, params=result.params,
            test={k: v for k, v in metrics[name].headline().items() if k != "rows"},
        ))
    return cards, metrics


def _write_artifact(directory: Path, shipped: Shipped, prepared: Prepared, tuned: dict[str, Tuned],
                    card: ModelCard) -> ModelCard:
    """Writes the artifact; returns the card completed with the global feature importance, which
    is computed from the boosters as written (the same files ``:explain`` will read)."""
    blend = shipped.blend
    spec = prepared.features.to_spec()
    (directory / MODEL_FILE).write_bytes(shipped.onnx_bytes)
    (directory / SPEC_FILE).write_text(json.dumps(spec, indent=1))
    (directory / UNCERTAINTY_FILE).write_text(shipped.uncertainty.model_dump_json())
    # Drift is judged against the held-out rows as a request would carry them (raw, unparsed).
    test_raw = prepared.raw.iloc[prepared.split.test]
    profile = build_profile(FeatureSpec.model_validate(spec), frame_columns(test_raw), len(test_raw),
                            shipped.test_probabilities)
    (directory / PROFILE_FILE).write_text(profile.model_dump_json(indent=1))
    save_parity_rows(directory, prepared.x["test"])
    (directory / BOOSTERS_DIR).mkdir()
    for name in blend.members:
        algorithm = tuned[name].algorithm
        algorithm.save_native(tuned[name].model, directory / BOOSTERS_DIR / algorithm.native_file)
    explainer = Explainer(members_from_card(ServingCard.model_validate(card.model_dump()), directory))
    x_test = prepared.x["test"]
    rows = np.unique(np.linspace(0, len(x_test) - 1, num=min(len(x_test), IMPORTANCE_ROWS)).astype(int))
    importance = global_importance(explainer, x_test[rows], card.feature_names,
                                   FeatureSpec.model_validate(spec).feature_origins())
    card = card.model_copy(update={"feature_importance": [FeatureImportance(**i) for i in importance]})
    (directory / CARD_FILE).write_text(card.model_dump_json(indent=1, by_alias=True))
    return card


@dataclass
class Shipped:
    """The chosen blend, its ONNX bytes and how it did."""

    blend: Blend
    selection: Selection
    onnx_bytes: bytes
    parity: float
    threshold: float
    metrics: Metrics
    test_probabilities: np.ndarray
    uncertainty: Uncertainty
    interval: IntervalCoverage


def choose_and_export(config: TrainConfig, tuned: dict[str, Tuned], holdout: refit.Holdout, prepared: Prepared,
                      progress: Progress) -> Shipped:
    """Select on the holdout margins, build the ONNX graph of the refitted models (``tuned``),
    refuse it unless it matches the native models."""
    # The baseline is always trained (it is the yardstick) but ships only when it was asked for.
    candidates = {n: m for n, m in holdout.margins.items() if n in config.algorithms}
    progress.stage(f"choosing calibration and ensemble on {holdout.selection} margins (cross-fitted)")
    blend, selection = select(candidates, holdout.y, config.seed, allow_ensemble=config.ensemble)
    x_test = prepared.x["test"]
    progress.stage(f"exporting {selection.shipped} to ONNX; parity check on {len(x_test):,} test rows")
    n_features = x_test.shape[1]
    members = [onnx_graph.Member(n, tuned[n].algorithm.to_onnx(tuned[n].model, n_features), float(w))
               for n, w in zip(blend.members, blend.weights, strict=True)]
    model = onnx_graph.build(members, blend, n_features)
    parity = onnx_graph.check_parity(model, x_test, blend.predict(_margins(tuned, blend.members, x_test)))
    onnx_bytes = model.SerializeToString()
    # Held-out metrics come from the ONNX graph: what is measured is what will be served.
    test_p = onnx_graph.predict(onnx_graph.session(onnx_bytes), x_test).astype(np.float64)
    selection_p = blend.predict(holdout.margins)
    threshold = best_f1_threshold(holdout.y, selection_p)
    uncertainty, interval = fit_uncertainty(tuned, blend, holdout, selection_p, prepared, onnx_bytes)
    return Shipped(blend=blend, selection=selection, onnx_bytes=onnx_bytes, parity=parity, threshold=threshold,
                   metrics=evaluate(prepared.y["test"], test_p, threshold), test_probabilities=test_p,
                   uncertainty=uncertainty, interval=interval)


def fit_uncertainty(tuned: dict[str, Tuned], blend: Blend, holdout: refit.Holdout, selection_p: np.ndarray,
                    prepared: Prepared, onnx_bytes: bytes) -> tuple[Uncertainty, IntervalCoverage]:
    """The per-lead interval and agreement (``trainer.intervals``), fitted on the selection rows
    (never on rows the refitted models learned from), measured on test."""
    uncertainty = intervals.fit(selection_p, blend.members, holdout.margins, holdout.y)
    x_test = prepared.x["test"]
    native = np.column_stack(list(_margins(tuned, blend.members, x_test).values())) if len(blend.members) > 1 else None
    return uncertainty, intervals.measure(onnx_bytes, uncertainty, x_test, prepared.y["test"], native)


def cross_validation(config: TrainConfig, prepared: Prepared, tuned: dict[str, Tuned], blend: Blend,
                     data: TrainData, progress: Progress) -> CrossValidationCard:
    """The k-fold estimate beside the test part's number, when ``estimate.plan`` says so."""
    from leadscore.features import LeadFeatures

    planned = estimate.plan(config.cv_folds, prepared.split.strategy, int(prepared.y["test"].sum()))
    if planned.folds == 0 or prepared.frame is None or prepared.labels is None:
        return CrossValidationCard(folds=0, reason=planned.reason)
    progress.stage(f"k-fold estimate: refitting the shipped configuration on {planned.folds} folds of all "
                   f"{len(prepared.labels):,} labelled rows ({planned.reason})")
    result = estimate.cross_validate(
        tuned, blend, prepared.frame, prepared.labels, prepared.graded,
        lambda: LeadFeatures(schema=prepared.schema, random_state=config.seed,
                             text_max_features=config.dataset.text_max_features),
        data, planned.folds)
    progress.stage(f"k-fold ROC-AUC {result.mean:.4f} +- {result.sd:.4f} over {result.folds} folds "
                   "(beside the test part's; the configuration was chosen without the test rows)")
    return CrossValidationCard(folds=result.folds, roc_auc_mean=result.mean, roc_auc_sd=result.sd,
                               roc_auc_per_fold=result.roc_auc, reason=planned.reason)


def _final_fit_card(tuned: dict[str, Tuned], holdout: refit.Holdout, prepared: Prepared) -> FinalFitCard:
    rows = np.concatenate([prepared.y["train"], prepared.y["valid"]])
    if holdout.selection == "validation":
        reason = (f"the validation part held {int(prepared.y['valid'].sum())} positives (at least "
                  f"{refit.CV_MIN_POSITIVES}), or the split is by time: chosen on its margins")
    else:
        reason = (f"the validation part held {int(prepared.y['valid'].sum())} positives (fewer than "
                  f"{refit.CV_MIN_POSITIVES}): chosen on {holdout.folds}-fold out-of-fold margins over all "
                  "non-test rows")
    iterations = {n: t.algorithm.iterations(t.model) for n, t in tuned.items()}
    return FinalFitCard(rows=len(rows), positives=int(rows.sum()), selection=holdout.selection,
                        selection_rows=len(holdout.y), selection_positives=holdout.positives, folds=holdout.folds,
                        rounds={n: r for n, r in iterations.items() if r is not None}, reason=reason)


LEARNED_FROM = ("the models learned from the graded targets (each row a positive of weight t and a negative of "
                "weight 1 - t); early stopping, the search's objective, model selection, calibration and every "
                "metric used the binary outcome")


def _targets_card(config: TrainConfig, prepared: Prepared) -> TargetsCard | None:
    if config.targets is None or prepared.t is None:
        return None
    rows = np.concatenate([prepared.t["train"], prepared.t["valid"]])
    source = "target_score" if TARGET_SCORE_COLUMN in prepared.raw else "feedback"
    return TargetsCard(mapping=config.targets, source=source, graded_rows=int(((rows > 0) & (rows < 1)).sum()),
                       mean_target=float(rows.mean()), learned_from=LEARNED_FROM)


def model_card(config: TrainConfig, version: str, created: datetime, device: str, seconds: float,
               prepared: Prepared, tuned: dict[str, Tuned], holdout: refit.Holdout, shipped: Shipped,
               cross_validated: CrossValidationCard | None = None) -> ModelCard:
    blend, selection, metrics = shipped.blend, shipped.selection, shipped.metrics
    algorithm_cards, algorithm_metrics = _algorithm_cards(tuned, holdout, selection, prepared)
    histogram = score_histogram(shipped.test_probabilities)
    return ModelCard(
        model_name=config.model_name, version=version, created=created, vertical=config.vertical,
        input=TensorCard(name=onnx_graph.INPUT, shape=["N", prepared.x["test"].shape[1]]),
        output=TensorCard(name=onnx_graph.OUTPUT, shape=["N"]),
        feature_names=[str(n) for n in prepared.features.feature_names_out_],
        shipped=selection.shipped, shipped_reason=selection.reason,
        members=[MemberCard(algorithm=n, weight=float(w), params=tuned[n].params,
                            native_file=f"{BOOSTERS_DIR}/{tuned[n].algorithm.native_file}",
                            iterations=tuned[n].algorithm.iterations(tuned[n].model))
                 for n, w in zip(blend.members, blend.weights, strict=True)],
        calibration=CalibrationCard(method=selection.method, parameters=blend.calibrator.to_dict(),
                                    choice=CALIBRATION_CHOICE),
        threshold=shipped.threshold, metrics=metrics,
        baseline=compare_to_baseline(metrics, algorithm_metrics[BASELINE]),
        algorithms=algorithm_cards, candidates=selection.candidates,
        data=DataCard(uri=config.data, fingerprint=data_fingerprint(prepared.raw, prepared.schema),
                      rows=len(prepared.raw), positive_rate=float(prepared.schema.positive_rate or 0.0),
                      split={"strategy": prepared.split.strategy, **prepared.split.sizes()},
                      leakage=prepared.findings, warnings=prepared.warnings, data_schema=prepared.schema),
        training=TrainingCard(seconds=round(seconds, 2), device=device, seed=config.seed,
                              trials_per_algorithm=config.trials, time_budget_seconds=config.time_budget,
                              parity_max_abs_diff=shipped.parity, libraries=library_versions(),
                              final_fit=_final_fit_card(tuned, holdout, prepared),
                              targets=_targets_card(config, prepared), cross_validation=cross_validated,
                              feature_pipeline_rows=feature_rows(len(prepared.split.train), config.feature_sample),
                              engine=_engine_card(config, tuned)),
        scoring=config.scoring, score_histogram=histogram, tiers=resolved_tiers(config.scoring, histogram),
        interval=shipped.interval,
    )


def _engine_card(config: TrainConfig, tuned: dict[str, Tuned]) -> EngineCard:
    if config.engine != "ray":
        return EngineCard(engine="local", on_driver=list(tuned))
    from leadscore.trainer.distributed import training

    return training.engine_card([t.algorithm for t in tuned.values()])


def headline(card: ModelCard) -> dict[str, float]:
    """The metrics that travel in result.json, MLflow and the termination message."""
    champion = card.champion.metrics if card.champion and card.champion.metrics else {}
    return {**card.metrics.headline(), "baseline_roc_auc": card.baseline.metrics["roc_auc"],
            "roc_auc_gain": card.baseline.roc_auc_gain, "parity_max_abs_diff": card.training.parity_max_abs_diff,
            **({"champion_roc_auc": champion["roc_auc"]} if champion else {})}


def _champion(config: TrainConfig, prepared: Prepared, shipped: Shipped, progress: Progress) -> ChampionCard:
    progress.stage(f"scoring the serving version {config.champion} on the same {len(prepared.split.test):,} test rows")
    test_rows = prepared.raw.iloc[prepared.split.test].drop(columns=[config.dataset.target])
    champion = score_champion(config.champion or "", test_rows, prepared.y["test"], shipped.threshold)
    if champion.error:
        progress.stage(f"warning: the serving version could not be scored on this data ({champion.error}); "
                       "the gate will compare stored AUCs")
    return champion


def feature_rows(training_rows: int, sample: int | None) -> int:
    """How many training rows the feature pipeline is fitted on (``fit_on_sample``)."""
    return training_rows if sample is None else min(training_rows, sample)


def fit_on_sample(features: Any, frame: pd.DataFrame, y: np.ndarray, sample: int | None, seed: int) -> np.ndarray:
    """The training rows encoded, the feature pipeline fitted on all of them or, with ``sample``, on a
    seeded random ``sample`` of them: the sampled rows get out-of-fold target rates (``fit_transform``)
    and the others are encoded by the fitted pipeline as validation rows are (no row sees its label)."""
    if feature_rows(len(frame), sample) == len(frame):
        return np.asarray(features.fit_transform(frame, y))
    chosen = np.sort(np.random.default_rng(seed).choice(len(frame), size=sample, replace=False))
    rest = np.setdiff1d(np.arange(len(frame)), chosen, assume_unique=True)
    fitted = np.asarray(features.fit_transform(frame.iloc[chosen], y[chosen]))
    encoded = np.empty((len(frame), fitted.shape[1]), dtype=fitted.dtype)
    encoded[chosen] = fitted
    encoded[rest] = features.transform(frame.iloc[rest])
    return encoded


def train(config: TrainConfig, progress: Progress | None = None) -> tuple[TrainingResult, ModelCard]:
    """Run the whole training; the Succeeded result and the card (``LeadscoreError`` otherwise).
    ``--engine ray``: the same run with the shards read and the boosters trained on a Ray cluster
    (``leadscore.trainer.distributed.training``)."""
    progress = progress or Silent()
    algorithms = resolve(config.algorithms)  # refuse unknown names before loading anything
    if config.engine != "ray":
        return _train(config, progress, algorithms, load, resolve_device(config.device))
    from leadscore.trainer.distributed import cluster, training

    training.check_algorithms(config.algorithms)
    if config.device == "cuda":
        raise ConfigError("--device cuda: --engine ray trains on the cluster's CPUs (GPU workers are not built)")
    with cluster.session(config.ray_address):
        return _train(config, progress, training.on_ray(algorithms, config.parallel_trials, progress.stage),
                      lambda c: training.read_shards(c.data, c.dataset, c.format), "cpu")


def _train(config: TrainConfig, progress: Progress, algorithms: list[Algorithm], loader: Loader,
           device: Device) -> tuple[TrainingResult, ModelCard]:
    started = time.monotonic()
    created = datetime.now(UTC)
    version = config.version or f"v{created:%Y%m%d%H%M%S}"
    prepared = prepare(config, progress, loader)
    data = TrainData(prepared.x["train"], prepared.y["train"], prepared.x["valid"], prepared.y["valid"],
                     seed=config.seed, device=device, threads=config.threads,
                     t_train=prepared.t["train"] if prepared.t else None,
                     t_valid=prepared.t["valid"] if prepared.t else None)
    tracker = Tracker(config.mlflow_uri, config.mlflow_experiment or config.model_name)
    tags = {MODEL_TAG: config.model_name, VERSION_TAG: version,
            **({NAMESPACE_TAG: config.namespace} if config.namespace else {}),
            **({JOB_TAG: config.job} if config.job else {})}
    registered_name = config.registered_model or config.model_name
    with tracker.start(version, tags) as run:
        tracker.log_params({"data": config.data, "target": config.dataset.target,
                            "algorithms": ",".join(config.algorithms), "trials": config.trials,
                            "time_budget": config.time_budget, "seed": config.seed, "device": device,
                            "split": prepared.split.strategy, "n_features": data.n_features})
        tuned, holdout = fit_final(search(config, data, progress, tracker, algorithms), data, prepared,
                                  progress)
        shipped = choose_and_export(config, tuned, holdout, prepared, progress)
        cross_validated = cross_validation(config, prepared, tuned, shipped.blend, data, progress)
        card = model_card(config, version, created, device, time.monotonic() - started, prepared, tuned, holdout,
                          shipped, cross_validated)
        if config.champion:
            card = card.model_copy(update={"champion": _champion(config, prepared, shipped, progress)})
        metrics = headline(card)
        tracker.log_metrics({k: v for k, v in metrics.items() if k != "rows"})
        tracker.log_figures(evaluation_figures(prepared.y["test"], shipped.test_probabilities))
        onnx_model = tracker.log_onnx(shipped.onnx_bytes, data.n_features, onnx_graph.INPUT, onnx_graph.OUTPUT)
        with tempfile.TemporaryDirectory(prefix="leadscore-artifact-") as tmp:
            directory = Path(tmp)
            card = _write_artifact(directory, shipped, prepared, tuned, card)
            tracker.log_directory(directory)
            registered = tracker.register(registered_name, run.info.run_id,
                                          f"{version}: {card.shipped}, test ROC-AUC {card.metrics.roc_auc:.4f}",
                                          source=onnx_model, tags=tags)
            result = TrainingResult(
                status="Succeeded", model_name=config.model_name, version=version, artifact_uri=config.output,
                mlflow_run_id=run.info.run_id, mlflow_model_version=registered,
                mlflow_registered_model=registered_name if registered else "", shipped=card.shipped,
                metrics=metrics, created=created, device=device, tiers=card.tiers,
                message=f"{card.shipped} ({card.calibration.method} calibration): test ROC-AUC "
                        f"{card.metrics.roc_auc:.4f}, baseline {card.baseline.metrics['roc_auc']:.4f}",
            )
            (directory / RESULT_FILE).write_text(result.model_dump_json(indent=1))
            try:
                publish_directory(directory, config.output)
            except LeadscoreError:
                if registered:
                    tracker.unregister(registered_name, registered)
                raise
    return result, card


def failure(config: TrainConfig | None, error: BaseException) -> TrainingResult:
    """The Failed result a Job reports when training stops (reason from our error types)."""
    reason = error.reason if isinstance(error, LeadscoreError) else "TrainingFailed"
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    if config is None:
        return TrainingResult(status="Failed", reason=reason, message=message, created=datetime.now(UTC))
    return TrainingResult(status="Failed", reason=reason, message=message, model_name=config.model_name,
                          version=config.version or "", artifact_uri=config.output, created=datetime.now(UTC))
