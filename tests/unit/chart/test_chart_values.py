"""values.yaml is the chart's manual and values.schema.json its guard: they must agree, every key
must be documented, no credential may live in them, and bad values must fail with a clear message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.helm import CHART, Helm, HelmError

VALUES_TEXT = (CHART / "values.yaml").read_text()
VALUES = yaml.safe_load(VALUES_TEXT)
SCHEMA = json.loads((CHART / "values.schema.json").read_text())
# Keys whose value is a free-form map or list (labels, env, affinity...): their content is the user's.
FREE_FORM = {"commonLabels", "imagePullSecrets", "annotations", "podAnnotations", "podLabels", "nodeSelector",
             "tolerations", "affinity", "extraEnv", "resources", "names", "protocolVersions", "labels"}


def value_paths(values: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in values.items():
        path = f"{prefix}{key}"
        yield path
        if isinstance(value, dict) and key not in FREE_FORM:
            yield from value_paths(value, path + ".")


def schema_paths(schema: dict[str, Any], prefix: str = "") -> Iterator[str]:
    if "$ref" in schema:
        schema = SCHEMA["definitions"][schema["$ref"].rsplit("/", 1)[1]]
    for key, sub in schema.get("properties", {}).items():
        path = f"{prefix}{key}"
        yield path
        if key not in FREE_FORM:
            yield from schema_paths(sub, path + ".")


def test_schema_and_values_name_the_same_keys() -> None:
    in_values, in_schema = set(value_paths(VALUES)), set(schema_paths(SCHEMA))
    assert in_values - in_schema == set(), "keys in values.yaml without a schema"
    assert in_schema - in_values == set(), "keys in values.schema.json missing from values.yaml"


def _closed_objects(schema: dict[str, Any], path: str) -> Iterator[str]:
    open_object = schema.get("additionalProperties") is not False
    if schema.get("type") == "object" and "properties" in schema and open_object:
        yield path
    for key, sub in schema.get("properties", {}).items():
        yield from _closed_objects(sub, f"{path}.{key}")
    for key, sub in schema.get("definitions", {}).items():
        yield from _closed_objects(sub, f"definitions.{key}")


def test_schema_is_strict_everywhere() -> None:
    assert list(_closed_objects(SCHEMA, "")) == []


def test_every_values_key_has_prose_above_it() -> None:
    lines = VALUES_TEXT.splitlines()
    undocumented, ancestors = [], []  # ancestors: (indent, key) of the enclosing keys
    for i, line in enumerate(lines):
        match = re.match(r"^(\s*)([A-Za-z][\w.-]*):", line)
        if not match:
            continue
        indent = len(match.group(1))
        ancestors = [(n, key) for n, key in ancestors if n < indent]
        inside_free_form = any(key in FREE_FORM for _, key in ancestors)
        ancestors.append((indent, match.group(2)))
        if inside_free_form:
            continue
        above = lines[i - 1].strip() if i else ""
        following = lines[i + 1] if i + 1 < len(lines) else ""
        is_group = line.rstrip().endswith(":") and len(following) - len(following.lstrip()) > indent
        documented = above.startswith("#") and not above.startswith("# +docs")
        # A group header (a map of keys) may stay silent when each of its keys is documented.
        if not documented and not is_group:
            undocumented.append(f"line {i + 1}: {line.strip()}")
    assert undocumented == []


CREDENTIAL_WORDS = re.compile(r"password|passwd|token|secretkey|accesskey|apikey", re.IGNORECASE)


def test_values_hold_no_credentials() -> None:
    """Secret-looking keys may only name *which key of a Secret* to read, never hold a value."""
    offenders = []

    def walk(node: Any, path: str, under_secret_keys: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}", under_secret_keys or key == "secretKeys")
        elif CREDENTIAL_WORDS.search(path.rsplit(".", 1)[-1]) and not under_secret_keys:
            offenders.append(f"{path}={node!r}")
        elif under_secret_keys and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]{0,62}", str(node)):
            offenders.append(f"{path}={node!r} is not a Secret key name")

    walk(VALUES, "", False)
    assert offenders == []


# --- helm refuses bad values --------------------------------------------------------------------

@pytest.mark.parametrize(("assignment", "message"), [
    ("operator.replicas=2", "replicas"),                   # mistyped key (replicaCount)
    ("minio.enabeld=false", "enabeld"),                    # mistyped nested key
    ("collector.service.type=Ingress", "type"),            # not in the enum
    ("operator.replicaCount=two", "replicaCount"),         # wrong type
    ("operator.replicaCount=2", "replicaCount"),           # peers of one priority would all pause
    ("servingRuntime.protocolVersions={v3}", "protocolVersions"),
    ("operator.watchNamespace=Not_A_Namespace", "watchNamespace"),
    ("operator.artifactRoot=leadscore-models", "artifactRoot"),
    ("operator.image.digest=sha256:abc", "digest"),
    ("collector.export.since=6 months", "since"),
    ("collector.export.output=/data/leads.parquet", "output"),
    ("rescoring.output=s3://leadscore-data/scores.json", "/rescoring/output"),
    ("rescoring.model=s3://leadscore-models/sales/pc/v3", "/rescoring/model"),
    ("rescoring.since=last week", "/rescoring/since"),
    ("rescoring.batchSize=0", "/rescoring/batchSize"),
    ("rescoring.schedul=daily", "schedul"),
])
def test_schema_rejects_bad_value_naming_it(helm: Helm, chart: Path, assignment: str, message: str) -> None:
    with pytest.raises(HelmError, match=message):
        helm.template(chart, set_values=[assignment])


@pytest.mark.parametrize(("assignments", "message"), [
    (["externalObjectStore.endpoint=https://s3.example.com"],
     "minio.enabled=true and externalObjectStore.endpoint are both set"),
    (["minio.enabled=false"], "no object store: set minio.enabled=true"),
    (["mlflow.enabled=false"], "no MLflow: set mlflow.enabled=true"),
    (["postgresql.enabled=false"], "the collector has no database"),
    (["operator.image.repository=leadscore/operator:1.0"], "operator.image.repository .* contains a tag"),
    (["operator.serviceAccount.create=false"], "operator.serviceAccount.name is required"),
    (["collector.export.enabled=true"], "collector.export.enabled=true needs collector.export.output"),
    (["collector.export.enabled=true", "collector.export.output=s3://bucket/x.parquet"],
     "collector.export.enabled=true needs collector.export.namespace"),
    (["rescoring.enabled=true"], "rescoring.enabled=true needs rescoring.model"),
    (["rescoring.enabled=true", "rescoring.model=s3://models/ns/m/v1/", "rescoring.data=s3://data/leads.csv"],
     "rescoring.enabled=true needs rescoring.output"),
    (["rescoring.enabled=true", "rescoring.model=s3://models/ns/m/v1/", "rescoring.data=s3://data/leads.csv",
      "rescoring.output=s3://data/scores.csv"], "rescoring.since needs rescoring.timeColumn"),
])
def test_contradictory_values_fail_with_a_message_naming_them(
        helm: Helm, chart: Path, assignments: list[str], message: str) -> None:
    with pytest.raises(HelmError, match=message):
        helm.template(chart, set_values=assignments)


def test_collector_needs_no_database_when_disabled(helm: Helm, chart: Path) -> None:
    objects = helm.template(chart, set_values=["collector.enabled=false", "postgresql.enabled=false"])
    assert not [o for o in objects if o["metadata"]["name"].endswith("-collector")]


def test_chart_readme_lists_every_values_key() -> None:
    readme = (CHART / "README.md").read_text()

    def leaves(values: dict[str, Any], prefix: str = "") -> Iterator[str]:
        for key, value in values.items():
            if isinstance(value, dict) and value and key not in FREE_FORM:
                yield from leaves(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}"

    missing = [path for path in leaves(VALUES) if f"`{path}`" not in readme]
    assert missing == [], "charts/leadscore/README.md does not document these values"
