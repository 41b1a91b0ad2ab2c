"""Job and InferenceService manifests, built without a cluster."""

from __future__ import annotations

import json

import pytest
from kubernetes.client import ApiClient

from leadscore.api.leadscoringmodel import ExperimentBinding
from leadscore.operator.builders import (
    ServingError,
    inference_service_manifest,
    plan_serving,
    training_job_manifest,
)
from leadscore.operator.deployment_mode import KNATIVE, STANDARD


def _job(spec, settings, **changes):
    if changes:
        spec = spec.model_copy(update={"training": spec.training.model_copy(update=changes)})
    return training_job_manifest("ns", "m", "v3", "s3://models/ns/m/v3/", spec, settings)


def _env(container) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("env", [])}


def test_job_is_named_and_labelled_by_model_and_version_when_built(spec, settings):
    job = _job(spec, settings)
    assert job["metadata"]["name"] == "m-train-v3"
    assert job["metadata"]["labels"]["leadscoring.io/model"] == "m"
    assert job["metadata"]["labels"]["leadscoring.io/version"] == "v3"
    assert job["spec"]["template"]["metadata"]["labels"] == job["metadata"]["labels"]


def test_trainer_pod_has_a_read_only_root_and_writes_only_to_a_tmp_emptydir(spec, settings):
    pod = _job(spec, settings)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (mount,) = container["volumeMounts"]
    (volume,) = pod["volumes"]
    assert (mount["mountPath"], mount["name"], "emptyDir" in volume) == ("/tmp", volume["name"], True)
    assert _env(container)["HOME"] == "/tmp"


def test_job_passes_spec_to_the_trainer_cli_when_built(spec, settings):
    container = _job(spec, settings)["spec"]["template"]["spec"]["containers"][0]
    args = container["args"]
    assert container["command"] == ["leadscore"] and args[0] == "train"
    pairs = dict(zip(args[1::2], args[2::2], strict=False))
    assert pairs["--data"] == "s3://leads/health.parquet"
    assert pairs["--output"] == "s3://models/ns/m/v3/"
    assert pairs["--algorithms"] == "lr,xgboost"
    assert pairs["--time-column"] == "created_at"
    assert args[args.index("--exclude") + 1] == "policy_issued"
    assert pairs["--device"] == "cpu" and "--ensemble" in args
    assert "--format" not in args and "--allow-leaky" not in args  # auto: the trainer detects it
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert container["image"] == settings.trainer_image


def test_job_carries_limits_and_lifetime_from_spec_when_built(spec, settings):
    job = _job(spec, settings, backoff_limit=2, active_deadline_seconds=600, ttl_seconds_after_finished=60)
    assert (job["spec"]["backoffLimit"], job["spec"]["activeDeadlineSeconds"],
            job["spec"]["ttlSecondsAfterFinished"]) == (2, 600, 60)
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["containers"][0]["resources"] == {"requests": {"cpu": "2"}}
    assert "nodeSelector" not in pod and "tolerations" not in pod
    assert job["spec"]["podFailurePolicy"]["rules"][0]["onExitCodes"]["values"] == [2, 3, 4, 6]


def test_job_asks_for_gpus_and_gpu_nodes_when_training_gpu_is_set(spec, settings):
    job = _job(spec, settings, gpu=2, node_selector={"pool": "train"})
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true", "pool": "train"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    assert container["image"] == settings.trainer_gpu_image
    assert container["args"][container["args"].index("--device") + 1] == "cuda"


def test_job_reads_s3_and_mlflow_config_by_reference_when_built(spec, settings):
    container = _job(spec, settings)["spec"]["template"]["spec"]["containers"][0]
    assert {"secretRef": {"name": "leadscore-s3", "optional": True}} in container["envFrom"]
    assert {"configMapRef": {"name": "leadscore-mlflow", "optional": True}} in container["envFrom"]
    assert _env(container)["LEADSCORE_VERSION"] == "v3"


def test_job_validates_against_the_kubernetes_client_model_when_built(spec, settings):
    job = _job(spec, settings, gpu=1)
    client = ApiClient()
    model = client._ApiClient__deserialize(job, "V1Job")
    assert client.sanitize_for_serialization(model) == job


