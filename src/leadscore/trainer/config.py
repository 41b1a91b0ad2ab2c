"""The trainer's inputs, validated once at the boundary (CLI flags or the Job's args)."""

from __future__ import annotations

import os
import re

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from leadscore.api.feedback import TargetsSpec
from leadscore.api.hyperparameters import Params, check_params
from leadscore.api.leadscoringmodel import (
    DEFAULT_ALGORITHMS,
    MAX_CV_FOLDS,
    MAX_FRACTION,
    MAX_PARALLEL_TRIALS,
    MIN_FEATURE_SAMPLE,
    MIN_FRACTION,
    ONE_FOLD,
    TEST_FRACTION,
    VALIDATION_FRACTION,
    DataFormat,
    ScoringSpec,
    Vertical,
    check_fractions,
)
from leadscore.api.wire import ComputeEngine, Device
from leadscore.data.schema import DatasetSpec

TERMINATION_ENV = "LEADSCORE_TERMINATION_PATH"
DEFAULT_TERMINATION_PATH = "/dev/termination-log"
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


class TrainConfig(BaseModel):
    """Everything ``leadscore train`` was asked to do."""

    model_config = ConfigDict(extra="forbid")

    data: str = Field(description="CSV/Parquet path or s3:// URI.")
    dataset: DatasetSpec
    format: DataFormat | None = None
    algorithms: list[str] = Field(default_factory=lambda: [str(a) for a in DEFAULT_ALGORITHMS])
    trials: int = Field(20, ge=0, le=10_000,
                        description="Optuna trials per algorithm; 0 or 1 trains the default hyper-parameters only.")
    time_budget: float | None = Field(None, gt=0, description="Seconds for the whole search.")
    seed: int = Field(42, ge=0)
    device: Device = "auto"
    threads: int = Field(0, ge=0, description="Threads per library; 0 = all available cores.")
    ensemble: bool = True
    params: Params = Field(default_factory=dict,
                           description="Per-algorithm hyper-parameters pinned or bounded (the CR's training.params).")
    valid_fraction: float = Field(VALIDATION_FRACTION, ge=MIN_FRACTION, le=MAX_FRACTION)
    test_fraction: float = Field(TEST_FRACTION, ge=MIN_FRACTION, le=MAX_FRACTION)
    cv_folds: int | None = Field(None, ge=0, le=MAX_CV_FOLDS,
                                 description="k-fold estimate of the shipped configuration over all labelled rows "
                                             "(trainer.estimate): None = 5 when the test part holds few positives "
                                             "and the split is not by time, 0 = off, or 2 and more folds.")
    feature_sample: int | None = Field(None, ge=MIN_FEATURE_SAMPLE,
                                       description="Fit the feature pipeline on a seeded sample of at most this many "
                                                   "training rows; None: on every training row.")
    model_name: str = Field("leadscore", min_length=1, max_length=63)
    registered_model: str | None = Field(None, min_length=1, max_length=300,
                                         description="MLflow registered model (default: model_name).")
    namespace: str | None = Field(None, description="The LeadScoringModel's namespace (a tag in MLflow).")
    job: str | None = Field(None, description="The training Job's name (a tag in MLflow).")
    version: str | None = None
    vertical: Vertical | None = None
    output: str
    mlflow_uri: str | None = None
    engine: ComputeEngine = Field("local", description="local, or ray: shards read and XGBoost / LightGBM trained "
                                                        "on a Ray cluster (docs/scale.md).")
    ray_address: str | None = Field(None, description="The Ray cluster's head (host:port) of engine ray.")
    parallel_trials: int = Field(1, ge=1, le=MAX_PARALLEL_TRIALS,
                                 description="Engine ray: search trials of each booster fitting at once, each "
                                             "on its share of the cluster's CPUs (the CR's "
                                             "training.ray.parallelTrials).")
    mlflow_experiment: str | None = None
    termination_path: str | None = None
    champion: str | None = Field(None, description="Artifact of the serving version, scored on the same test rows.")
    scoring: ScoringSpec = Field(default_factory=ScoringSpec,
                                 description="Tiers and actions (the CR's spec.scoring), recorded in the card.")
    targets: TargetsSpec | None = Field(
        None, description="Graded targets (the CR's spec.dataset.targets): learn from soft labels; None: binary only.")

    @field_validator("version")
    @classmethod
    def _version_label(cls, value: str | None) -> str | None:
        if value is not None and not _VERSION.match(value):
            raise ValueError(f"expected letters, digits, '.', '_' or '-' (max 63), got {value!r}")
        return value

    @field_validator("algorithms", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("params")
    @classmethod
    def _known_params(cls, value: Params) -> Params:
        return check_params(value)

    @field_validator("cv_folds")
    @classmethod
    def _not_one_fold(cls, value: int | None) -> int | None:
        if value == 1:
            raise ValueError(ONE_FOLD.replace("cvFolds", "--cv-folds"))
        return value

    @field_validator("test_fraction")
    @classmethod
    def _fractions(cls, value: float, info: ValidationInfo) -> float:
        check_fractions(info.data.get("valid_fraction", VALIDATION_FRACTION), value)
        return value

    def resolved_termination_path(self) -> str | None:
        """Flag, else env, else the kubelet's default when it exists (outside a pod: none)."""
        path = self.termination_path or os.environ.get(TERMINATION_ENV)
        if path:
            return path
        return DEFAULT_TERMINATION_PATH if os.path.exists(DEFAULT_TERMINATION_PATH) else None
