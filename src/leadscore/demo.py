"""``leadscore demo``: the whole product on one machine, on synthetic leads with a known truth.

It drives the real parts the way users do: the ``leadscore`` commands as subprocesses
(train, evaluate, score, serve, collector) and the predictor and collector over HTTP. The
demo itself plays two roles that a cluster would fill: KServe's inference logger (it posts
each request and response to the collector as binary-mode CloudEvents) and the sales floor
(it turns the synthetic leads' true conversion probabilities into outcomes).

The sales floor is where the A/B test gets its meaning. Each day the team can call only a
fraction of new leads promptly, in the order the arm's scores rank them; a prompt call
raises a lead's chance to convert, a late one lowers it. An arm whose ranking puts the
leads that truly convert first therefore wins more conversions, which is the claim an
A/B test between a rule-based baseline and a model has to prove.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
from rich.console import Console
from rich.rule import Rule
from rich.table import Table

from leadscore.api.leadscoringmodel import Vertical
from leadscore.errors import LeadscoreError

EXPERIMENT = "demo-rules-vs-model"
NAMESPACE = "demo"
PROMPT_CAPACITY = 0.2
"""Share of each day's leads (per arm) the sales team can call within the SLA of 30 minutes."""
HEALTH_MATURITY = "3d"
"""Outcomes of the simulated fortnight are reported two days after the score; three days of
maturity lets every one of them arrive before a lead counts."""
PROMPT_UPLIFT, LATE_PENALTY = 2.0, 0.5
"""A prompt call doubles the true conversion probability, a late one halves it (speed-to-lead)."""

LOG_WIDTH = 200
"""Columns of the demo's output when it is piped or logged: wide enough that no table wraps (rich
assumes 80 without a terminal), so a log reads like the terminal."""
RULE_WIDTH = 100
"""Section rules are drawn this wide at most, not across the whole log width."""


def make_console(file: IO[str] | None = None) -> Console:
    """A terminal keeps its own width; a pipe, a file or a log gets ``LOG_WIDTH`` columns."""
    probe = Console(file=file)
    return probe if probe.is_terminal else Console(file=file, width=LOG_WIDTH)


console = make_console()


def _section(title: str, style: str = "bold") -> None:
    console.print(Rule(f"[{style}]{title}"), width=min(console.width, RULE_WIDTH))


@dataclass(frozen=True)
class DemoOptions:
    workdir: Path
    vertical: Vertical = "pc"
    rows: int = 60_000
    history_rows: int = 15_000
    seed: int = 7
    trials: int = 4
    time_budget: int = 240
    days: int = 14


def _leadscore(*args: str) -> list[str]:
    return [sys.executable, "-m", "leadscore", *args]


def _run(args: list[str], title: str) -> str:
    """Run one ``leadscore`` command, streaming its progress; returns stdout."""
    _section(title)
    console.print("$ " + " ".join(["leadscore", *args[3:]]), style="dim")
    # the child's rich output is captured through a pipe: it gets the demo's width, not rich's 80
    proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=None, text=True, check=False,
                          env={**os.environ, "COLUMNS": str(console.width)})
    if proc.returncode != 0:
        raise LeadscoreError(f"`leadscore {' '.join(args[3:5])}` failed with exit code {proc.returncode}")
    return proc.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen[bytes], deadline_s: float = 120.0) -> None:
    import httpx

    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise LeadscoreError(f"server for {url} exited with code {proc.returncode} before it was ready")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise LeadscoreError(f"{url} not ready after {deadline_s:.0f}s")