def test_isvc_serves_the_active_version_with_runtime_and_logger_when_built(spec, settings, status):
    plan = plan_serving("ns", spec, status("v1", "v2", active_version="v2"), mode=STANDARD)
    isvc = inference_service_manifest("ns", "m", spec, plan, settings)
    model = isvc["spec"]["predictor"]["model"]
    assert model["storageUri"] == "s3://models/ns/m/v2/"
    assert model["runtime"] == "leadscore" and model["modelFormat"] == {"name": "leadscore"}
    assert isvc["spec"]["predictor"]["logger"]["url"] == "http://collector:8080/v1/events"
    assert "canaryTrafficPercent" not in isvc["spec"]["predictor"]
    assert isvc["metadata"]["labels"]["leadscoring.io/version"] == "v2"
    assert json.loads(_env(model)["LEADSCORE_SCORING"])["high"]["topPercent"] == 5


def test_isvc_names_the_storage_container_only_when_one_is_configured(spec, settings, status):
    plan = plan_serving("ns", spec, status("v1", active_version="v1"), mode=STANDARD)
    unnamed = inference_service_manifest("ns", "m", spec, plan, settings)["spec"]["predictor"]
    assert "storageContainerName" not in unnamed
    named = settings.model_copy(update={"storage_container": "leadscore-storage"})
    predictor = inference_service_manifest("ns", "m", spec, plan, named)["spec"]["predictor"]
    assert predictor["storageContainerName"] == "leadscore-storage"


@pytest.mark.parametrize(("mode", "expected"), [
    (KNATIVE, {"serving.kserve.io/enable-prometheus-scraping": "true",
               "serving.kserve.io/enable-metric-aggregation": "true", "prometheus.io/scrape": "true"}),
    (STANDARD, {"serving.kserve.io/enable-prometheus-scraping": "false", "prometheus.io/scrape": "true",
                "prometheus.io/port": "8080", "prometheus.io/path": "/metrics"}),
])
def test_isvc_is_scraped_by_prometheus_where_the_mode_serves_metrics(spec, settings, status, mode, expected):
    plan = plan_serving("ns", spec, status("v1", active_version="v1"), mode=mode)
    isvc = inference_service_manifest("ns", "m", spec, plan, settings)
    assert isvc["metadata"]["annotations"] == expected


def test_plan_rolls_out_fully_and_says_why_when_standard_mode_cannot_canary(spec, settings, status):
    serving = spec.serving.model_copy(update={"canary_traffic_percent": 10})
    spec = spec.model_copy(update={"serving": serving})
    plan = plan_serving("ns", spec, status("v1", "v2", active_version="v2", previous_version="v1"),
                        mode=STANDARD)
    isvc = inference_service_manifest("ns", "m", spec, plan, settings)
    assert "canaryTrafficPercent" not in isvc["spec"]["predictor"]
    assert [(t.version, t.percent) for t in plan.traffic] == [("v2", 100)]
    assert "canaryTrafficPercent 10 is not applied" in plan.note and "Standard mode" in plan.note


