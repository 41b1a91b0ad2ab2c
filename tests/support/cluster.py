"""The test cluster, shared by the operator integration tests and the end-to-end test: our CRDs
installed on the real kube-apiserver (``kube`` fixture) and small helpers over its admin client.

Both suites install the same generated CRDs (KServe's own come with the ``kserve`` fixture,
support.kserve); keeping the install and the "Established" wait in one place means a CRD change
is tested the same way in both.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from support.polling import eventually

ROOT = Path(__file__).resolve().parents[2]
LEADSCORING_CRDS = sorted((ROOT / "crds").glob("leadscoring.io_*.yaml"))
"""Our two CRDs: with KServe's (``kserve`` fixture), what the operator needs to reconcile models
and experiments."""
ALL_CRDS = sorted((ROOT / "crds").glob("*.yaml"))
"""Also kopf's peering CRDs, for the tests that run replicas with leader election."""

GROUP, VERSION = "leadscoring.io", "v1alpha1"


def install_crds(api: Any, files: Iterable[Path]) -> list[str]:
    """Create the CRDs in ``files`` (an existing one is kept) and wait until all are Established;
    returns their names."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    ext = client.ApiextensionsV1Api(api)
    names = []
    for path in files:
        body = yaml.safe_load(path.read_text())
        names.append(body["metadata"]["name"])
        try:
            ext.create_custom_resource_definition(body)
        except ApiException as exc:
            if exc.status != 409:
                raise

    def established() -> bool:
        return all(any(c.type == "Established" and c.status == "True"
                       for c in ext.read_custom_resource_definition(name).status.conditions or ())
                   for name in names)

    eventually(established, what="CRDs Established", timeout=60)
    return names


class Cluster:
    """Small helpers over the admin client, bound to one test namespace."""

    def __init__(self, api: Any, namespace: str) -> None:
        from kubernetes import client

        self.namespace = namespace
        self.custom = client.CustomObjectsApi(api)
        self.batch = client.BatchV1Api(api)
        self.core = client.CoreV1Api(api)
        self.api = api

    def create(self, plural: str, body: dict[str, Any], group: str = GROUP, version: str = VERSION) -> dict:
        return self.custom.create_namespaced_custom_object(group, version, self.namespace, plural, body)

    def get(self, plural: str, name: str, group: str = GROUP, version: str = VERSION) -> dict | None:
        from kubernetes.client.exceptions import ApiException

        try:
            return self.custom.get_namespaced_custom_object(group, version, self.namespace, plural, name)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def patch(self, plural: str, name: str, body: dict[str, Any], group: str = GROUP,
              version: str = VERSION) -> dict:
        return self.custom.patch_namespaced_custom_object(group, version, self.namespace, plural, name, body)

    def delete(self, plural: str, name: str, group: str = GROUP, version: str = VERSION) -> None:
        self.custom.delete_namespaced_custom_object(group, version, self.namespace, plural, name,
                                                    propagation_policy="Background")

    def isvc(self, name: str) -> dict | None:
        return self.get("inferenceservices", name, group="serving.kserve.io", version="v1beta1")


    def jobs(self, model: str) -> list[Any]:
        return list(self.batch.list_namespaced_job(self.namespace,
                                                   label_selector=f"leadscoring.io/model={model}").items)

    def events(self, name: str) -> list[Any]:
        items = self.core.list_namespaced_event(self.namespace).items
        return [e for e in items if e.involved_object.name == name]

    def status(self, plural: str, name: str) -> dict[str, Any]:
        return (self.get(plural, name) or {}).get("status") or {}
