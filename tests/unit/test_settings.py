"""The LEADSCORE_* settings (pydantic-settings models): defaults, errors that name the variable
and never repeat a secret, and a line in docs/ for every variable."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from leadscore.errors import ConfigError
from leadscore.settings import EnvSettings

DOCS = Path(__file__).resolve().parents[2] / "docs"
MODULES = ("leadscore.operator.settings", "leadscore.predictor.config", "leadscore.predictor.guards",
           "leadscore.collector.auth", "leadscore.collector.privacy", "leadscore.store.events",
           "leadscore.cli.console")


def _all_settings() -> list[type[EnvSettings]]:
    for module in MODULES:
        importlib.import_module(module)
    found, pending = [], list(EnvSettings.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending += cls.__subclasses__()
    return found


def test_every_variable_is_documented_in_docs() -> None:
    text = "\n".join(p.read_text() for p in DOCS.glob("*.md"))
    variables = {cls.variable(name) for cls in _all_settings() for name in cls.model_fields
                 if name not in cls.not_from_env}
    assert len(variables) > 40
    assert sorted(v for v in variables if f"`{v}`" not in text) == []


def test_defaults_are_what_they_were_when_nothing_is_set() -> None:
    from leadscore.collector.auth import GateSettings
    from leadscore.collector.privacy import PrivacySettings
    from leadscore.operator.settings import OperatorSettings
    from leadscore.predictor.config import settings_from
    from leadscore.store.events import StoreSettings

    operator = OperatorSettings.from_env({})
    assert operator == OperatorSettings()
    assert (operator.trainer_image, operator.artifact_root, operator.poll_seconds, operator.metrics_port) == (
        "ghcr.io/leadscore/trainer:0.1.0", "s3://leadscore", 15.0, 0)
    assert operator.gpu_node_selector == {"nvidia.com/gpu.present": "true"}
    assert operator.gpu_tolerations[0].key == "nvidia.com/gpu" and operator.s3_config_map == "leadscore-s3"
    predictor = settings_from({})
    assert (predictor.max_batch, predictor.device, predictor.threads, predictor.top_factors, predictor.strict,
            predictor.fallback, predictor.scoring, predictor.ab) == (
        10_000, "auto", None, 5, False, "rules", None, None)
    store = StoreSettings.from_env({"LEADSCORE_DB_URL": ""})  # empty counts as unset
    assert (store.db_url, store.db_migrate) == ("sqlite:///leadscore-events.db", True)
    gate = GateSettings.from_env({})
    assert (gate.token, gate.kube_auth, gate.rate, gate.burst) == (None, False, None, None)
    assert PrivacySettings.from_env({}).privacy == {}


def test_the_process_environment_is_read_when_no_mapping_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    from leadscore.operator.settings import OperatorSettings

    monkeypatch.setenv("LEADSCORE_POLL_SECONDS", "2")
    monkeypatch.setenv("LEADSCORE_S3_SECRET", "")  # empty: switched off
    settings = OperatorSettings.from_env()
    assert (settings.poll_seconds, settings.s3_secret) == (2.0, None)
    assert OperatorSettings().poll_seconds == 15.0  # constructing one reads no variable


@pytest.mark.parametrize(("module", "cls", "env", "message"), [
    ("leadscore.operator.settings", "OperatorSettings", {"LEADSCORE_METRICS_PORT": "http"},
     "LEADSCORE_METRICS_PORT: Input should be a valid integer"),
    ("leadscore.operator.settings", "OperatorSettings", {"LEADSCORE_GPU_NODE_SELECTOR": "gpu=a100"},
     "LEADSCORE_GPU_NODE_SELECTOR: not valid JSON (Expecting value)"),
    ("leadscore.operator.settings", "OperatorSettings", {"LEADSCORE_GPU_TOLERATIONS": '[{"operator": "Maybe"}]'},
     "LEADSCORE_GPU_TOLERATIONS[0].operator: Input should be"),
    ("leadscore.store.events", "StoreSettings", {"LEADSCORE_DB_MIGRATE": "later"},
     "LEADSCORE_DB_MIGRATE: Input should be a valid boolean"),
    ("leadscore.collector.auth", "GateSettings", {"LEADSCORE_COLLECTOR_RATE": "-1"},
     "LEADSCORE_COLLECTOR_RATE: Input should be greater than 0 (got '-1')"),
    ("leadscore.collector.auth", "GateSettings", {"LEADSCORE_COLLECTOR_KUBE_AUTH": "maybe"},
     "LEADSCORE_COLLECTOR_KUBE_AUTH: Input should be a valid boolean"),
    ("leadscore.collector.privacy", "PrivacySettings", {"LEADSCORE_PRIVACY": "{"},
     "LEADSCORE_PRIVACY: not valid JSON"),
])
def test_a_bad_value_names_its_variable(module: str, cls: str, env: dict[str, str], message: str) -> None:
    settings = getattr(importlib.import_module(module), cls)
    with pytest.raises(ConfigError) as refused:
        settings.from_env(env)
    assert str(refused.value).startswith(message)


@pytest.mark.parametrize(("module", "cls", "env", "message"), [
    ("leadscore.collector.auth", "GateSettings", {"LEADSCORE_COLLECTOR_TOKEN": "hunter2"},
     "LEADSCORE_COLLECTOR_TOKEN: a secret of at least 16 characters is needed"),
    ("leadscore.collector.privacy", "PrivacySettings",
     {"LEADSCORE_PRIVACY": '{"sales/*": {"hash": ["email"]}}', "LEADSCORE_PRIVACY_KEY": "hunter2"},
     "LEADSCORE_PRIVACY_KEY: hashing fields needs a secret key of at least 16 characters"),
    ("leadscore.cli.console", "ConsoleSettings", {"LEADSCORE_CONSOLE_SECRET": "hunter2"},
     "LEADSCORE_CONSOLE_SECRET: a secret of at least 32 characters is needed"),
    ("leadscore.cli.console", "ConsoleSettings", {}, "LEADSCORE_CONSOLE_SECRET: Field required"),
])
def test_a_bad_secret_names_its_variable_but_never_its_value(module: str, cls: str, env: dict[str, str],
                                                             message: str) -> None:
    settings = getattr(importlib.import_module(module), cls)
    with pytest.raises(ConfigError) as refused:
        settings.from_env(env)
    assert str(refused.value) == message
    assert "hunter2" not in str(refused.value)