def test_isvc_validates_against_the_kserve_sdk_model_when_built(spec, settings, status, kserve_roundtrip):
    serving = spec.serving.model_copy(update={"gpu": 1, "canary_traffic_percent": 10})
    spec = spec.model_copy(update={"serving": serving})
    plan = plan_serving("ns", spec, status("v1", "v2", active_version="v2", previous_version="v1"),
                        mode=KNATIVE)
    isvc = inference_service_manifest("ns", "m", spec, plan, settings)
    assert kserve_roundtrip(isvc) == isvc
    assert isvc["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert isvc["spec"]["predictor"]["model"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert isvc["spec"]["predictor"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}


def test_plan_is_none_when_no_version_exists_yet(spec, status):
    assert plan_serving("ns", spec, status(), mode=STANDARD) is None


def test_plan_serves_the_pinned_version_when_pinned(spec, status):
    pinned = spec.model_copy(update={"serving": spec.serving.model_copy(update={"pinned_version": "v1"})})
    plan = plan_serving("ns", pinned, status("v1", "v2", active_version="v2"), mode=STANDARD)
    assert (plan.version, plan.storage_uri) == ("v1", "s3://models/ns/m/v1/")


def test_plan_refuses_naming_versions_when_pinned_version_is_gone(spec, status):
    pinned = spec.model_copy(update={"serving": spec.serving.model_copy(update={"pinned_version": "v7"})})
    with pytest.raises(ServingError, match=r"v7 has no artifacts \(versions available: v1, v2\)"):
        plan_serving("ns", pinned, status("v1", "v2", active_version="v2"), mode=STANDARD)


def test_plan_splits_through_kserve_canary_when_experiment_is_random(spec, settings, status):
    binding = ExperimentBinding(name="exp", assignment="random", control="v1", treatment="v2",
                                traffic_percent=30)
    plan = plan_serving("ns", spec, status("v1", "v2", active_version="v1", experiment=binding),
                        mode=KNATIVE)
    isvc = inference_service_manifest("ns", "m", spec, plan, settings)
    assert isvc["spec"]["predictor"]["canaryTrafficPercent"] == 30
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == "s3://models/ns/m/v2/"
    assert isvc["metadata"]["annotations"]["leadscoring.io/experiment"] == "exp"
    assert [(t.version, t.percent) for t in plan.traffic] == [("v1", 70), ("v2", 30)]


def test_plan_hands_both_arms_to_the_predictor_when_experiment_is_sticky(spec, settings, status,
                                                                         kserve_roundtrip):
    binding = ExperimentBinding(name="exp", assignment="sticky", control="v1", treatment="v2",
                                traffic_percent=20)
    plan = plan_serving("ns", spec, status("v1", "v2", active_version="v1", experiment=binding), mode=STANDARD)
    isvc = inference_service_manifest("ns", "m", spec, plan, settings)
    model = isvc["spec"]["predictor"]["model"]
    env = _env(model)
    assert model["storageUri"] == "s3://models/ns/m/v1/"
    assert "canaryTrafficPercent" not in isvc["spec"]["predictor"]
    assert env["LEADSCORE_AB_CONTROL_URI"] == "/mnt/models"
    assert env["LEADSCORE_AB_TREATMENT_URI"] == "s3://models/ns/m/v2/"
    assert (env["LEADSCORE_AB_TREATMENT_PERCENT"], env["LEADSCORE_AB_SALT"]) == ("20", "ns/exp")
    assert {"secretRef": {"name": "leadscore-s3", "optional": True}} in model["envFrom"]
    assert kserve_roundtrip(isvc) == isvc


def test_plan_mounts_the_treatment_when_control_is_the_rules_baseline(spec, status):
    binding = ExperimentBinding(name="exp", assignment="random", control="rules", treatment="v2",
                                traffic_percent=50)
    plan = plan_serving("ns", spec, status("v2", active_version="v2", experiment=binding), mode=STANDARD)
    assert plan.storage_uri == "s3://models/ns/m/v2/" and plan.canary_traffic_percent is None
    assert (plan.env["LEADSCORE_AB_CONTROL_URI"], plan.env["LEADSCORE_AB_TREATMENT_URI"]) == \
        ("rules", "/mnt/models")


def test_trainer_args_are_accepted_by_the_trainer_cli_when_parsed(spec):
    """The operator's args against the real `leadscore train` options (skipped in a slim checkout)."""
    train_cli = pytest.importorskip("leadscore.cli.train")
    import typer

    from leadscore.operator.builders import trainer_args

    app = typer.Typer()
    train_cli.register(app)
    command = typer.main.get_command(app).commands["train"]
    leaky = spec.model_copy(update={"dataset": spec.dataset.model_copy(update={
        "format": "parquet", "post_outcome_columns": ["policy_issued"], "allow_leaky": True,
        "text_columns": ["inquiry", "notes"], "text_max_features": 80})})
    args = trainer_args("ns", "m", "v3", "s3://models/ns/m/v3/", leaky, champion="s3://models/ns/m/v2/")
    context = command.make_context("train", args[1:])
    params = context.params
    assert params["champion"] == "s3://models/ns/m/v2/"
    assert "--champion" not in trainer_args("ns", "m", "v1", "s3://models/ns/m/v1/", spec)
    assert (params["data"], params["output"], params["version"]) == ("s3://leads/health.parquet",
                                                                     "s3://models/ns/m/v3/", "v3")
    assert params["post_outcome"] == ["policy_issued"] and params["allow_leaky"] is True
    assert params["data_format"] == "parquet" and params["device"] == "cpu"
    assert params["text_col"] == ["inquiry", "notes"] and params["text_max_features"] == 80
    config = train_cli.train_config(**params)
    assert config.dataset.text_columns == ["inquiry", "notes"] and config.dataset.text_max_features == 80


def test_training_params_and_fractions_reach_the_trainer_config_when_set(spec):
    """spec.training.params and the split fractions travel through the Job's args into TrainConfig."""
    train_cli = pytest.importorskip("leadscore.cli.train")
    import typer

    from leadscore.api.hyperparameters import ParamSetting
    from leadscore.operator.builders import trainer_args

    app = typer.Typer()
    train_cli.register(app)
    command = typer.main.get_command(app).commands["train"]
    training = spec.training.model_copy(update={
        "algorithms": ["lr", "randomforest", "mlp"], "validation_fraction": 0.2, "test_fraction": 0.1,
        "params": {"randomforest": {"max_depth": ParamSetting(low=4, high=8)},
                   "mlp": {"width": ParamSetting(value=32)}}})
    args = trainer_args("ns", "m", "v3", "s3://m/ns/m/v3/", spec.model_copy(update={"training": training}))
    config = train_cli.train_config(**command.make_context("train", args[1:]).params)
    assert config.algorithms == ["lr", "randomforest", "mlp"]
    assert (config.valid_fraction, config.test_fraction) == (0.2, 0.1)
    assert config.params["randomforest"]["max_depth"] == ParamSetting(low=4, high=8)
    assert config.params["mlp"]["width"].value == 32
    assert "--params" not in trainer_args("ns", "m", "v3", "s3://m/ns/m/v3/", spec)


def test_the_crs_graded_targets_reach_the_trainer_config_unchanged(spec):
    """spec.dataset.targets -> the Job's --targets -> TrainConfig.targets: one mapping, one set of defaults."""
    train_cli = pytest.importorskip("leadscore.cli.train")
    import typer

    from leadscore.api.feedback import TargetsSpec
    from leadscore.operator.builders import trainer_args

    app = typer.Typer()
    train_cli.register(app)
    command = typer.main.get_command(app).commands["train"]
    targets = TargetsSpec.model_validate({"contactAttempt": 0.65, "quickArchiveSeconds": 20})
    graded = spec.model_copy(update={"dataset": spec.dataset.model_copy(update={"targets": targets})})
    params = command.make_context("train", trainer_args("ns", "m", "v3", "s3://m/ns/m/v3/", graded)[1:]).params
    assert train_cli.train_config(**params).targets == targets
    plain = command.make_context("train", trainer_args("ns", "m", "v3", "s3://m/ns/m/v3/", spec)[1:]).params
    assert train_cli.train_config(**plain).targets is None


def _bounds(field: str) -> tuple[float, float]:
    """The lowest and highest value the CRD accepts for ``spec.training.<field>``."""
    import annotated_types

    from leadscore.api.leadscoringmodel import TrainingSpec

    metadata = TrainingSpec.model_fields[field].metadata
    low = next(m.ge for m in metadata if isinstance(m, annotated_types.Ge))
    high = next(m.le for m in metadata if isinstance(m, annotated_types.Le))
    return low, high


@pytest.mark.parametrize("field", ["trials", "time_budget_seconds", "seed", "gpu", "validation_fraction", "cv_folds",
                                   "test_fraction", "feature_sample"])
def test_trainer_builds_a_config_at_each_bound_the_crd_allows(spec, field):
    """Every value the CRD admits must start a trainer that accepts it, not a Job that fails."""
    train_cli = pytest.importorskip("leadscore.cli.train")
    import typer

    from leadscore.operator.builders import trainer_args

    app = typer.Typer()
    train_cli.register(app)
    command = typer.main.get_command(app).commands["train"]
    for value in _bounds(field):
        bounded = spec.model_copy(update={"training": spec.training.model_copy(update={field: value})})
        params = command.make_context("train", trainer_args("ns", "m", "v3", "s3://m/ns/m/v3/", bounded)[1:]).params
        config = train_cli.train_config(**params)
        assert config.output == "s3://m/ns/m/v3/"



def test_the_trainer_records_the_tiers_the_endpoint_applies(spec, settings, status):
    """spec.scoring reaches the model card (read by `leadscore score`) exactly as it reaches the endpoint."""
    train_cli = pytest.importorskip("leadscore.cli.train")
    import typer

    from leadscore.api.leadscoringmodel import ScoringSpec
    from leadscore.operator.builders import trainer_args

    tiers = ScoringSpec.model_validate({"high": {"minScore": 90, "action": "call_now"},
                                        "medium": {"minScore": 50, "action": "email"},
                                        "low": {"minScore": 20, "action": "drip"}, "veryLowAction": "drop"})
    custom = spec.model_copy(update={"scoring": tiers})
    app = typer.Typer()
    train_cli.register(app)
    command = typer.main.get_command(app).commands["train"]
    params = command.make_context("train", trainer_args("ns", "m", "v3", "s3://m/ns/m/v3/", custom)[1:]).params
    recorded = train_cli.train_config(**params).scoring
    plan = plan_serving("ns", custom, status("v1", active_version="v1"), mode=STANDARD)
    isvc = inference_service_manifest("ns", "m", custom, plan, settings)
    env = _env(isvc["spec"]["predictor"]["model"])
    assert recorded == tiers == ScoringSpec.model_validate_json(env["LEADSCORE_SCORING"])
