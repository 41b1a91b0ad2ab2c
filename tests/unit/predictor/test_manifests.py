"""The serving manifests stay consistent with the predictor they run."""

from __future__ import annotations

from pathlib import Path

import yaml

from leadscore.predictor.__main__ import build_parser

SERVING = Path(__file__).resolve().parents[3] / "manifests" / "serving"


def _load(name: str) -> dict:
    return yaml.safe_load((SERVING / name).read_text())


def test_runtime_supports_the_leadscore_format_over_v1_and_v2_when_applied() -> None:
    runtime = _load("clusterservingruntime.yaml")
    assert (runtime["kind"], runtime["metadata"]["name"]) == ("ClusterServingRuntime", "leadscore")
    assert [f["name"] for f in runtime["spec"]["supportedModelFormats"]] == ["leadscore"]
    assert {"v1", "v2"} <= set(runtime["spec"]["protocolVersions"])


def test_runtime_args_parse_with_the_predictor_entrypoint_when_kserve_fills_the_name() -> None:
    (container,) = _load("clusterservingruntime.yaml")["spec"]["containers"]
    args = build_parser().parse_args([a.replace("{{.Name}}", "pc-leads") for a in container["args"]])
    assert (args.model_name, args.model_dir, args.http_port, args.grpc_port) == ("pc-leads", "/mnt/models", 8080, 8081)


def test_runtime_runs_non_root_without_capabilities_when_scheduled() -> None:
    (container,) = _load("clusterservingruntime.yaml")["spec"]["containers"]
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]


def test_example_services_use_the_runtime_an_s3_uri_and_the_collector_logger() -> None:
    for name in ("inferenceservice-example.yaml", "inferenceservice-sticky-ab.yaml"):
        predictor = _load(name)["spec"]["predictor"]
        assert predictor["model"]["runtime"] == "leadscore"
        assert predictor["model"]["modelFormat"]["name"] == "leadscore"
        assert predictor["model"]["storageUri"].startswith("s3://")
        assert predictor["logger"]["mode"] == "all"
        assert predictor["logger"]["url"] == "http://leadscore-collector.leadscore.svc:8090/v1/events"
