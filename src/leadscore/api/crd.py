"""CRDs generated from the pydantic models: ``leadscore operator crds`` writes them to ``crds/``.

pydantic emits JSON Schema (draft 2020-12); the apiserver wants a *structural* OpenAPI v3
schema. ``structural`` rewrites one into the other, the way controller-gen or kube-rs's
``StructuralSchemaRewriter`` would: every ``$ref`` inlined, ``X | None`` as ``nullable``,
no ``title``, no ``additionalProperties: false`` (the apiserver prunes unknown fields),
draft-2020 exclusive bounds as OpenAPI 3.0 booleans, and defaults from ``default_factory``
emitted too (whole sub-objects), so leaving an object out still gives every field its default.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import core_schema

from leadscore.api.abexperiment import ABExperimentSpec, ABExperimentStatus
from leadscore.api.leadscoringmodel import LeadScoringModelSpec, LeadScoringModelStatus
from leadscore.api.wire import GROUP

VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
NAME_RULE = {
    "rule": "self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$') && size(self.metadata.name) <= 40",
    "message": "metadata.name must be a DNS-1035 label of at most 40 characters "
               "(children are named <name>-train-<version> and <name>-predictor)",
}
KUBERAY_MAX_RAYJOB_NAME = 47
"""KubeRay v1.5.0's ``MaxRayJobNameLength``: longer RayJob names end ``ValidationFailed`` (their Ray
cluster, ``<rayjob>-<5 characters>``, must fit 53)."""
RAY_MODEL_NAME_MAX = KUBERAY_MAX_RAYJOB_NAME - len("-train-v999")
"""With ``engine: ray`` a model's RayJobs (``<name>-train-<version>``) fit KubeRay up to v999."""
RAY_NAME_RULE = {
    "rule": "!has(self.spec) || !has(self.spec.training) || !has(self.spec.training.engine) || "
            f"self.spec.training.engine != 'ray' || size(self.metadata.name) <= {RAY_MODEL_NAME_MAX}",
    "message": f"metadata.name must be at most {RAY_MODEL_NAME_MAX} characters with spec.training.engine ray "
               f"(KubeRay takes RayJob names of at most {KUBERAY_MAX_RAYJOB_NAME} characters, and the "
               "operator names them <name>-train-<version>)",
}


@dataclass(frozen=True)
class PrinterColumn:
    """One ``kubectl get`` column; it reads status, never guesses from spec."""

    name: str
    type: str
    json_path: str
    description: str
    priority: int = 0

    def to_crd(self) -> dict[str, Any]:
        column: dict[str, Any] = {"name": self.name, "type": self.type, "jsonPath": self.json_path,
                  "description": self.description}
        if self.priority:
            column["priority"] = self.priority
        return column


AGE = PrinterColumn("Age", "date", ".metadata.creationTimestamp", "Time since creation.")


@dataclass(frozen=True)
class Resource:
    """Everything that names a custom resource and shapes its CRD."""

    kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...]
    spec: type[BaseModel]
    status: type[BaseModel]
    description: str
    columns: tuple[PrinterColumn, ...]
    root_rules: tuple[dict[str, str], ...] = field(default=())

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"


