"""Serving benchmark: the leadscore predictor against MLServer 1.7 on the same LightGBM model.

Both servers run on 127.0.0.1 and serve one LightGBM booster trained here (fixed number of
trees, no early stopping, so the model size is known). One sequential client sends the same
leads to both, alternating servers round by round so background load hits both alike:

* single-lead requests over HTTP (ours: V1 ``{"instances": [lead]}``; MLServer: V2 FP32 [1, F]),
* single-lead requests over gRPC (ours: V2 ``records`` BYTES JSON; MLServer: V2 FP32 [1, F]),
* 1000-lead batches over HTTP (same shapes, 1000 rows).

Ours takes raw lead records and validates, encodes, scores, calibrates, tiers and counts them;
MLServer takes the ready float32 feature matrix. Results: requests/s, leads/s, p50/p99 latency
and our-over-MLServer ratios, printed and written to ``bench/results/serve.json``.

    .venv/bin/python bench/serve_bench.py            # make bench runs this
    .venv/bin/python bench/serve_bench.py --quick    # fewer requests, for a smoke run
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "serve.json"
MODEL_NAME = "bench"
GOALS = {"single_http_rps_ratio": 1.2, "single_grpc_rps_ratio": 1.2, "batch_leads_per_s_ratio": 1.5}


# ---- the model --------------------------------------------------------------------------


def build_model(workdir: Path, rows: int, trees: int, seed: int) -> tuple[Path, Path, list[dict[str, Any]], np.ndarray]:
    """Train one LightGBM on synthetic P&C leads; write our artifact and MLServer's model dir.

    Returns (artifact dir, MLServer model dir, request leads, their feature matrix).
    """
    import lightgbm

    from leadscore.api.leadscoringmodel import ScoringSpec
    from leadscore.data import DatasetSpec, drop_ground_truth, infer_schema, synth
    from leadscore.engines import save_parity_rows
    from leadscore.features import LeadFeatures
    from leadscore.scoring import score_histogram
    from leadscore.trainer.algorithms import ALGORITHMS
    from leadscore.trainer.ensemble import fit_blend
    from leadscore.trainer.onnx_graph import Member, build

    frame = drop_ground_truth(synth.generate("pc", rows + 2000, seed))
    spec = DatasetSpec(target="converted", id_column="lead_id", time_column="created_at")
    train, held = frame.iloc[:rows], frame.iloc[rows:]
    schema = infer_schema(train, spec)
    y = train["converted"].to_numpy()
    features = LeadFeatures(schema=schema.model_dump()).fit(train, y)
    x = features.transform(train).astype(np.float32)
    cut = int(rows * 0.8)
    model = lightgbm.LGBMClassifier(
        n_estimators=trees,
        num_leaves=31,
        learning_rate=0.05,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        random_state=seed,
        verbose=-1,
    )
    model.fit(x[:cut], y[:cut])
    algorithm = ALGORITHMS["lightgbm"]
    blend = fit_blend({"lightgbm": algorithm.margin(model, x[cut:])}, ["lightgbm"], y[cut:], "sigmoid")
    onnx_model = build([Member("lightgbm", algorithm.to_onnx(model, x.shape[1]), 1.0)], blend, x.shape[1])

    artifact = workdir / "artifact"
    (artifact / "boosters").mkdir(parents=True)
    (artifact / "model.onnx").write_bytes(onnx_model.SerializeToString())
    (artifact / "feature_spec.json").write_text(json.dumps(features.to_spec()))
    model.booster_.save_model(str(artifact / "boosters" / algorithm.native_file))
    card = {
        "version": "bench",
        "shipped": "lightgbm",
        "members": [{"algorithm": "lightgbm", "weight": 1.0, "native_file": f"boosters/{algorithm.native_file}"}],
        "scoring": ScoringSpec().to_wire(),
        "score_histogram": score_histogram(blend.predict({"lightgbm": algorithm.margin(model, x[cut:])})),
        # what the trainer ships too: the calibration and stored held-out rows let the predictor
        # verify and pick a faster engine per member (leadscore.engines)
        "calibration": {"method": blend.method, "parameters": blend.calibrator.to_dict()},
    }
    (artifact / "model_card.json").write_text(json.dumps(card))
    save_parity_rows(artifact, x[cut:])

    peer = workdir / "mlserver"
    peer.mkdir()
    model.booster_.save_model(str(peer / "model.txt"))

    requests = held.drop(columns=["converted"]).copy()
    requests["created_at"] = requests["created_at"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    leads = [{k: v for k, v in r.items() if v is not None} for r in json.loads(requests.to_json(orient="records"))]
    matrix = features.spec_.transform_records(leads)
    return artifact, peer, leads, matrix


# ---- servers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    http_port: int
    grpc_port: int
    process: subprocess.Popen[bytes]
    log: Path


def wait_ready(server: Server, path: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited ({server.process.returncode}):\n{server.log.read_text()[-3000:]}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        time.sleep(0.25)
    raise RuntimeError(f"{server.name} not ready after {timeout:.0f}s:\n{server.log.read_text()[-3000:]}")


@contextlib.contextmanager
def started(
    name: str,
    args: list[str],
    log: Path,
    http_port: int,
    grpc_port: int,
    ready: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[Server]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
    server = Server(name, http_port, grpc_port, process, log)
    try:
        wait_ready(server, ready)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def ours(artifact: Path, workdir: Path) -> contextlib.AbstractContextManager[Server]:
    http_port, grpc_port = free_port(), free_port()
    args = [
        sys.executable,
        "-m",
        "leadscore.predictor",
        f"--model_name={MODEL_NAME}",
        f"--model_dir={artifact}",
        f"--http_port={http_port}",
        f"--grpc_port={grpc_port}",
        "--host=127.0.0.1",
        "--max_batch=1000",
    ]
    return started("leadscore", args, workdir / "leadscore.log", http_port, grpc_port, f"/v2/models/{MODEL_NAME}/ready")


def mlserver(python: Path, model_dir: Path, workdir: Path) -> contextlib.AbstractContextManager[Server]:
    http_port, grpc_port, metrics_port = free_port(), free_port(), free_port()
    (model_dir / "settings.json").write_text(
        json.dumps(
            {
                "host": "127.0.0.1",
                "http_port": http_port,
                "grpc_port": grpc_port,
                "metrics_port": metrics_port,
                "parallel_workers": 0,
                "debug": False,
                "logging_level": "WARNING",
            }
        )
    )
    (model_dir / "model-settings.json").write_text(
        json.dumps(
            {
                "name": MODEL_NAME,
                "implementation": "mlserver_lightgbm.LightGBMModel",
                "parameters": {"uri": "./model.txt", "version": "v1"},
            }
        )
    )
    mlserver_bin = python.parent / "mlserver"
    # LightGBM predicts with OpenMP; its default busy-wait policy stalls single-row requests on
    # a shared machine (28 ms p50 here against 7 ms). Passive waiting and our thread count is
    # exactly how our onnxruntime session is configured, so both sides get the same deal.
    from leadscore.predictor.engine import default_threads

    env = {"OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": str(default_threads())}
    return started(
        "mlserver",
        [str(mlserver_bin), "start", str(model_dir)],
        workdir / "mlserver.log",
        http_port,
        grpc_port,
        f"/v2/models/{MODEL_NAME}/ready",
        cwd=model_dir,
        env=env,
    )


# ---- clients ----------------------------------------------------------------------------


class HttpCaller:
    """POSTs body number i on one keep-alive connection; ``reset`` reconnects (untimed).

    Servers close idle keep-alive connections (MLServer's uvicorn after 5 s), so each
    measured chunk starts on a fresh connection instead of paying a reconnect inside it.
    """

    def __init__(self, port: int, path: str, bodies: list[bytes]) -> None:
        self.port, self.path, self.bodies = port, path, bodies
        self.headers = {"content-type": "application/json"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def __call__(self, i: int) -> None:
        self.conn.request("POST", self.path, body=self.bodies[i % len(self.bodies)], headers=self.headers)
        response = self.conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"POST {self.path}: {response.status} {body[:300]!r}")

    def reset(self) -> None:
        self.conn.close()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        self.conn.connect()

    def close(self) -> None:
        self.conn.close()


class GrpcCaller:
    """ModelInfer with request number i on one channel (gRPC keeps it alive itself)."""

    def __init__(self, port: int, requests: list[Any]) -> None:
        import grpc
        from kserve.protocol.grpc.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub

        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(self.channel).result(timeout=30)
        self.stub = GRPCInferenceServiceStub(self.channel)
        self.requests = requests

    def __call__(self, i: int) -> None:
        self.stub.ModelInfer(self.requests[i % len(self.requests)], timeout=60)

    def reset(self) -> None:
        """Nothing to do: the channel reconnects on its own."""

    def close(self) -> None:
        self.channel.close()


Caller = HttpCaller | GrpcCaller


def v1_bodies(leads: list[dict[str, Any]], size: int, count: int) -> list[bytes]:
    return [
        json.dumps({"instances": [leads[(i * size + j) % len(leads)] for j in range(size)]}).encode()
        for i in range(count)
    ]


def v2_bodies(matrix: np.ndarray, size: int, count: int) -> list[bytes]:
    out = []
    for i in range(count):
        rows = matrix[[(i * size + j) % len(matrix) for j in range(size)]]
        data = [None if np.isnan(v) else float(v) for v in rows.ravel()]
        out.append(
            json.dumps(
                {"inputs": [{"name": "predict", "shape": list(rows.shape), "datatype": "FP32", "data": data}]}
            ).encode()
        )
    return out


def grpc_records(leads: list[dict[str, Any]], count: int) -> list[Any]:
    from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb

    return [
        pb.ModelInferRequest(
            model_name=MODEL_NAME,
            inputs=[
                pb.ModelInferRequest.InferInputTensor(
                    name="records",
                    datatype="BYTES",
                    shape=[1],
                    contents=pb.InferTensorContents(bytes_contents=[json.dumps(leads[i % len(leads)]).encode()]),
                )
            ],
        )
        for i in range(count)
    ]


def grpc_tensors(matrix: np.ndarray, count: int) -> list[Any]:
    from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb

    return [
        pb.ModelInferRequest(
            model_name=MODEL_NAME,
            inputs=[
                pb.ModelInferRequest.InferInputTensor(
                    name="predict",
                    datatype="FP32",
                    shape=[1, matrix.shape[1]],
                    contents=pb.InferTensorContents(fp32_contents=matrix[i % len(matrix)].tolist()),
                )
            ],
        )
        for i in range(count)
    ]


def measure(call: Caller, requests: int, warmup: int) -> list[float]:
    for i in range(warmup):
        call(i)
    latencies = []
    for i in range(requests):
        start = time.perf_counter()
        call(i)
        latencies.append(time.perf_counter() - start)
    return latencies


def summary(latencies: list[float], leads_per_request: int) -> dict[str, float]:
    total = sum(latencies)
    ms = np.asarray(latencies) * 1000.0
    return {
        "requests": len(latencies),
        "requests_per_s": len(latencies) / total,
        "leads_per_s": len(latencies) * leads_per_request / total,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(statistics.fmean(ms)),
    }


# ---- where the time goes ----------------------------------------------------------------


def breakdown(artifact: Path, body: bytes, repeats: int) -> dict[str, Any]:
    """Median milliseconds of each step of one V1 request, in process on the same model and body:
    ``parse`` (what the route does to the body before the model's stages), ``validation``
    (``preprocess``: decode, check and type the raw values), ``encoding`` (the feature matrix),
    ``scoring`` (the engines chosen at load), ``response`` (``postprocess`` and the JSON bytes).
    The rest of the end-to-end time is the HTTP stack, KServe's route and the client."""
    import orjson

    from leadscore.predictor.arms import ModelArm
    from leadscore.predictor.config import PredictorSettings
    from leadscore.predictor.engine import default_threads
    from leadscore.predictor.model import LeadScoreModel

    def kserve_decode(body: bytes, headers: Any, *_: Any) -> tuple[Any, dict[str, Any]]:
        return orjson.loads(body), {}  # what KServe's decode does to a plain JSON V1 body

    try:
        from leadscore.predictor.typed import raw_v1_decode
    except ImportError:  # a checkout from before the typed V1 path (the before/after comparison)
        def raw_v1_decode(decode: Any, body: bytes, headers: Any, *_: Any) -> tuple[Any, dict[str, Any]]:
            return decode(body, headers)

    model = LeadScoreModel(MODEL_NAME, PredictorSettings(model_uri=str(artifact), device="cpu",
                                                         threads=default_threads(), max_batch=100_000))
    model.load()
    arm = model.arms[0]
    assert isinstance(arm, ModelArm) and arm.feature_spec is not None
    spec = arm.feature_spec
    headers = {"content-type": "application/json"}
    steps: dict[str, list[float]] = {s: [] for s in ("parse", "validation", "encoding", "scoring", "response")}
    for _ in range(repeats):
        t0 = time.perf_counter()
        payload, _ = raw_v1_decode(kserve_decode, body, headers)
        t1 = time.perf_counter()
        prepared = model.preprocess(payload)
        t2 = time.perf_counter()
        matrix = spec.transform_columns(prepared.columns[id(spec)], prepared.batch.size)
        t3 = time.perf_counter()
        arm.engines.scored(matrix)
        t4 = time.perf_counter()
        scored = model.predict(prepared)  # encodes and scores again, untimed: t2..t4 measured that
        t5 = time.perf_counter()
        response = model.postprocess(scored)
        if not isinstance(response, bytes):
            response = orjson.dumps(response)
        t6 = time.perf_counter()
        for name, seconds in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t6 - t5), strict=True):
            steps[name].append(seconds * 1000.0)
    return {**{name: float(statistics.median(values)) for name, values in steps.items()},
            "engines": arm.engines.summary()}


