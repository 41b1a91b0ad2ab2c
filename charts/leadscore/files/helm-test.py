"""`helm test` check run in the chart's own images (standard library only): each argument is one
check, and the pod fails with one line per failed check.

  http:<url>                   GET answers 2xx (the collector's /healthz through its Service)
  deployment:<namespace>/<name> the Deployment has all its replicas ready and Available (API server)
  object:<api path>            the API server returns the object (the ClusterServingRuntime)

API calls use the pod's ServiceAccount token; its Role may only `get` those named objects.
"""
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
ATTEMPTS = int(os.environ.get("LEADSCORE_TEST_ATTEMPTS", "10"))  # tries per check, 3 s apart
PAUSE_S, TIMEOUT_S = 3, 5


def fetch(url, api=False):
    request, context = urllib.request.Request(url), None
    if api:
        with open(f"{ACCOUNT}/token") as token:
            request.add_header("Authorization", f"Bearer {token.read().strip()}")
        context = ssl.create_default_context(cafile=f"{ACCOUNT}/ca.crt")
    with urllib.request.urlopen(request, timeout=TIMEOUT_S, context=context) as response:
        return json.loads(response.read() or b"null") if api else response.status


def api_url(path):
    return f"https://{os.environ['KUBERNETES_SERVICE_HOST']}:{os.environ['KUBERNETES_SERVICE_PORT']}{path}"


def check(spec):
    """None when the check passes, else why not."""
    kind, _, target = spec.partition(":")
    if kind == "http":
        fetch(target)
        return None
    if kind == "object":
        fetch(api_url(target), api=True)
        return None
    if kind == "deployment":
        namespace, _, name = target.partition("/")
        status = fetch(api_url(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}"), api=True)
        wanted, ready = status["spec"].get("replicas", 1), status["status"].get("readyReplicas", 0)
        available = any(c["type"] == "Available" and c["status"] == "True"
                        for c in status["status"].get("conditions", []))
        return None if ready >= wanted and available else f"{ready}/{wanted} replicas ready, Available={available}"
    return f"unknown check kind {kind!r}"


def main(specs):
    failed = {}
    for spec in specs:
        for attempt in range(ATTEMPTS):
            try:
                failed[spec] = check(spec)
            except (OSError, urllib.error.URLError, KeyError, ValueError) as exc:
                failed[spec] = f"{type(exc).__name__}: {exc}"
            if failed[spec] is None or attempt == ATTEMPTS - 1:
                break
            time.sleep(PAUSE_S)
        print(f"{spec}: {failed[spec] or 'ok'}", flush=True)
    return 1 if any(failed.values()) else 0


sys.exit(main(sys.argv[1:]))
