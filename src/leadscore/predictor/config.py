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

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import Field, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from leadscore.api import abexperiment
from leadscore.api.leadscoringmodel import ScoringSpec
from leadscore.api.wire import MAX_BATCH, Device
from leadscore.errors import Location
from leadscore.settings import JSON_TEXT, EnvSettings

RULES: Final = abexperiment.RULES
"""An arm URI that selects the rule-based baseline instead of a trained artifact."""

DEFAULT_MODEL_DIR = "/mnt/models"


class ABSettings(EnvSettings):
    """A sticky two-arm experiment: which artifacts, what share, which salt (``LEADSCORE_AB_*``)."""

    model_config = SettingsConfigDict(env_prefix="LEADSCORE_AB_", env_ignore_empty=True)

    experiment: str = Field(min_length=1, max_length=253, description="Experiment name; setting it turns "
                                                                      "sticky A/B on.")
    control_uri: str = Field(min_length=1, description="Artifact dir, s3:// prefix or 'rules'.")
    treatment_uri: str = Field(min_length=1, description="Artifact dir, s3:// prefix or 'rules'.")
    treatment_percent: float = Field(ge=0.0, le=100.0, description="Share of leads in treatment, 0-100.")
    salt: str = Field(min_length=1, description="Hash salt; one per experiment keeps experiments independent.")


class PredictorSettings(EnvSettings):
    """Everything a predictor process needs to load and serve; an empty variable counts as unset."""

    model_config = SettingsConfigDict(env_ignore_empty=True)
    not_from_env: ClassVar[frozenset[str]] = frozenset({"name", "model_uri", "ab"})

    name: str = Field("leadscore", min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    model_uri: str = Field(DEFAULT_MODEL_DIR, min_length=1)
    strict: bool = Field(False, description="true: refuse unknown fields instead of ignoring them.")
    max_batch: int = Field(MAX_BATCH, ge=1, le=1_000_000, description="Most leads in one request.")
    device: Device = Field("auto", description="auto (CUDA when available), cpu or cuda.")
    threads: int | None = Field(None, ge=1, le=256, description="onnxruntime intra-op threads "
                                                                "(default: usable cores, at most 4).")
    top_factors: int = Field(5, ge=1, le=100, description="Factors per lead in :explain.")
    scoring: Annotated[ScoringSpec | None, NoDecode, JSON_TEXT] = Field(
        None, description="JSON ScoringSpec (tiers by score or share, actions, SLAs) overriding the card.")
    fallback: Literal["rules", "none"] = Field(
        RULES, description="Who scores the leads of a model that fails at scoring time: the rules, or nobody (500)."
    )
    ab: ABSettings | None = None

    @model_validator(mode="after")
    def _distinct_arms(self) -> PredictorSettings:
        if self.ab and self.ab.control_uri == self.ab.treatment_uri:
            raise ValueError(f"A/B arms must differ, both are {self.ab.control_uri!r}")
        return self

    @classmethod
    def where(cls, location: Location, given: Mapping[str, Any]) -> str:
        if location[:1] == ("ab",):
            return ABSettings.variable(str(location[1])) if len(location) > 1 else "A/B settings"
        return super().where(location, given)


def settings_from(env: Mapping[str, str] | None = None, **options: Any) -> PredictorSettings:
    """Merge ``options`` (given on the command line; None means not given) over ``env``
    (default: the process's environment).

    A bad value is reported under the name the user set it by: ``--max-batch`` or
    ``LEADSCORE_MAX_BATCH``. ``LEADSCORE_AB_EXPERIMENT`` turns the experiment on; its control
    defaults to the served model and its salt to the experiment's name.
    """
    given = {k: v for k, v in options.items() if v is not None}
    values: dict[str, Any] = {}
    ab = ABSettings.environment(env)
    if ab.get("experiment"):
        control = given.get("model_uri", DEFAULT_MODEL_DIR)
        values["ab"] = {"control_uri": control, "treatment_uri": "", "treatment_percent": "",
                        "salt": ab["experiment"], **ab}
    return PredictorSettings.from_env(env, **values, **given)
