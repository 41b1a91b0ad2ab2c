"""``leadscore train | evaluate | score``: the trainer image's entrypoint (trainer/CONTRACT.md)."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer

from leadscore.api.leadscoringmodel import (
    ALGORITHMS,
    DEFAULT_ALGORITHMS,
    MAX_CV_FOLDS,
    MIN_FEATURE_SAMPLE,
    TEST_FRACTION,
    TEXT_MAX_FEATURES,
    VALIDATION_FRACTION,
    DataFormat,
    Vertical,
)
from leadscore.api.wire import ComputeEngine, Device
from leadscore.cli.help import example
from leadscore.errors import ConfigError, Location, dotted, one_line

if TYPE_CHECKING:
    from leadscore.trainer.config import TrainConfig


def _engine_option(ray: str) -> Any:
    return typer.Option("local", "--engine", help=f"local: this process; ray: {ray}.")


def _ray_address_option() -> Any:
    return typer.Option(None, "--ray-address", help="With --engine ray: the cluster's head, host:port (default: "
                                                    "$RAY_ADDRESS, else a local cluster on this machine's cores).")


def _check_engine(engine: ComputeEngine, ray_address: str | None, parallel_trials: int = 1) -> None:
    if ray_address is not None and engine != "ray":
        raise ConfigError(f"--ray-address needs --engine ray (got --engine {engine})")
    if parallel_trials != 1 and engine != "ray":
        raise ConfigError(f"--parallel-trials needs --engine ray (got --engine {engine}); one node runs its "
                          "trials one after another, each on all --threads")


def _train(
    data: str = typer.Option(..., "--data", help="CSV/Parquet path or s3:// URI."),
    target: str = typer.Option(..., "--target", help="Binary outcome column."),
    output: str = typer.Option(..., "--output", help="Version directory or s3:// prefix to publish to."),
    id_col: str | None = typer.Option(None, "--id-col", "--id-column", help="Lead id column (unique)."),
    time_col: str | None = typer.Option(None, "--time-col", "--time-column",
                                        help="Creation time: enables the chronological split."),
    exclude: list[str] = typer.Option([], "--exclude", help="Columns never used (comma-separated, repeatable)."),
    post_outcome: list[str] = typer.Option([], "--post-outcome",
                                           help="Columns filled after the outcome (refused unless --allow-leaky)."),
    text_col: list[str] = typer.Option([], "--text-col", "--text-column",
                                       help="Free-text columns to encode in full: TF-IDF terms, keyword flags, "
                                            "e-mail/phone patterns, amounts, years (comma-separated, repeatable)."),
    text_max_features: int = typer.Option(TEXT_MAX_FEATURES, "--text-max-features",
                                          help="TF-IDF vocabulary size per text column."),
    algorithms: str = typer.Option(",".join(DEFAULT_ALGORITHMS), "--algorithms",
                                   help="Comma-separated: " + ", ".join(ALGORITHMS) + " (randomforest and mlp "
                                        "are opt-in)."),
    trials: int = typer.Option(20, "--trials", help="Optuna trials per algorithm (0: default hyper-parameters only)."),
    time_budget: float | None = typer.Option(None, "--time-budget", help="Seconds for the whole search."),
    seed: int = typer.Option(42, "--seed", help="Seed for the split, the search and the models."),
    device: Device = typer.Option("auto", "--device", help="auto: CUDA when available."),
    threads: int = typer.Option(0, "--threads", help="Threads per library (0 = all cores)."),
    ensemble: bool = typer.Option(True, "--ensemble/--no-ensemble",
                                  help="Consider a weighted blend and a stacking ensemble."),
    params: str | None = typer.Option(None, "--params",
                                      help="Per-algorithm hyper-parameters as JSON (the CR's training.params): "
                                           "pinned {\"value\": v} or searched within {\"low\": a, \"high\": b}, "
                                           "e.g. '{\"lightgbm\": {\"num_leaves\": {\"high\": 31}}}'."),
    valid_fraction: float = typer.Option(VALIDATION_FRACTION, "--valid-fraction",
                                         help="Share of rows for validation (the most recent with --time-col)."),
    test_fraction: float = typer.Option(TEST_FRACTION, "--test-fraction",
                                        help="Share of rows held out for the test metrics (the most recent with "
                                             "--time-col)."),
    cv_folds: int | None = typer.Option(None, "--cv-folds", min=0, max=MAX_CV_FOLDS,
                                        help="k-fold ROC-AUC of the shipped configuration over all labelled rows, "
                                             "beside the test part's: unset = 5 when the test part holds few "
                                             "positives and there is no --time-col, 0 = off."),
    feature_sample: int | None = typer.Option(None, "--feature-sample", min=MIN_FEATURE_SAMPLE,
                                              help="Fit the feature pipeline on a seeded sample of at most N "
                                                   "training rows (the rest encoded like validation rows); "
                                                   "default: every training row."),
    model_name: str = typer.Option("leadscore", "--model-name", help="Model name, recorded in the card."),
    registered_model: str | None = typer.Option(None, "--registered-model",
                                                help="MLflow registered model (default: the model name; the "
                                                     "operator passes <namespace>.<model>)."),
    namespace: str | None = typer.Option(None, "--namespace", envvar="LEADSCORE_NAMESPACE",
                                         help="Namespace of the LeadScoringModel (tagged in MLflow)."),
    job: str | None = typer.Option(None, "--job", envvar="LEADSCORE_JOB",
                                   help="Name of the training Job (tagged in MLflow)."),
    version: str | None = typer.Option(None, "--version", help="Version label (default: a UTC timestamp)."),
    vertical: Vertical | None = typer.Option(None, "--vertical", help="Recorded in the model card."),
    data_format: DataFormat | None = typer.Option(None, "--format", help="Default: detected from the name."),
    allow_leaky: bool = typer.Option(False, "--allow-leaky", help="Keep columns the leakage guard refuses."),
    leak_threshold: float = typer.Option(0.9, "--leak-threshold", help="Single-column ROC-AUC that is a leak."),
    mlflow_uri: str | None = typer.Option(None, "--mlflow-uri", help="Tracking URI (default MLFLOW_TRACKING_URI)."),
    mlflow_experiment: str | None = typer.Option(None, "--mlflow-experiment",
                                                 help="Experiment name (default: the model name)."),
    scoring: str | None = typer.Option(None, "--scoring",
                                       help="Tiers and actions as JSON (the CR's spec.scoring), by minScore or by "
                                            "topPercent (resolved on the held-out scores), recorded in the model "
                                            "card; default: the top 5 / 20 / 50 % of leads."),
    targets: str | None = typer.Option(None, "--targets",
                                       help="Learn from graded targets: JSON of the mapping from a lead's feedback "
                                            "to a score (the CR's spec.dataset.targets; '{}' = seed 001's values). "
                                            "Needs feedback.* or target_score columns; calibration and metrics "
                                            "still use --target. Default: the binary outcome only."),
    champion: str | None = typer.Option(None, "--champion",
                                        help="Artifact (dir or s3://) of the version serving now: scored on the "
                                             "same held-out rows, recorded for the promotion gate."),
    termination_path: str | None = typer.Option(None, "--termination-path", "--termination-log",
                                                help="Where the result JSON goes too (default "
                                                     "$LEADSCORE_TERMINATION_PATH, else /dev/termination-log "
                                                     "if present)."),
    engine: ComputeEngine = _engine_option("the shards read and XGBoost / LightGBM trained data-parallel on "
                                           "a Ray cluster (lr on the driver, others refused; docs/scale.md)"),
    ray_address: str | None = _ray_address_option(),
    parallel_trials: int = typer.Option(1, "--parallel-trials",
                                        help="With --engine ray: search trials of each booster fitting at once, "
                                             "each on its share of the cluster's CPUs (at most one per CPU)."),
) -> None:
    """Train, calibrate, ensemble, export to ONNX (parity-checked) and publish a model version."""
    # Idle OpenMP threads otherwise spin and starve each other on busy or shared nodes.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from leadscore.api.results import progress_uri
    from leadscore.store.s3 import is_s3_uri
    from leadscore.trainer.batch import write_termination_message
    from leadscore.trainer.pipeline import failure, train
    from leadscore.trainer.progress import Reported, for_stream
    from leadscore.trainer.report import print_summary

    config = train_config(data=data, target=target, output=output, id_col=id_col, time_col=time_col,
                          exclude=exclude, post_outcome=post_outcome, text_col=text_col,
                          text_max_features=text_max_features, algorithms=algorithms, trials=trials,
                          time_budget=time_budget, seed=seed, device=device, threads=threads, ensemble=ensemble,
                          params=params, valid_fraction=valid_fraction, test_fraction=test_fraction, cv_folds=cv_folds,
                          feature_sample=feature_sample,
                          model_name=model_name, version=version, vertical=vertical, data_format=data_format,
                          allow_leaky=allow_leaky, leak_threshold=leak_threshold, mlflow_uri=mlflow_uri,
                          mlflow_experiment=mlflow_experiment, champion=champion, scoring=scoring, targets=targets,
                          registered_model=registered_model, namespace=namespace, job=job,
                          termination_path=termination_path, engine=engine, ray_address=ray_address,
                          parallel_trials=parallel_trials)
    # bars at a terminal, one line per stage and trial in a Job's log; publishing to the object store
    # (a cluster's Job), the stage also beside the version, where the operator reads it into
    # status.training.stage (never locally: a failed training must leave no directory behind)
    progress = for_stream(sys.stderr)
    if is_s3_uri(config.output):
        progress = Reported(progress, progress_uri(config.output))
    try:
        result, card = train(config, progress)
    except BaseException as exc:
        if not isinstance(exc, KeyboardInterrupt):
            problem = write_termination_message(config.resolved_termination_path(),
                                                failure(config, exc).to_termination_message())
            if problem:
                progress.stage(f"warning: {problem}")
        raise
    finally:
        if isinstance(progress, Reported):
            progress.finish()
    progress.close()
    problem = write_termination_message(config.resolved_termination_path(), result.to_termination_message())
    if problem:
        progress.stage(f"warning: {problem}")
    print_summary(result, card)


def train_config(*, data: str, target: str, output: str, id_col: str | None, time_col: str | None,
                 exclude: list[str], post_outcome: list[str], data_format: str | None, allow_leaky: bool,
                 leak_threshold: float, scoring: str | None = None, params: str | None = None,
                 targets: str | None = None, text_col: list[str] | None = None,
                 text_max_features: int = TEXT_MAX_FEATURES,
                 **options: Any) -> TrainConfig:
    """The ``train`` command's parsed options as a validated ``TrainConfig``: the one mapping from
    the trainer's command line (what the operator's Job passes) to the trainer's input."""
    from pydantic import ValidationError as PydanticError

    from leadscore.api.feedback import TargetsSpec
    from leadscore.api.hyperparameters import params_from_json
    from leadscore.data import DatasetSpec
    from leadscore.scoring import spec_from_json
    from leadscore.trainer.config import TrainConfig

    _check_engine(options.get("engine", "local"), options.get("ray_address"), options.get("parallel_trials", 1))
    if scoring is not None:
        options["scoring"] = spec_from_json(scoring, "--scoring")
    if params is not None:
        try:
            options["params"] = params_from_json(params)
        except (PydanticError, ValueError) as exc:
            raise ConfigError(f"--params: {one_line(exc) if isinstance(exc, PydanticError) else exc}") from None
    if targets is not None:
        try:
            options["targets"] = TargetsSpec.model_validate_json(targets)
        except PydanticError as exc:
            raise ConfigError(one_line(exc, lambda loc: f"--targets: {dotted(loc)}" if loc else "--targets")) from None
    try:
        return TrainConfig(
            data=data, format=data_format, output=output, **options,
            dataset=DatasetSpec(target=target, id_column=id_col, time_column=time_col,
                                exclude=exclude, post_outcome=post_outcome, text_columns=text_col or [],
                                text_max_features=text_max_features, allow_leaky=allow_leaky,
                                leak_threshold=leak_threshold),
        )
    except PydanticError as exc:
        raise ConfigError(one_line(exc, _flag)) from None


