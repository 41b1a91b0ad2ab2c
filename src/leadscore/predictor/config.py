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
| ``LEADSCORE_SCORING`` | JSON ``ScoringSpec`` (tiers by score or share, actions, SLAs) overriding the card |
| ``LEADSCORE_FALLBACK`` | ``rules`` (default): the rules score the leads a model fails on; ``none``: 500 |
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

from leadscore.api import abexperiment
from leadscore.api.leadscoringmodel import ScoringSpec
from leadscore.api.wire import MAX_BATCH, Device
from leadscore.errors import ConfigError, Location, one_line

RULES = abexperiment.RULES
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
    max_batch: int = Field(MAX_BATCH, ge=1, le=1_000_000)
    device: Device = "auto"
    threads: int | None = Field(None, ge=1, le=256)
    top_factors: int = Field(5, ge=1, le=100)
    scoring: ScoringSpec | None = None
    fallback: Literal["rules", "none"] = Field(
        RULES, description="Who scores the leads of a model that fails at scoring time: the rules, or nobody (500)."
    )
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


_PLAIN_ENV = {
    "max_batch": "LEADSCORE_MAX_BATCH",
    "device": "LEADSCORE_DEVICE",
    "threads": "LEADSCORE_THREADS",
    "top_factors": "LEADSCORE_TOP_FACTORS",
    "strict": "LEADSCORE_STRICT",
    "scoring": "LEADSCORE_SCORING",
    "fallback": "LEADSCORE_FALLBACK",
}
_AB_ENV = {
    "experiment": "LEADSCORE_AB_EXPERIMENT",
    "control_uri": "LEADSCORE_AB_CONTROL_URI",
    "treatment_uri": "LEADSCORE_AB_TREATMENT_URI",
    "treatment_percent": "LEADSCORE_AB_TREATMENT_PERCENT",
    "salt": "LEADSCORE_AB_SALT",
}


def settings_from(env: Mapping[str, str] | None = None, **options: Any) -> PredictorSettings:
    """Merge ``options`` (given on the command line; None means not given) over ``env``.

    A bad value is reported under the name the user set it by: ``--max-batch`` or
    ``LEADSCORE_MAX_BATCH``.
    """
    env = os.environ if env is None else env
    values: dict[str, Any] = {field: env[var] for field, var in _PLAIN_ENV.items() if env.get(var)}
    if "strict" in values:
        values["strict"] = _flag(_PLAIN_ENV["strict"], values["strict"])
    if "scoring" in values:
        try:
            values["scoring"] = json.loads(values["scoring"])
        except json.JSONDecodeError as exc:
            raise ConfigError(f"LEADSCORE_SCORING: not valid JSON ({exc.msg}): {values['scoring'][:80]!r}") from None
    given = {k: v for k, v in options.items() if v is not None}
    values.update(given)
    experiment = env.get(_AB_ENV["experiment"], "")
    if experiment:
        values["ab"] = {field: env.get(var, "") for field, var in _AB_ENV.items()}
        values["ab"]["control_uri"] = values["ab"]["control_uri"] or values.get("model_uri", DEFAULT_MODEL_DIR)
        values["ab"]["salt"] = values["ab"]["salt"] or experiment
    try:
        return PredictorSettings.model_validate(values)
    except pydantic.ValidationError as exc:

        def where(location: Location) -> str:
            loc = [str(p) for p in location]
            if loc[:1] == ["ab"] and len(loc) > 1:
                return _AB_ENV.get(loc[1], "A/B settings")
            if loc and loc[0] in given:
                return "--" + loc[0].replace("_", "-")
            return _PLAIN_ENV.get(loc[0], loc[0]) if loc else "settings"

        raise ConfigError(one_line(exc, where)) from None
