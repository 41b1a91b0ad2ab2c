"""Settings from options and LEADSCORE_* variables; bad values name the variable or option."""

from __future__ import annotations

import pytest

from leadscore.errors import ConfigError
from leadscore.predictor.config import settings_from


def test_settings_from_reads_env_when_no_option_is_given() -> None:
    settings = settings_from({"LEADSCORE_MAX_BATCH": "25", "LEADSCORE_STRICT": "yes", "LEADSCORE_DEVICE": "cpu"})
    assert (settings.max_batch, settings.strict, settings.device) == (25, True, "cpu")
    assert settings.ab is None and settings.model_uri == "/mnt/models"


def test_settings_from_prefers_options_when_both_are_given() -> None:
    settings = settings_from({"LEADSCORE_MAX_BATCH": "25"}, max_batch=7, strict=None)
    assert settings.max_batch == 7 and settings.strict is False


def test_settings_from_builds_experiment_with_served_model_as_control_when_control_uri_is_unset() -> None:
    env = {
        "LEADSCORE_AB_EXPERIMENT": "pc-test",
        "LEADSCORE_AB_TREATMENT_URI": "s3://models/ns/pc/v4/",
        "LEADSCORE_AB_TREATMENT_PERCENT": "20",
    }
    ab = settings_from(env, model_uri="/mnt/models").ab
    assert ab is not None
    assert (ab.control_uri, ab.treatment_uri, ab.treatment_percent, ab.salt) == (
        "/mnt/models",
        "s3://models/ns/pc/v4/",
        20.0,
        "pc-test",
    )


def test_settings_from_parses_scoring_override_when_given_as_json() -> None:
    env = {
        "LEADSCORE_SCORING": '{"high":{"minScore":90,"action":"call"},"medium":{"minScore":70,"action":"q"},'
        '"low":{"minScore":50,"action":"mail"},"veryLowAction":"drop"}'
    }
    scoring = settings_from(env).scoring
    assert scoring is not None and scoring.high.min_score == 90 and scoring.very_low_action == "drop"


@pytest.mark.parametrize(
    ("env", "options", "message"),
    [
        (
            {"LEADSCORE_MAX_BATCH": "0"},
            {},
            "LEADSCORE_MAX_BATCH: Input should be greater than or equal to 1 (got '0')",
        ),
        ({}, {"max_batch": 0}, "--max-batch: Input should be greater than or equal to 1 (got 0)"),
        ({"LEADSCORE_STRICT": "perhaps"}, {},
         "LEADSCORE_STRICT: Input should be a valid boolean, unable to interpret input (got 'perhaps')"),
        ({"LEADSCORE_DEVICE": "tpu"}, {}, "LEADSCORE_DEVICE: Input should be 'auto', 'cpu' or 'cuda'"),
        ({"LEADSCORE_SCORING": "{high"}, {}, "LEADSCORE_SCORING: not valid JSON"),
        (
            {
                "LEADSCORE_AB_EXPERIMENT": "x",
                "LEADSCORE_AB_TREATMENT_URI": "rules",
                "LEADSCORE_AB_TREATMENT_PERCENT": "150",
            },
            {},
            "LEADSCORE_AB_TREATMENT_PERCENT: Input should be less than or equal to 100",
        ),
        (
            {"LEADSCORE_AB_EXPERIMENT": "x", "LEADSCORE_AB_TREATMENT_PERCENT": "10"},
            {},
            "LEADSCORE_AB_TREATMENT_URI: String should have at least 1 character",
        ),
        (
            {
                "LEADSCORE_AB_EXPERIMENT": "x",
                "LEADSCORE_AB_CONTROL_URI": "rules",
                "LEADSCORE_AB_TREATMENT_URI": "rules",
                "LEADSCORE_AB_TREATMENT_PERCENT": "10",
            },
            {},
            "A/B arms must differ, both are 'rules'",
        ),
    ],
)
def test_settings_from_names_the_source_when_a_value_is_bad(
    env: dict[str, str], options: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from(env, **options)
    assert message in str(caught.value)