def _flag(loc: Location) -> str:
    """A ``TrainConfig`` field as the option that sets it: ``("dataset", "id_column")`` -> ``--id-column``."""
    return "--" + ".".join(str(part) for part in loc).removeprefix("dataset.").replace("_", "-")


def _evaluate(
    model: str = typer.Option(..., "--model", help="Model version directory or s3:// prefix."),
    data: str = typer.Option(..., "--data", help="Labelled CSV/Parquet path or s3:// URI."),
    target: str = typer.Option(..., "--target", help="Binary outcome column."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Score labelled data with model.onnx and report ROC-AUC, PR-AUC, Brier, log loss, lift."""
    from leadscore.trainer.batch import evaluate_model

    report = evaluate_model(model, data, target)
    if as_json:
        typer.echo(json.dumps(report))
        return
    from leadscore.trainer.report import print_metrics

    print_metrics(report)


def _score(
    model: str = typer.Option(..., "--model", help="Model version directory or s3:// prefix."),
    data: str = typer.Option(..., "--data", help="CSV/Parquet path or s3:// URI of leads."),
    output: str = typer.Option(..., "--output", help="Where to write scores (.csv or .parquet, path or s3://)."),
    batch_size: int = typer.Option(10_000, "--batch-size", min=1, help="Rows per ONNX call."),
    scoring: str | None = typer.Option(None, "--scoring",
                                       help="Tiers and actions as JSON, overriding the model card's (what "
                                            "LEADSCORE_SCORING does for the endpoint); topPercent tiers are "
                                            "resolved on the version's held-out scores."),
    since: str | None = typer.Option(None, "--since", help="Only leads from this moment on: an age such as 7d "
                                                           "(before now), a date or an ISO timestamp."),
    start: str | None = typer.Option(None, "--from", help="Like --since, for a fixed window with --to."),
    end: str | None = typer.Option(None, "--to", help="Only leads before this moment (a date, timestamp or age)."),
    time_column: str | None = typer.Option(None, "--time-column", help="The dataset's time column the window "
                                                                        "applies to (required with one)."),
    vertical: str | None = typer.Option(None, "--vertical", help="Only leads whose --vertical-column equals this."),
    vertical_column: str = typer.Option("vertical", "--vertical-column", help="Column --vertical filters on."),
    as_json: bool = typer.Option(False, "--json", help="Finish with one JSON line of completion metrics (rows, "
                                                       "leads per tier, durations) instead of the sentence."),
    engine: ComputeEngine = _engine_option("every shard (a file, or each CSV/Parquet file under a directory or "
                                           "s3:// prefix) scored on a Ray cluster (docs/scale.md)"),
    ray_address: str | None = _ray_address_option(),
) -> None:
    """Write lead id, probability, prediction, score 0-100, tier, action, SLA, priority, model version and
    type per lead (optionally of a time window and one vertical); the output is replaced whole, so a
    rerun overwrites it. Progress goes to stderr; rows/s (or --json metrics) to stdout."""
    if not output.lower().endswith((".csv", ".parquet")):
        raise ConfigError(f"--output must end in .csv or .parquet, got {output!r}")
    if since is not None and start is not None:
        raise ConfigError("--since and --from both set the window's start: give one")
    from leadscore.cli.times import parse_time
    from leadscore.data.selection import RowSelection
    from leadscore.scoring import spec_from_json
    from leadscore.trainer.batch import score_file

    began = time.monotonic()
    now = datetime.now(UTC)
    first, first_option = (since, "--since") if since is not None else (start, "--from")
    selection = RowSelection(time_column=time_column,
                             start=parse_time(first, first_option, now) if first else None,
                             end=parse_time(end, "--to", now) if end else None,
                             equals={vertical_column: vertical} if vertical is not None else {})
    if selection.start and selection.end and selection.start >= selection.end:
        raise ConfigError(f"--to ({selection.end.isoformat()}) must be after the start ({selection.start.isoformat()})")
    tiers = spec_from_json(scoring, "--scoring") if scoring is not None else None
    _check_engine(engine, ray_address)
    if engine == "ray":
        from leadscore.trainer.distributed.scoring import score_shards

        run = score_shards(model, data, output, batch_size, tiers, selection, ray_address, _shard_progress)
    else:
        run = score_file(model, data, output, batch_size, tiers, selection, _progress)
    rate = run.rows / run.seconds if run.seconds > 0 else float("inf")
    for note in run.engines.notes:
        typer.echo(f"engines: {note}", err=True)
    if as_json:
        typer.echo(json.dumps({"event": "scored", "rows": run.rows, "datasetRows": run.dataset_rows,
                               "tiers": run.tiers, "modelVersion": run.model_version, "output": output,
                               "scoringSeconds": round(run.seconds, 3),
                               "durationSeconds": round(time.monotonic() - began, 3),
                               "window": {"from": selection.start and selection.start.isoformat(),
                                          "to": selection.end and selection.end.isoformat()},
                               "vertical": vertical, "engines": run.engines.summary()}))
        return
    typer.echo(f"scored {run.rows:,} leads in {run.seconds:.3f} s ({rate:,.0f} rows/s; {run.engines.summary()}) "
               f"-> {output}")


def _progress(done: int, total: int) -> None:
    """One line per batch on stderr, so a Job's log shows how far a long re-scoring got."""
    typer.echo(f"scoring: {done:,}/{total:,} leads ({done / total:.0%})", err=True)


def _shard_progress(done: int, total: int, rows: int) -> None:
    """One line per shard scored on the Ray cluster."""
    typer.echo(f"scoring: {done:,}/{total:,} shards ({rows:,} leads)", err=True)


def register(app: typer.Typer) -> None:
    app.command("train", epilog=example(
        "leadscore train --data leads.csv --target converted --id-col lead_id --time-col created_at \\",
        "    --text-col inquiry --trials 10 --output models/v1 --version v1",
        "leadscore train --data leads.csv --target converted --algorithms lr,lightgbm,randomforest,mlp \\",
        "    --params '{\"lightgbm\": {\"num_leaves\": {\"high\": 31}}}' --valid-fraction 0.2 \\",
        "    --output models/v2",
        "leadscore train --engine ray --ray-address 10.0.0.5:6379 --data s3://leads/shards/ --target converted \\",
        "    --time-col created_at --algorithms lr,xgboost,lightgbm --parallel-trials 2 \\",
        "    --output s3://models/sales/pc/v4/"))(_train)
    app.command("evaluate", epilog=example(
        "leadscore evaluate --model models/v1 --data fresh.csv --target converted --json"))(_evaluate)
    app.command("score", epilog=example(
        "leadscore score --model models/v1 --data fresh.csv --output scores.csv",
        "leadscore score --model s3://models/sales/pc/v3/ --data s3://leads/all.parquet \\",
        "    --output s3://leads/scores/pc.parquet --since 7d --time-column created_at --vertical pc --json",
        "leadscore score --engine ray --ray-address 10.0.0.5:6379 --model s3://models/sales/pc/v3/ \\",
        "    --data s3://leads/shards/ --output s3://leads/scores/pc.parquet"))(_score)