@contextmanager
def _server(args: list[str], ready_url: str, log: Path, env: dict[str, str] | None = None) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        try:
            _wait_http(ready_url, proc)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def prepare_data(options: DemoOptions) -> tuple[Path, Path, Path]:
    """The oldest ``history_rows`` leads train; the newer rest arrive as incoming leads (+ their truth).

    Many incoming leads, because an A/B test between two decent rankings needs tens of
    thousands of exposures per arm to tell them apart.
    """
    from leadscore.data import drop_ground_truth, synth

    _section("1. Synthetic leads")
    frame = synth.generate(options.vertical, options.rows, options.seed)
    frame = frame.sort_values(synth.TIME_COLUMN, kind="stable").reset_index(drop=True)
    cut = min(options.history_rows, len(frame) // 2)
    history, incoming = frame.iloc[:cut], frame.iloc[cut:]
    paths = options.workdir / "history.csv", options.workdir / "incoming.csv", options.workdir / "truth.csv"
    drop_ground_truth(history).to_csv(paths[0], index=False)
    drop_ground_truth(incoming).to_csv(paths[1], index=False)
    incoming[[synth.ID_COLUMN, "true_probability"]].to_csv(paths[2], index=False)
    console.print(f"{len(history):,} historical leads (conversion {history[synth.TARGET].mean():.1%}), "
                  f"{len(incoming):,} incoming leads; vertical [bold]{options.vertical}[/], seed {options.seed}")
    return paths


def train(options: DemoOptions, history: Path) -> Path:
    from leadscore.data import synth

    output = options.workdir / "models" / "v1"
    summary = _run(_leadscore("train", "--data", str(history), "--target", synth.TARGET, "--id-col", synth.ID_COLUMN,
                    "--time-col", synth.TIME_COLUMN, "--text-col", synth.TEXT_COLUMN,
                    "--algorithms", "lr,xgboost,lightgbm,catboost",
                    "--trials", str(options.trials), "--time-budget", str(options.time_budget),
                    "--seed", str(options.seed), "--model-name", f"demo-{options.vertical}",
                    "--vertical", options.vertical,
                    "--version", "v1", "--mlflow-uri", (options.workdir / "mlruns").resolve().as_uri(),
                    "--output", str(output)), "2. Train (LR baseline, XGBoost, LightGBM, CatBoost + Optuna)")
    console.print(summary.rstrip(), markup=False)
    return output


def evaluate_and_score(model: Path, incoming: Path, workdir: Path) -> dict[str, Any]:
    from leadscore.data import synth

    metrics = json.loads(_run(_leadscore("evaluate", "--model", str(model), "--data", str(incoming),
                                         "--target", synth.TARGET, "--json"),
                              "3. Evaluate on the newest leads (never seen in training)"))
    console.print_json(data={k: metrics[k] for k in ("rows", "roc_auc", "pr_auc", "brier", "log_loss") if k in metrics})
    out = _run(_leadscore("score", "--model", str(model), "--data", str(incoming),
                          "--output", str(workdir / "scores.csv")), "4. Batch-score incoming leads")
    console.print(out.strip(), markup=False)
    return metrics


def _simulate_outcomes(predictions: list[dict[str, Any]], truth: dict[str, float],
                       rng: np.random.Generator) -> tuple[list[bool], list[float]]:
    """The sales floor: per arm, the top PROMPT_CAPACITY of the day's leads by score get a prompt call.

    Returns each lead's drawn outcome and its true conversion probability after the call,
    so the demo can show the effect the experiment is trying to measure.
    """
    chance = [0.0] * len(predictions)
    for arm in {p.get("arm", "") for p in predictions}:
        idx = [i for i, p in enumerate(predictions) if p.get("arm", "") == arm]
        ranked = sorted(idx, key=lambda i: -predictions[i]["probability"])
        prompt = set(ranked[: round(len(ranked) * PROMPT_CAPACITY)])
        for i in idx:
            uplift = PROMPT_UPLIFT if i in prompt else LATE_PENALTY
            chance[i] = min(truth[str(predictions[i]["lead_id"])] * uplift, 1.0)
    return [bool(rng.random() < c) for c in chance], chance


def serve_and_experiment(options: DemoOptions, model: Path, incoming: Path, truth_path: Path) -> dict[str, Any]:
    """Predictor (sticky A/B: rules vs model) + collector on loopback; a simulated fortnight of leads."""
    import httpx
    import pandas as pd

    from leadscore.api.summary import ExperimentSummary
    from leadscore.collector.cloudevents import logger_headers
    from leadscore.collector.outcomes import OUTCOMES_PATH
    from leadscore.data import synth

    workdir = options.workdir
    http, grpc, collector = _free_port(), _free_port(), _free_port()
    leads = pd.read_csv(incoming)
    truth_frame = pd.read_csv(truth_path)
    truth = dict(zip(truth_frame[synth.ID_COLUMN].astype(str), truth_frame["true_probability"], strict=True))
    ab_env = {"LEADSCORE_AB_EXPERIMENT": EXPERIMENT, "LEADSCORE_AB_CONTROL_URI": "rules",
              "LEADSCORE_AB_TREATMENT_URI": str(model), "LEADSCORE_AB_TREATMENT_PERCENT": "50"}
    _section("5. Serve: KServe predictor (sticky A/B: rule-based baseline vs model) + collector")
    db = f"sqlite:///{(workdir / 'events.db').resolve()}"
    with _server(_leadscore("collector", "--db", db, "--port", str(collector)),
                 f"http://127.0.0.1:{collector}/healthz", workdir / "collector.log"), \
         _server(_leadscore("serve", "--model", str(model), "--name", "leads", "--http-port", str(http),
                            "--grpc-port", str(grpc)),
                 f"http://127.0.0.1:{http}/v1/models/leads", workdir / "predictor.log", ab_env):
        console.print(f"predictor http://127.0.0.1:{http}  grpc 127.0.0.1:{grpc}  "
                      f"collector http://127.0.0.1:{collector}")
        client = httpx.Client(timeout=60.0)
        rng = np.random.default_rng(options.seed)
        start = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=options.days)
        scored: list[dict[str, Any]] = []
        expected: dict[str, list[float]] = {}
        outcomes: list[dict[str, Any]] = []
        records = json.loads(leads.to_json(orient="records", date_format="iso"))
        for day, chunk in enumerate(np.array_split(np.arange(len(records)), options.days)):
            at = start + timedelta(days=day)
            batch = {"instances": [records[i] for i in chunk]}
            response = client.post(f"http://127.0.0.1:{http}/v1/models/leads:predict", json=batch)
            response.raise_for_status()
            predictions = response.json()["predictions"]
            event_id = str(uuid.uuid4())
            halves: tuple[tuple[Literal["request", "response"], dict[str, Any]], ...] = (
                ("request", batch), ("response", response.json()))
            for kind, body in halves:
                client.post(f"http://127.0.0.1:{collector}/v1/events", content=json.dumps(body),
                            headers=logger_headers(event_id, kind, inference_service="demo-leads",
                                                   namespace=NAMESPACE, source="http://localhost/demo-logger",
                                                   experiment=EXPERIMENT, time=at)).raise_for_status()
            drawn, chance = _simulate_outcomes(predictions, truth, rng)
            for prediction, converted, p in zip(predictions, drawn, chance, strict=True):
                expected.setdefault(prediction.get("arm", ""), []).append(p)
                outcomes.append({"lead_id": str(prediction["lead_id"]), "converted": converted,
                                 "occurred_at": (at + timedelta(days=2)).isoformat()})
                scored.append({**prediction, "converted": converted})
        for i in range(0, len(outcomes), 5000):
            client.post(f"http://127.0.0.1:{collector}{OUTCOMES_PATH.format(namespace=NAMESPACE)}",
                        json={"outcomes": outcomes[i:i + 5000]}).raise_for_status()
        console.print(f"scored {len(scored):,} leads over {options.days} simulated days; posted their outcomes")
        if {"control", "treatment"} <= expected.keys():
            control, treatment = (float(np.mean(expected[a])) for a in ("control", "treatment"))
            console.print(f"ground truth (no sampling noise): control {control:.2%}, treatment {treatment:.2%}, "
                          f"true lift {treatment / control - 1:+.1%}; the test sees only the drawn outcomes")
        explained = client.post(f"http://127.0.0.1:{http}/v1/models/leads:explain",
                                json={"instances": records[:3]})
        explained.raise_for_status()
        summary = ExperimentSummary.model_validate(
            client.get(f"http://127.0.0.1:{collector}/v1/experiments/{NAMESPACE}/{EXPERIMENT}/summary").json())
        window = {"version": "v1", "since": (start - timedelta(days=1)).isoformat()}
        base = f"http://127.0.0.1:{collector}/v1/models/{NAMESPACE}/demo-leads"
        drift = client.get(f"{base}/drift", params={**window, "model": str(model.resolve())})
        live = client.get(f"{base}/performance", params={**window, "maturity": HEALTH_MATURITY})
        drift.raise_for_status()
        live.raise_for_status()
    return {"scored": scored, "explanations": explained.json(), "summary": summary,
            "drift": drift.json(), "live": live.json()}


