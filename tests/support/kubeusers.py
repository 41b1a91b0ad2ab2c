"""Users of the test control plane with bearer tokens: ServiceAccounts and TokenRequest.

The apiserver signs the tokens with its service-account key, so TokenReview accepts them and
RBAC judges them like any user (``system:serviceaccount:<namespace>:<name>``).
"""

from __future__ import annotations

from kubernetes import client


def service_account_token(api: client.ApiClient, namespace: str, name: str, seconds: int = 3600) -> str:
    """Create ServiceAccount ``name`` in ``namespace`` (if absent) and return a fresh token for it."""
    core = client.CoreV1Api(api)
    try:
        core.create_namespaced_service_account(namespace, client.V1ServiceAccount(
            metadata=client.V1ObjectMeta(name=name)))
    except client.ApiException as error:
        if error.status != 409:
            raise
    request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(
        audiences=[], expiration_seconds=seconds))
    return core.create_namespaced_service_account_token(name, namespace, request).status.token


def grant(api: client.ApiClient, namespace: str, account: str, role: str,
          rules: list[client.V1PolicyRule]) -> None:
    """A namespaced Role ``role`` with ``rules``, bound to ServiceAccount ``account``."""
    rbac = client.RbacAuthorizationV1Api(api)
    rbac.create_namespaced_role(namespace, client.V1Role(metadata=client.V1ObjectMeta(name=role), rules=rules))
    subject = client.RbacV1Subject(kind="ServiceAccount", name=account, namespace=namespace)
    rbac.create_namespaced_role_binding(namespace, client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name=role), subjects=[subject],
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name=role)))