LEAD_SCORING_MODEL = Resource(
    kind="LeadScoringModel", plural="leadscoringmodels", singular="leadscoringmodel", short_names=("lsm",),
    spec=LeadScoringModelSpec, status=LeadScoringModelStatus,
    description="A lead-conversion model: trained by a Job, gated on metrics, served by KServe.",
    columns=(
        PrinterColumn("Phase", "string", ".status.phase", "Computed from the conditions."),
        PrinterColumn("Active", "string", ".status.activeVersion", "Newest promoted version."),
        PrinterColumn("Serving", "string", ".status.servedVersion", "Version the InferenceService serves."),
        PrinterColumn("AUC", "number", ".status.activeRocAuc", "Held-out ROC-AUC of the served version."),
        PrinterColumn("Health", "string", ".status.health.summary", "OK, Watch, Drift, Degraded or Unknown."),
        PrinterColumn("Latest", "string", ".status.latestVersion", "Newest trained version.", priority=1),
        PrinterColumn("Endpoint", "string", ".status.endpoint", "InferenceService URL."),
        AGE,
    ),
    root_rules=(NAME_RULE, RAY_NAME_RULE),
)
AB_EXPERIMENT = Resource(
    kind="ABExperiment", plural="abexperiments", singular="abexperiment", short_names=("abx",),
    spec=ABExperimentSpec, status=ABExperimentStatus,
    description="An A/B test between two versions of a LeadScoringModel (or the rule-based baseline).",
    columns=(
        PrinterColumn("Model", "string", ".spec.modelRef", "LeadScoringModel under test."),
        PrinterColumn("Phase", "string", ".status.phase", "Computed from the conditions."),
        PrinterColumn("Control", "string", ".status.control.version", "Control arm's version."),
        PrinterColumn("Treatment", "string", ".status.treatment.version", "Treatment arm's version."),
        PrinterColumn("Lift", "number", ".status.lift", "Relative lift of treatment over control."),
        PrinterColumn("P", "number", ".status.pValue", "p-value of the difference.", priority=1),
        PrinterColumn("Decision", "string", ".status.decision", "promote, rollback or inconclusive."),
        AGE,
    ),
)
RESOURCES: tuple[Resource, ...] = (LEAD_SCORING_MODEL, AB_EXPERIMENT)

_DROP = {"title", "$defs", "definitions"}


def structural(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema rewritten into a structural OpenAPI v3 schema (see module doc)."""
    defs = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, list):
            return [resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        node = dict(node)
        if "$ref" in node:
            target = copy.deepcopy(defs[node.pop("$ref").rsplit("/", 1)[-1]])
            node = {**target, **node}
        any_of = node.get("anyOf")
        if any_of and not node.get("x-kubernetes-int-or-string"):
            others = [option for option in any_of if option != {"type": "null"}]
            if len(others) == 1 and len(others) < len(any_of):
                del node["anyOf"]
                node = {**others[0], **node, "nullable": True}
                if "$ref" in node:
                    return resolve(node)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROP or (key == "additionalProperties" and value is False):
                continue
            if key == "const":
                out["enum"] = [value]
            elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
                out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
                out[key] = True
            elif key == "default" and value is None:
                continue
            elif key == "properties":
                out[key] = {name: resolve(prop) for name, prop in value.items()}
            else:
                out[key] = resolve(value)
        return out

    resolved: dict[str, Any] = resolve({k: v for k, v in schema.items() if k != "$defs"})
    return resolved


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


class _FactoryDefaults(GenerateJsonSchema):
    """Also emit defaults that come from ``default_factory`` (sub-models, lists), without nulls.

    The apiserver applies a parent object's default before its fields' defaults and runs CEL
    rules on the result, so ``scoring`` must default to whole tiers, not to ``{}``."""

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        factory = schema.get("default_factory")
        if factory is not None and not schema.get("default_factory_takes_data"):
            return factory()  # type: ignore[call-arg]  # a factory that takes no data: checked above
        return super().get_default_value(schema)

    def encode_default(self, dft: Any) -> Any:
        return _without_nulls(super().encode_default(dft))


def _model_schema(model: type[BaseModel]) -> dict[str, Any]:
    return structural(model.model_json_schema(by_alias=True, mode="validation",
                                              schema_generator=_FactoryDefaults))


def openapi_schema(resource: Resource) -> dict[str, Any]:
    """The ``openAPIV3Schema`` of one resource: apiVersion, kind, metadata, spec, status."""
    spec = _model_schema(resource.spec)
    spec["description"] = f"Desired state of the {resource.kind}."
    status = _model_schema(resource.status)
    status["description"] = f"Observed state of the {resource.kind}, written by the operator."
    schema: dict[str, Any] = {
        "type": "object",
        "description": resource.description,
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string", "description": "API version: leadscoring.io/v1alpha1."},
            "kind": {"type": "string", "description": f"Kind: {resource.kind}."},
            "metadata": {"type": "object"},  # the apiserver forbids anything more here
            "spec": spec,
            "status": status,
        },
    }
    if resource.root_rules:
        schema["x-kubernetes-validations"] = [dict(rule) for rule in resource.root_rules]
    return schema


def crd(resource: Resource) -> dict[str, Any]:
    """The whole ``apiextensions.k8s.io/v1`` CustomResourceDefinition."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": resource.crd_name},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": resource.kind,
                "listKind": f"{resource.kind}List",
                "plural": resource.plural,
                "singular": resource.singular,
                "shortNames": list(resource.short_names),
                "categories": ["leadscore"],
            },
            "versions": [{
                "name": VERSION,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [column.to_crd() for column in resource.columns],
                "schema": {"openAPIV3Schema": openapi_schema(resource)},
            }],
        },
    }