def print_sales_report(scored: list[dict[str, Any]], explanations: dict[str, Any]) -> None:
    _section("6. What a sales manager sees")
    table = Table(title="Model arm: leads and simulated conversion by tier")
    for column in ("tier", "action", "leads", "share", "converted"):
        table.add_column(column, justify="right" if column in ("leads", "share", "converted") else "left")
    model_arm = [s for s in scored if s.get("arm") == "treatment"] or scored
    for tier in ("high", "medium", "low", "very_low"):
        rows = [s for s in model_arm if s["tier"] == tier]
        if not rows:
            table.add_row(tier, "-", "0", "0.0%", "-")
            continue
        rate = sum(r["converted"] for r in rows) / len(rows)
        table.add_row(tier, rows[0]["action"], f"{len(rows):,}", f"{len(rows) / len(model_arm):.1%}", f"{rate:.1%}")
    console.print(table)
    for item in explanations.get("explanations", []):
        factors = ", ".join(f"{f.get('description', f.get('feature'))} ({f['contribution']:+.2f})"
                            for f in item.get("top_factors", [])[:3])
        console.print(f"lead {item.get('lead_id')} ({item.get('arm', '-')} arm): score {item.get('score')}, "
                      f"{item.get('tier')} <- {factors or 'no factors'}  [{item.get('unit', '')}]", markup=False)
        sla = f"within {item['sla']}" if item.get("sla") else "no SLA"
        agreement = item.get("agreement")
        console.print(f"  -> {item.get('action')}, {sla}, {item.get('priority')}; "
                      f"converts (at the threshold): {'yes' if item.get('prediction') else 'no'}; "
                      f"probability in [{item.get('interval_low')}, {item.get('interval_high')}], "
                      f"confidence {item.get('confidence')}"
                      + (f", members' agreement {agreement}" if agreement is not None else "") + "; "
                      f"{item.get('model_type')} {item.get('model_version')} ({item.get('vertical') or '-'}), "
                      f"explained in {item.get('processing_time_ms')} ms", markup=False)


