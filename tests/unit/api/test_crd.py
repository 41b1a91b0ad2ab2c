"""The generated CRDs: fresh on disk, structural, documented, with the validations we promise."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from leadscore.api.crd import (
    AB_EXPERIMENT,
    LEAD_SCORING_MODEL,
    RESOURCES,
    crd,
    openapi_schema,
    properties_without_description,
    rendered_files,
    structural,
)
from leadscore.cli.main import main

ROOT = Path(__file__).resolve().parents[3]


def _walk(schema: Any, path: str = "$"):
    if isinstance(schema, dict):
        yield path, schema
        for key, value in schema.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _walk(value, f"{path}[{index}]")


def _prop(schema: dict[str, Any], dotted: str) -> dict[str, Any]:
    for name in dotted.split("."):
        schema = schema["properties"][name]
    return schema


def test_crds_folder_is_fresh_when_compared_with_the_models():
    expected = rendered_files()
    on_disk = {path.name: path.read_text() for path in (ROOT / "crds").glob("*.yaml")}
    stale = sorted(name for name in expected.keys() | on_disk.keys()
                   if expected.get(name) != on_disk.get(name))
    assert not stale, f"crds/ is stale ({', '.join(stale)}): run `make crds`"


def test_chart_crd_templates_are_fresh_and_complete():
    templates = ROOT / "charts" / "leadscore" / "templates"
    expected = rendered_files(chart=True)
    on_disk = {p.name: p.read_text() for p in templates.glob("crd-*.yaml")}
    stale = sorted(name for name in expected.keys() | on_disk.keys() if expected.get(name) != on_disk.get(name))
    assert not stale, f"chart CRD templates are stale ({', '.join(stale)}): run `make crds`"


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.kind)
def test_schema_has_a_description_on_every_property_when_generated(resource):
    assert properties_without_description(openapi_schema(resource)) == []


def test_description_check_names_the_property_when_one_lacks_prose():
    schema = {"type": "object", "properties": {"spec": {"type": "object", "description": "x",
                                                         "properties": {"bare": {"type": "string"}}}}}
    assert properties_without_description(schema) == ["spec.bare"]


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.kind)
def test_schema_is_structural_when_generated(resource):
    schema = openapi_schema(resource)
    for path, node in _walk(schema):
        assert "$ref" not in node and "$defs" not in node, path
        assert "title" not in node or path.endswith(".properties"), path
        assert node.get("additionalProperties") is not False, path
        if "anyOf" in node:
            assert node.get("x-kubernetes-int-or-string") is True, f"{path}: anyOf outside int-or-string"
        if path.endswith(".properties") or path.endswith("x-kubernetes-validations"):
            continue
        if any(key in node for key in ("properties", "items", "enum", "pattern", "default")) \
                and "x-kubernetes-int-or-string" not in node:
            assert "type" in node, f"{path}: no type"


def test_structural_turns_optional_refs_into_nullable_objects_when_rewriting():
    schema = {"$defs": {"Inner": {"title": "Inner", "type": "object", "additionalProperties": False,
                                  "properties": {"a": {"type": "integer", "default": 1, "title": "A"}}}},
              "type": "object", "properties": {
                  "inner": {"anyOf": [{"$ref": "#/$defs/Inner"}, {"type": "null"}], "default": None},
                  "plain": {"$ref": "#/$defs/Inner"},
                  "bound": {"type": "number", "exclusiveMinimum": 0}}}
    out = structural(schema)
    assert out["properties"]["inner"] == {"type": "object", "nullable": True,
                                          "properties": {"a": {"type": "integer", "default": 1}}}
    assert out["properties"]["bound"] == {"type": "number", "minimum": 0, "exclusiveMinimum": True}


def test_crd_has_status_subresource_short_name_and_columns_when_generated():
    document = crd(LEAD_SCORING_MODEL)
    version = document["spec"]["versions"][0]
    assert document["metadata"]["name"] == "leadscoringmodels.leadscoring.io"
    assert document["spec"]["names"]["shortNames"] == ["lsm"]
    assert version["subresources"] == {"status": {}}
    assert [c["name"] for c in version["additionalPrinterColumns"]] == \
        ["Phase", "Active", "Serving", "AUC", "Health", "Latest", "Endpoint", "Age"]
    paths = [c["jsonPath"] for c in version["additionalPrinterColumns"]]
    assert all(path.startswith((".status.", ".metadata.")) for path in paths)
    assert crd(AB_EXPERIMENT)["spec"]["names"]["shortNames"] == ["abx"]


def test_model_schema_carries_enums_ranges_defaults_and_cel_when_generated():
    spec = openapi_schema(LEAD_SCORING_MODEL)["properties"]["spec"]
    assert _prop(spec, "vertical")["enum"] == ["pc", "health", "commercial", "generic"]
    assert _prop(spec, "training.algorithms")["items"]["enum"] == ["lr", "xgboost", "lightgbm", "catboost",
                                                                  "randomforest", "mlp"]
    assert _prop(spec, "training.algorithms")["x-kubernetes-list-type"] == "set"
    assert (_prop(spec, "training.gpu")["minimum"], _prop(spec, "training.gpu")["maximum"]) == (0, 8)
    assert _prop(spec, "serving.canaryTrafficPercent")["maximum"] == 100
    assert _prop(spec, "schedule")["nullable"] is True and "default" not in _prop(spec, "schedule")
    assert _prop(spec, "training")["default"]["algorithms"] == ["lr", "xgboost", "lightgbm", "catboost"]
    assert "image" not in _prop(spec, "training")["default"]  # None defaults are left out
    assert _prop(spec, "scoring.high")["default"] == {"topPercent": 5, "action": "immediate_assignment",
                                                      "sla": "30m", "priority": "P0"}
    assert _prop(spec, "scoring")["default"]["low"] == {"topPercent": 50, "action": "nurture", "sla": "24h",
                                                        "priority": "P2"}
    rules = [r["rule"] for r in _prop(spec, "scoring")["x-kubernetes-validations"]]
    assert any("self.high.minScore > self.medium.minScore" in rule for rule in rules)
    assert "has(self.leadsPerDay)" in _prop(spec, "scoring.high")["x-kubernetes-validations"][0]["rule"]
    cron = re.compile(_prop(spec, "schedule.cron")["pattern"])
    assert cron.match("0 3 * * 1") and cron.match("@daily") and cron.match("*/15 * * * MON-FRI")
    assert not cron.match("every day") and not cron.match("0 3 * *")


def test_experiment_schema_refuses_equal_arms_and_bounds_traffic_when_generated():
    schema = openapi_schema(AB_EXPERIMENT)["properties"]["spec"]
    rules = {rule["rule"]: rule for rule in schema["x-kubernetes-validations"]}
    assert rules["self.control.version != self.treatment.version"]["fieldPath"] == ".treatment.version"
    assert (_prop(schema, "trafficPercent")["minimum"], _prop(schema, "trafficPercent")["maximum"]) == (1, 99)
    assert _prop(schema, "assignment")["enum"] == ["random", "sticky"]
    assert _prop(schema, "alpha")["exclusiveMinimum"] is True


def test_conditions_are_a_list_map_keyed_by_type_when_generated():
    conditions = openapi_schema(LEAD_SCORING_MODEL)["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert "type" in conditions["items"]["required"]


def test_cli_writes_crds_and_chart_templates_when_both_folders_given(tmp_path):
    rc = main(["operator", "crds", "--output", str(tmp_path / "crds"), "--chart", str(tmp_path / "tpl")])
    assert rc == 0
    assert {p.name for p in (tmp_path / "crds").iterdir()} == set(rendered_files())
    template = (tmp_path / "tpl" / "crd-leadscoring.io_leadscoringmodels.yaml").read_text()
    assert "{{- if .Values.crds.install }}" in template and "helm.sh/resource-policy: keep" in template


def test_cli_leaves_chart_alone_when_no_chart_folder_given(tmp_path):
    assert main(["operator", "crds", "--output", str(tmp_path / "crds")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crds"]