# ---- the run ----------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    python = Path(
        subprocess.run(
            [str(ROOT / "hack" / "bench-mlserver.sh")], check=True, stdout=subprocess.PIPE, text=True
        ).stdout.strip()
    )
    workdir = Path(tempfile.mkdtemp(prefix="leadscore-serve-bench-"))
    try:
        print(f"training a {args.trees}-tree LightGBM on {args.rows} synthetic leads ...", file=sys.stderr)
        artifact, peer_dir, leads, matrix = build_model(workdir, args.rows, args.trees, args.seed)
        scenarios: dict[str, dict[str, list[float]]] = {
            s: {"leadscore": [], "mlserver": []} for s in ("single_http", "single_grpc", "batch_http")
        }
        with ours(artifact, workdir) as mine, mlserver(python, peer_dir, workdir) as peer:
            v1_path, v2_path = f"/v1/models/{MODEL_NAME}:predict", f"/v2/models/{MODEL_NAME}/infer"
            plans: dict[str, dict[str, Callable[[], Caller]]] = {
                "leadscore": {
                    "single_http": lambda: HttpCaller(mine.http_port, v1_path, v1_bodies(leads, 1, 500)),
                    "single_grpc": lambda: GrpcCaller(mine.grpc_port, grpc_records(leads, 500)),
                    "batch_http": lambda: HttpCaller(mine.http_port, v1_path, v1_bodies(leads, args.batch, 4)),
                },
                "mlserver": {
                    "single_http": lambda: HttpCaller(peer.http_port, v2_path, v2_bodies(matrix, 1, 500)),
                    "single_grpc": lambda: GrpcCaller(peer.grpc_port, grpc_tensors(matrix, 500)),
                    "batch_http": lambda: HttpCaller(peer.http_port, v2_path, v2_bodies(matrix, args.batch, 4)),
                },
            }
            for scenario in scenarios:
                callers = {server: plans[server][scenario]() for server in ("leadscore", "mlserver")}
                for caller in callers.values():
                    measure(caller, 0, args.warmup)
                count = args.batches if scenario == "batch_http" else args.requests
                chunk = max(1, count // args.rounds)
                # Many short alternating chunks: background load on a shared machine drifts over
                # seconds, and alternating often lets both servers see the same drift.
                for index in range(args.rounds):
                    order = ["leadscore", "mlserver"] if index % 2 == 0 else ["mlserver", "leadscore"]
                    for server in order:
                        callers[server].reset()
                        scenarios[scenario][server] += measure(callers[server], chunk, 0)
                for caller in callers.values():
                    caller.close()
                print(f"{scenario} done", file=sys.stderr)
        steps = breakdown(artifact, v1_bodies(leads, args.batch, 1)[0], args.breakdown_repeats)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return report(scenarios, steps, args)


def report(scenarios: dict[str, dict[str, list[float]]], steps: dict[str, Any],
           args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for scenario, by_server in scenarios.items():
        size = args.batch if scenario == "batch_http" else 1
        results[scenario] = {server: summary(lat, size) for server, lat in by_server.items()}
        mine, peer = results[scenario]["leadscore"], results[scenario]["mlserver"]
        results[scenario]["ratio"] = {
            "requests_per_s": mine["requests_per_s"] / peer["requests_per_s"],
            "leads_per_s": mine["leads_per_s"] / peer["leads_per_s"],
            "p50": mine["p50_ms"] / peer["p50_ms"],
            "p99": mine["p99_ms"] / peer["p99_ms"],
        }
    goals = {
        "single_http_p99_at_or_below_mlserver": results["single_http"]["ratio"]["p99"] <= 1.0,
        "single_grpc_p99_at_or_below_mlserver": results["single_grpc"]["ratio"]["p99"] <= 1.0,
        "single_http_rps_ratio_at_least_1.2": results["single_http"]["ratio"]["requests_per_s"] >= 1.2,
        "single_grpc_rps_ratio_at_least_1.2": results["single_grpc"]["ratio"]["requests_per_s"] >= 1.2,
        "batch_leads_per_s_ratio_at_least_1.5": results["batch_http"]["ratio"]["leads_per_s"] >= 1.5,
    }
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_1m": os.getloadavg()[0],
        },
        "setup": {
            "trees": args.trees,
            "train_rows": args.rows,
            "batch": args.batch,
            "rounds": args.rounds,
            "single_requests": args.requests,
            "batch_requests": args.batches,
            "client": "one sequential Python client (http.client keep-alive; grpcio stub)",
            "leadscore": "V1 raw lead records / gRPC records BYTES JSON; 1 worker; access log off",
            "mlserver": "1.7.1 + mlserver-lightgbm, V2 FP32 feature tensor; parallel_workers 0; "
            "OMP_WAIT_POLICY=PASSIVE, OMP_NUM_THREADS = our onnxruntime threads",
        },
        "results": results,
        "goals_met": goals,
        "engines": steps.pop("engines"),
        "batch_breakdown_ms": {**steps, "http_route_and_client": results["batch_http"]["leadscore"]["p50_ms"]
                               - sum(steps.values())},
    }