def experiment_report(summary: Any, workdir: Path, days: int) -> dict[str, Any]:
    from leadscore.experiments.decision import decide, status_fields
    from leadscore.experiments.report import render_report
    from leadscore.experiments.settings import ExperimentSettings

    _section("7. A/B test: rule-based baseline (control) vs model (treatment)")
    settings = ExperimentSettings(sequential=True, traffic_percent=50, min_samples_per_arm=1000,
                                  minimum_detectable_effect=0.05)
    analysis = decide(summary, settings, elapsed=timedelta(days=days), final=True)
    files = render_report(summary, analysis, workdir / "ab-report.html")
    fields = status_fields(analysis)
    console.print_json(data=fields, default=str)
    console.print(f"report: {files.html} (chart: {files.png})")
    return fields


def health_report(model: Path, incoming: Path, drift: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    """Drift of the incoming leads against the training reference, and the model's live figures
    from the simulated outcomes (docs/monitoring.md explains every number)."""
    from leadscore.monitoring.drift import DriftThresholds, level

    drift_text = _run(_leadscore("monitor", "drift", "--model", str(model), "--data", str(incoming)),
                      "8. Model health: drift of the incoming leads against the training reference")
    console.print(drift_text.rstrip(), markup=False)
    thresholds = DriftThresholds()
    fields = {f["name"]: f for f in drift["fields"]}
    console.print(f"served by the model arm ({drift['rows']:,} leads, collector window): score PSI "
                  f"{drift['score_psi']:.3f} ({level(drift['score_psi'], thresholds)}), drifted: "
                  f"{', '.join(drift['drifted']) or 'none'}")
    built_in = ", ".join(f"{name} PSI {fields[name]['psi']:.3f} ({level(fields[name]['psi'], thresholds)}, "
                         f"p = {fields[name]['p_value']:.2g})"
                         for name in ("source", "mobile_device") if name in fields)
    console.print(
        f"[dim]Reading it honestly: the generator shifts the source mix and the mobile share over the year on "
        f"purpose and the incoming leads are the later months; against the held-out rows (the latest part of the "
        f"history) that shows as {built_in}."
        + (" days_since_creation is each lead's age on the day the data was exported, so newer leads are younger "
           "by construction: it drifts whatever happens, and a field like it is better left out of training."
           if "days_since_creation" in drift["drifted"] else "") + "[/]")
    table = Table(title=f"Live accuracy of v1 from the simulated outcomes ({live['leads']:,} matured leads, "
                        f"maturity {live['maturity_days']:g} days)")
    for column in ("tier", "leads", "converted", "rate", "95 % interval"):
        table.add_column(column, justify="left" if column == "tier" else "right")
    for tier in live["tiers"]:
        table.add_row(tier["tier"], f"{tier['leads']:,}", f"{tier['conversions']:,}", f"{tier['rate']:.1%}",
                      f"{tier['lower']:.1%} to {tier['upper']:.1%}")
    console.print(table)
    auc, lift = live.get("roc_auc"), live.get("top_tier_lift")
    if auc and lift:
        console.print(f"live ROC-AUC {auc['value']:.3f} (95 % {auc['lower']:.3f} to {auc['upper']:.3f}); the high "
                      f"tier converts {lift['value']:.2f}x the average lead (95 % {lift['lower']:.2f} to "
                      f"{lift['upper']:.2f})")
    console.print(
        "[dim]Measured on simulated outcomes that include the sales floor's effect: the top 20 % of each day's "
        "leads by score were called promptly (twice the chance), the rest late (half), so the higher tiers "
        "convert more partly because they were called first. Leads of the last days are left out until "
        f"they have had {HEALTH_MATURITY} to convert.[/]")
    return {"drift": drift, "live": live}


def console_snapshot(options: DemoOptions, model: Path, summary: Any) -> list[Path]:
    """The console's model and experiment pages on the demo's data, as static files: the demo runs
    no Kubernetes API, so the CRs' status is written here the way the operator would write it."""
    from leadscore.console.snapshot import write_snapshot

    _section("9. Insights console (static snapshot)")
    result = json.loads((model / "result.json").read_text())
    name = f"demo-{options.vertical}"
    version = {"version": "v1", "created": result["created"], "artifactUri": str(model.resolve()),
               "metrics": {k: v for k, v in result["metrics"].items() if k != "rows"},
               "mlflowRunId": result["mlflow_run_id"], "jobName": "(make demo: leadscore train)",
               "shipped": result["shipped"], "gate": "Passed", "gateMessage": result["message"]}
    lsm = {"apiVersion": "leadscoring.io/v1alpha1", "kind": "LeadScoringModel",
           "metadata": {"name": name, "namespace": NAMESPACE}, "spec": {"serving": {}},
           "status": {"phase": "Ready", "versions": [version], "activeVersion": "v1", "servedVersion": "v1"}}
    abx = {"apiVersion": "leadscoring.io/v1alpha1", "kind": "ABExperiment",
           "metadata": {"name": EXPERIMENT, "namespace": NAMESPACE},
           "spec": {"modelRef": name, "control": {"version": "rules"}, "treatment": {"version": "v1"},
                    "trafficPercent": 50, "minSamplesPerArm": 1000, "minimumDetectableEffect": 0.05},
           "status": {"phase": "Running"}}
    card = json.loads((model / "model_card.json").read_text())
    pages = write_snapshot(options.workdir / "console", lsm, card, abx, summary, timedelta(days=options.days))
    for page in pages:
        console.print(f"console snapshot: {page}")
    console.print("live console (needs a cluster): LEADSCORE_CONSOLE_SECRET=$(openssl rand -hex 32) "
                  "leadscore console --collector http://<collector>:8090   (docs/console.md)")
    return pages


def run_demo(options: DemoOptions) -> None:
    started = time.monotonic()
    if options.workdir.exists():
        shutil.rmtree(options.workdir)
    options.workdir.mkdir(parents=True)
    history, incoming, truth = prepare_data(options)
    model = train(options, history)
    metrics = evaluate_and_score(model, incoming, options.workdir)
    served = serve_and_experiment(options, model, incoming, truth)
    print_sales_report(served["scored"], served["explanations"])
    fields = experiment_report(served["summary"], options.workdir, options.days)
    health = health_report(model, incoming, served["drift"], served["live"])
    console_snapshot(options, model, served["summary"])
    (options.workdir / "demo-summary.json").write_text(json.dumps(
        {"holdout": metrics, "experiment": fields, "health": health}, indent=2, default=str))
    _section(f"Done in {time.monotonic() - started:.0f}s; everything is in {options.workdir}/", style="bold green")