def properties_without_description(schema: dict[str, Any], path: str = "") -> list[str]:
    """Dotted paths of schema properties that ``kubectl explain`` would show without prose."""
    missing: list[str] = []
    for name, prop in schema.get("properties", {}).items():
        where = f"{path}.{name}" if path else name
        if where == "metadata":
            continue  # standard ObjectMeta: the apiserver documents it and forbids a description
        if not prop.get("description"):
            missing.append(where)
        missing.extend(properties_without_description(prop, where))
    items = schema.get("items")
    if isinstance(items, dict):
        missing.extend(properties_without_description(items, f"{path}[]"))
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        missing.extend(properties_without_description(extra, f"{path}{{}}"))
    return missing


GENERATED_HEADER = "# Generated by `make crds` from leadscore.api (pydantic models); do not edit.\n"


def crd_yaml(document: dict[str, Any]) -> str:
    """A CRD as the YAML file ``crds/`` holds (stable key order, so diffs stay small)."""
    import yaml

    text: str = yaml.safe_dump(document, sort_keys=False, width=100, allow_unicode=True)
    return GENERATED_HEADER + text


def chart_template(document: dict[str, Any]) -> str:
    """The chart's copy: the same CRD behind ``crds.install``, kept on uninstall when ``crds.keep``.

    Helm never upgrades files in a chart's ``crds/`` folder, so the chart ships CRDs as templates
    (cert-manager and kubebuilder's charts do the same).
    """
    body = crd_yaml(document).removeprefix(GENERATED_HEADER)
    name_line = f"  name: {document['metadata']['name']}\n"
    annotated = body.replace(name_line, name_line + (
        "  annotations:\n"
        "    {{- if .Values.crds.keep }}\n"
        "    helm.sh/resource-policy: keep\n"
        "    {{- end }}\n"), 1)
    return GENERATED_HEADER + "{{- if .Values.crds.install }}\n" + annotated + "{{- end }}\n"


def _kopf_peering(kind: str, plural: str, scope: str) -> dict[str, Any]:
    """kopf's peering resources (``--peering``): who else runs, so only one replica acts."""
    free = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.kopf.dev"},
        "spec": {
            "group": "kopf.dev",
            "scope": scope,
            "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
            "versions": [{
                "name": "v1", "served": True, "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object",
                                               "properties": {"spec": free, "status": free}}},
            }],
        },
    }


def all_crds() -> dict[str, dict[str, Any]]:
    """File name (without folder) → CRD document, for every CRD the operator needs."""
    documents = {f"{GROUP}_{resource.plural}.yaml": crd(resource) for resource in RESOURCES}
    documents["kopf.dev_kopfpeerings.yaml"] = _kopf_peering("KopfPeering", "kopfpeerings", "Namespaced")
    documents["kopf.dev_clusterkopfpeerings.yaml"] = _kopf_peering(
        "ClusterKopfPeering", "clusterkopfpeerings", "Cluster")
    return documents


def rendered_files(chart: bool = False) -> dict[str, str]:
    """File name → text, as ``crds/`` (or, with ``chart``, the chart's ``templates/``) should hold.

    The chart templates only our own CRDs: kopf's peering CRDs sit in the chart's ``crds/``
    folder, which Helm installs before the templates that create the peering object.
    """
    if chart:
        return {f"crd-{name}": chart_template(document) for name, document in all_crds().items()
                if name.startswith(f"{GROUP}_")}
    return {name: crd_yaml(document) for name, document in all_crds().items()}
