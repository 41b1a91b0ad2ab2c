"""Console benchmark: server time per page with 50 model versions and 100,000 predictions.

Starts the real control plane (etcd, kube-apiserver, kube-controller-manager from the build
cache), one LeadScoringModel whose status lists 50 versions (a real model card from
``leadscore train`` in the local artifact store), an ABExperiment, and the real collector on an
SQLite event store holding 100,000 predictions of that experiment with their outcomes. The
console runs in this process; one client signs in with a ServiceAccount token and requests each
page ``--rounds`` times. Reported per page: the console's own Server-Timing (reads from the
apiserver, artifact store and collector, the SubjectAccessReviews, the statistics and the
rendering) and the client's round trip, median and p95, in ms; written to
``bench/results/console.json``.

    .venv/bin/python bench/console_bench.py             # make bench runs this
    .venv/bin/python bench/console_bench.py --quick     # 10,000 predictions, 5 rounds
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402
from kubernetes import client  # noqa: E402

from leadscore.console.app import create_app  # noqa: E402
from leadscore.console.sources import Sources  # noqa: E402
from support.cluster import ALL_CRDS, install_crds  # noqa: E402
from support.collector import running_collector  # noqa: E402
from support.console import seed_events, serving, train_card  # noqa: E402
from support.controlplane import running_control_plane  # noqa: E402
from support.kubeusers import grant, service_account_token  # noqa: E402
from support.tools import built_tool  # noqa: E402

NAMESPACE, MODEL, EXPERIMENT = "sales", "pc", "pc-v50-vs-v49"
GROUP, VERSION = "leadscoring.io", "v1alpha1"


def _model(api: client.ApiClient, card_dir: Path, versions: int) -> None:
    custom = client.CustomObjectsApi(api)
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "LeadScoringModel", "metadata": {"name": MODEL},
            "spec": {"vertical": "pc", "dataset": {"uri": "s3://leads/pc.parquet"}}}
    custom.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "leadscoringmodels", body)
    metrics = json.loads((card_dir / "result.json").read_text())["metrics"]
    start = datetime.now(UTC) - timedelta(days=versions)
    rows = [{"version": f"v{n}", "created": (start + timedelta(days=n)).isoformat(), "metrics": metrics,
             "artifactUri": str(card_dir), "mlflowRunId": f"run-{n}", "jobName": f"{MODEL}-train-v{n}",
             "shipped": "lr", "gate": "Passed", "gateMessage": "roc_auc above promotion.minRocAuc"}
            for n in range(1, versions + 1)]
    health = {"version": f"v{versions}", "summary": "OK", "lastEvaluated": datetime.now(UTC).isoformat(),
              "message": "live ROC-AUC 0.79 (0.76 to 0.82) on 4,000 matured leads; score PSI 0.02",
              "liveRocAuc": 0.79, "liveRocAucLower": 0.76, "liveRocAucUpper": 0.82, "trainingRocAuc": 0.8,
              "maturedLeads": 4000, "conversionByTier": [{"tier": t, "leads": 1000, "rate": r} for t, r in
                                                         (("high", 0.4), ("medium", 0.2), ("low", 0.08))]}
    status = {"phase": "Ready", "versions": rows, "activeVersion": f"v{versions}", "servedVersion": f"v{versions}",
              "latestVersion": f"v{versions}", "health": health}
    custom.patch_namespaced_custom_object_status(GROUP, VERSION, NAMESPACE, "leadscoringmodels", MODEL,
                                                 {"status": status})
    experiment = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "ABExperiment", "metadata": {"name": EXPERIMENT},
                  "spec": {"modelRef": MODEL, "control": {"version": f"v{versions - 1}"},
                           "treatment": {"version": f"v{versions}"}}}
    custom.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "abexperiments", experiment)


def _time(http: httpx.Client, path: str, rounds: int) -> dict[str, float]:
    server, trip = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        response = http.get(path)
        trip.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        server.append(float(response.headers["Server-Timing"].split("dur=")[1]))

    def p95(values: list[float]) -> float:
        return sorted(values)[max(0, round(0.95 * len(values)) - 1)]

    return {"server_ms_median": round(statistics.median(server), 1), "server_ms_p95": round(p95(server), 1),
            "round_trip_ms_median": round(statistics.median(trip), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--versions", type=int, default=50)
    args = parser.parse_args()
    predictions, rounds = (10_000, 5) if args.quick else (100_000, 20)
    with tempfile.TemporaryDirectory(prefix="console-bench-") as tmp:
        work = Path(tmp)
        card_dir = train_card(work)
        db = f"sqlite:///{work / 'events.db'}"
        seed_events(db, NAMESPACE, MODEL, EXPERIMENT, (f"v{args.versions - 1}", f"v{args.versions}"), predictions)
        bin_dir = built_tool("LEADSCORE_KUBE_BIN_DIR", "build-control-plane.sh")
        with running_control_plane(bin_dir, Path(tempfile.mkdtemp(prefix="leadscore-kube-"))) as plane, \
                plane.api_client() as api, running_collector(db, work / "collector.log") as collector_url:
            install_crds(api, ALL_CRDS)
            client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
            _model(api, card_dir, args.versions)
            token = service_account_token(api, NAMESPACE, "ops")
            grant(api, NAMESPACE, "ops", "ops", [client.V1PolicyRule(
                api_groups=[GROUP], resources=["leadscoringmodels", "abexperiments"], verbs=["get", "list", "patch"])])
            pages = {"models": "/", "model": f"/models/{NAMESPACE}/{MODEL}",
                     "experiment": f"/experiments/{NAMESPACE}/{EXPERIMENT}",
                     "lead": f"/leads?namespace={NAMESPACE}&lead_id=L-7"}
            results = {}
            # as shipped (collector aggregates reused for 30 s), then with every request reaching the collector
            for label, seconds in (("", 30.0), ("_uncached", 0.0)):
                sources = Sources(api, collector_url, summary_seconds=seconds)
                app = create_app(api, sources, secrets.token_hex(32), secure_cookie=False)
                with serving(app) as url, httpx.Client(base_url=url, timeout=60) as http:
                    signed_in = http.post("/login", data={"token": token})
                    if signed_in.status_code != 303:
                        raise SystemExit(f"sign-in failed: HTTP {signed_in.status_code}")
                    for path in pages.values():  # warm up (plotly.js is not part of any page)
                        http.get(path).raise_for_status()
                    measured = pages if not label else {n: pages[n] for n in ("model", "experiment")}
                    results.update({name + label: _time(http, path, rounds) for name, path in measured.items()})
    report = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": platform.platform(),
              "cpus": os.cpu_count(), "load_average": os.getloadavg(), "versions": args.versions,
              "predictions": predictions, "rounds": rounds, "pages": results}
    print(json.dumps(report, indent=2))
    if not args.quick:
        (ROOT / "bench" / "results" / "console.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
