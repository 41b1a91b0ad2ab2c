"""``spec.training.params``: per-algorithm hyper-parameter overrides and search bounds.

The names each algorithm's search tunes are defined here, once: the CRD's rules, the operator,
the trainer's command line and the trainer's search spaces all read ``HYPERPARAMETERS`` (a unit
test checks every search space suggests exactly these names). Names are the libraries' own
(``num_leaves``, ``max_depth``), so they stay snake_case in YAML.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, JsonValue, TypeAdapter, model_validator

from leadscore.api.base import ApiModel

Kind = Literal["int", "float"]

HYPERPARAMETERS: dict[str, dict[str, Kind]] = {
    "lr": {"C": "float"},
    "xgboost": {"max_depth": "int", "learning_rate": "float", "min_child_weight": "float", "subsample": "float",
                "colsample_bytree": "float", "reg_lambda": "float", "scale_pos_weight": "float"},
    "lightgbm": {"num_leaves": "int", "learning_rate": "float", "min_child_samples": "int", "subsample": "float",
                 "colsample_bytree": "float", "reg_lambda": "float", "scale_pos_weight": "float"},
    "catboost": {"depth": "int", "learning_rate": "float", "l2_leaf_reg": "float", "scale_pos_weight": "float"},
    "randomforest": {"n_estimators": "int", "max_depth": "int", "min_samples_leaf": "int", "max_features": "float",
                     "max_samples": "float", "scale_pos_weight": "float"},
    "mlp": {"width": "int", "layers": "int", "alpha": "float", "learning_rate_init": "float", "batch_size": "int",
            "scale_pos_weight": "float"},
}
"""Per algorithm (the CR's ``Algorithm`` names), the hyper-parameters its search tunes."""

SETTING_ONE_OF = "set value, or low and/or high (search bounds), not both"
SETTING_ORDER = "low must not exceed high"


class ParamSetting(ApiModel):
    """One hyper-parameter: pinned to a value, or searched between low and high."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": [
        {"rule": "has(self.value) != (has(self.low) || has(self.high))", "message": SETTING_ONE_OF},
        {"rule": "!has(self.low) || !has(self.high) || self.low <= self.high", "message": SETTING_ORDER},
    ]})

    value: float | None = Field(None, description="Fixed value: every trial uses it (the search skips it).")
    low: float | None = Field(None, description="Lower search bound (replaces the algorithm's own).")
    high: float | None = Field(None, description="Upper search bound (replaces the algorithm's own).")

    @model_validator(mode="after")
    def _one_of(self) -> ParamSetting:
        if (self.value is not None) == (self.low is not None or self.high is not None):
            raise ValueError(SETTING_ONE_OF)
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"{SETTING_ORDER} (low {self.low:g}, high {self.high:g})")
        return self


MAX_PARAMS = 20
Params = dict[str, Annotated[dict[str, ParamSetting], Field(max_length=MAX_PARAMS)]]
"""Algorithm -> parameter name -> setting."""


def _allowed(algorithm: str) -> str:
    return ", ".join(HYPERPARAMETERS[algorithm])


def _algorithm_rule(algorithm: str) -> JsonValue:
    names = json.dumps(list(HYPERPARAMETERS[algorithm]))
    return {"rule": f"!('{algorithm}' in self) || self['{algorithm}'].all(k, k in {names})",
            "message": f"params.{algorithm}: unknown parameter; {algorithm} takes {_allowed(algorithm)}"}


PARAMS_RULES: list[JsonValue] = [
    {"rule": "self.all(k, k in " + json.dumps(list(HYPERPARAMETERS)) + ")",
     "message": "params: keys must be algorithms (" + ", ".join(HYPERPARAMETERS) + ")"},
    *[_algorithm_rule(a) for a in HYPERPARAMETERS],
]
"""The apiserver's half of ``check_params`` (CEL on the map keys)."""


def check_params(params: Params) -> Params:
    """Refuse an unknown algorithm or parameter, or a fractional value for an integer parameter,
    naming ``params.<algorithm>.<parameter>``."""
    for algorithm, settings in params.items():
        if algorithm not in HYPERPARAMETERS:
            raise ValueError(f"params.{algorithm}: unknown algorithm (choose from {', '.join(HYPERPARAMETERS)})")
        kinds = HYPERPARAMETERS[algorithm]
        for name, setting in settings.items():
            if name not in kinds:
                raise ValueError(f"params.{algorithm}.{name}: unknown parameter; {algorithm} takes "
                                 f"{_allowed(algorithm)}")
            numbers = [v for v in (setting.value, setting.low, setting.high) if v is not None]
            if kinds[name] == "int" and any(v != int(v) for v in numbers):
                raise ValueError(f"params.{algorithm}.{name}: an integer parameter, got {numbers}")
    return params


PARAMS_ADAPTER: TypeAdapter[Params] = TypeAdapter(Params)


def params_from_json(text: str) -> Params:
    """``--params``: the CR's ``spec.training.params`` as JSON, validated as the CR is."""
    return check_params(PARAMS_ADAPTER.validate_json(text))


def params_to_json(params: Params) -> str:
    return json.dumps({a: {n: s.model_dump(exclude_none=True) for n, s in settings.items()}
                       for a, settings in params.items()}, separators=(",", ":"))
