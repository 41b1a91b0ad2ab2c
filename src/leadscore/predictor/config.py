"""Predictor settings: command-line options first, then ``LEADSCORE_*`` environment variables.

The operator configures a running predictor only through the InferenceService it renders:
``storageUri`` (mounted at ``/mnt/models``), KServe's standard args, and the environment
variables below. predictor/CONTRACT.md lists them for the image.

| variable | meaning |
|---|---|
| ``LEADSCORE_STRICT`` | ``true``: refuse unknown fields instead of ignoring them |
| ``LEADSCORE_MAX_BATCH`` | most leads in one request (default 10000) |
| ``LEADSCORE_DEVICE`` | ``auto`` (CUDA when available), ``cpu`` or ``cuda`` |
| ``LEADSCORE_THREADS`` | onnxruntime intra-op threads (default: usable cores, at most 4) |
| ``LEADSCORE_TOP_FACTORS`` | factors per lead in ``:explain`` (default 5) |
| ``LEADSCORE_SCORING`` | JSON ``ScoringSpec`` (tier thresholds and actions) overriding the model card |
| ``LEADSCORE_AB_EXPERIMENT`` | experiment name; setting it turns sticky A/B on |
| ``LEADSCORE_AB_CONTROL_URI`` | control artifact (path, ``s3://`` or ``rules``); default: the served model |
| ``LEADSCORE_AB_TREATMENT_URI`` | treatment artifact (path, ``s3://`` or ``rules``) |
| ``LEADSCORE_AB_TREATMENT_PERCENT`` | share of leads in treatment, 0-100 |
| ``LEADSCORE_AB_SALT`` | hash salt (default: the experiment name) |
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator

from leadscore.api.leadscoringmodel import ScoringSpec
from leadscore.errors import ConfigError

RULES = "rules"
"""An arm URI that selects the rule-based baseline instead of a trained artifact."""

DEFAULT_MODEL_DIR = "/mnt/models"


class ABSettings(BaseModel):
    """A sticky two-arm experiment: which artifacts, what share, which salt."""

    model_config = ConfigDict(extra="forbid")

    experiment: str = Field(min_length=1, max_length=253)
    control_uri: str = Field(min_length=1, description="Artifact dir, s3:// prefix or 'rules'.")
    treatment_uri: str = Field(min_length=1, description="Artifact dir, s3:// prefix or 'rules'.")
    treatment_percent: float = Field(ge=0.0, le=100.0)
    salt: str = Field(min_length=1, description="Hash salt; one per experiment keeps experiments independent.")


class PredictorSettings(BaseModel):
    """Everything a predictor process needs to load and serve."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("leadscore", min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    model_uri: str = Field(DEFAULT_MODEL_DIR, min_length=1)
    strict: bool = False
    max_batch: int = Field(10_000, ge=1, le=1_000_000)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int | None = Field(None, ge=1, le=256)
    top_factors: int = Field(5, ge=1, le=100)
    scoring: ScoringSpec | None = None
    ab: ABSettings | None = None

    @model_validator(mode="after")
    def _distinct_arms(self) -> PredictorSettings:
        if self.ab and self.ab.control_uri == self.ab.treatment_uri:
            raise ValueError(f"A/B arms must differ, both are {self.ab.control_uri!r}")
        return self


_FLAGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False, "": False}


def _flag(name: str, value: str) -> bool:
    try:
        return _FLAGS[value.strip().lower()]
    except KeyError:
        raise ConfigError(f"{name}: expected true or false, got {value!r}") from None


def settings_from(env: Mapping[str, str] | None = None, **options: Any) -> PredictorSettings:
    """Merge ``options`` (given on the command line; None means not given) over ``env``."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    plain = {
        "LEADSCORE_MAX_BATCH": "max_batch",
        "LEADSCORE_DEVICE": "device",
        "LEADSCORE_THREADS": "threads",
        "LEADSCORE_TOP_FACTORS": "top_factors",
    }
    for variable, field in plain.items():
        if env.get(variable):
            values[field] = env[variable]
    if env.get("LEADSCORE_STRICT"):
        values["strict"] = _flag("LEADSCORE_STRICT", env["LEADSCORE_STRICT"])
    if env.get("LEADSCORE_SCORING"):
        try:
            values["scoring"] = json.loads(env["LEADSCORE_SCORING"])
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"LEADSCORE_SCORING: not valid JSON ({exc.msg}): {env['LEADSCORE_SCORING'][:80]!r}"
            ) from None
    values.update({k: v for k, v in options.items() if v is not None})
    experiment = env.get("LEADSCORE_AB_EXPERIMENT", "")
    if experiment:
        values["ab"] = {
            "experiment": experiment,
            "control_uri": env.get("LEADSCORE_AB_CONTROL_URI") or values.get("model_uri", DEFAULT_MODEL_DIR),
            "treatment_uri": env.get("LEADSCORE_AB_TREATMENT_URI", ""),
            "treatment_percent": env.get("LEADSCORE_AB_TREATMENT_PERCENT", ""),
            "salt": env.get("LEADSCORE_AB_SALT") or experiment,
        }
    try:
        return PredictorSettings.model_validate(values)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        given = first.get("input")
        raise ConfigError(f"predictor setting {where}: {first['msg']} (given {given!r})") from None