def print_table(out: dict[str, Any]) -> None:
    print(f"{'scenario':<12} {'server':<10} {'req/s':>9} {'leads/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for scenario, by_server in out["results"].items():
        for server in ("leadscore", "mlserver"):
            r = by_server[server]
            print(
                f"{scenario:<12} {server:<10} {r['requests_per_s']:>9.0f} {r['leads_per_s']:>10.0f} "
                f"{r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}"
            )
        ratio = by_server["ratio"]
        print(
            f"{scenario:<12} {'ratio':<10} {ratio['requests_per_s']:>9.2f} {ratio['leads_per_s']:>10.2f} "
            f"{ratio['p50']:>8.2f} {ratio['p99']:>8.2f}"
        )
    for goal, met in out["goals_met"].items():
        print(f"goal {goal}: {'met' if met else 'NOT met'}")
    if not all(out["goals_met"].values()):
        steps = out["batch_breakdown_ms"]
        print(f"where a {out['setup']['batch']}-lead V1 request's time goes (median ms, in process; the route is "
              "the end-to-end p50 less the steps):")
        for step, ms in steps.items():
            print(f"  {step:<22} {ms:7.2f}")
        print(f"  (scored with {out['engines']})")
    print(f"load average during the run: {out['machine']['load_average_1m']:.1f} on {out['machine']['cpus']} cpus")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", type=int, default=300)
    parser.add_argument("--rows", type=int, default=20_000, help="training rows")
    parser.add_argument("--batch", type=int, default=1000, help="leads per batch request")
    parser.add_argument("--requests", type=int, default=6000, help="single-lead requests per server")
    parser.add_argument("--batches", type=int, default=150, help="batch requests per server")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=30, help="alternating chunks the requests are split into")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--breakdown-repeats", type=int, default=30, help="in-process runs of the batch breakdown")
    parser.add_argument("--quick", action="store_true", help="small counts for a smoke run")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.batches, args.rounds, args.warmup, args.rows = 600, 20, 4, 20, 5000
        args.breakdown_repeats = 5
    out = run(args)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=1))
    print_table(out)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
