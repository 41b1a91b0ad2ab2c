"""The real predictor's responses, logged by KServe's real agent, make a correct summary and export.

The predictor (KServe ModelServer, sticky A/B between two real artifacts) scores synthetic
P&C leads over V1 and V2 through KServe's agent (tests/support/kserve_agent.py), which logs each
exchange to a real collector on PostgreSQL as an InferenceService with the experiment
annotation would; outcomes come from the synthetic ground truth.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from integration.predictor.predictor_artifacts import SPEC, build_artifact, request_records, synthetic_leads
from integration.predictor.predictor_servers import Predictor, running_predictor
from leadscore.api.abexperiment import experiment_salt
from leadscore.api.summary import ExperimentSummary
from leadscore.api.wire import EXPERIMENT_ANNOTATION
from leadscore.cli.main import main
from leadscore.data import infer_schema, load_dataset
from leadscore.experiments.settings import parse_duration
from support.collector import running_collector
from support.kserve import KServeInstall
from support.kserve_agent import running_agent
from support.polling import eventually

pytestmark = [pytest.mark.integration, pytest.mark.kserve, pytest.mark.slow]

EXPERIMENT = "pc-v1-vs-v2"
LEADS, SEED = 240, 202


@pytest.fixture(scope="module")
def ab_predictor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Predictor]:
    artifacts = tmp_path_factory.mktemp("artifacts")
    control = build_artifact(artifacts / "v1", "v1", algorithms=("lightgbm",), seed=7)
    treatment = build_artifact(artifacts / "v2", "v2", algorithms=("lightgbm",), seed=11)
    env = {
        "LEADSCORE_AB_EXPERIMENT": EXPERIMENT,
        "LEADSCORE_AB_TREATMENT_URI": str(treatment),
        "LEADSCORE_AB_TREATMENT_PERCENT": "50",
        "LEADSCORE_AB_SALT": experiment_salt("sales", EXPERIMENT),  # as the operator sets it
    }
    with running_predictor(control, tmp_path_factory.mktemp("logs"), name="pc", env=env) as predictor:
        yield predictor


@pytest.fixture
def collector(postgres_database: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    with running_collector(postgres_database, tmp_path / "collector.log") as url:
        yield url, postgres_database


def test_collector_summarises_and_exports_what_the_real_predictor_scored(
    ab_predictor: Predictor, collector: tuple[str, str], kserve_install: KServeInstall, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, db = collector
    predictor_port, collector_port = urlsplit(ab_predictor.http).port, urlsplit(url).port
    assert predictor_port and collector_port
    records = request_records(LEADS, seed=SEED)
    truth = dict(zip([r["lead_id"] for r in records], synthetic_leads(LEADS, SEED)[SPEC.target], strict=True))
    arms: dict[str, str] = {}
    covariates: dict[str, float] = {}
    scores: dict[str, float] = {}
    tiers: dict[str, tuple[str, str | None]] = {}  # lead -> (tier, sla) as the predictor answered
    with (
        running_agent(kserve_install.directory / "agent", tmp_path / "agent", predictor_port=predictor_port,
                      collector_port=collector_port, inference_service="pc", namespace="sales",
                      annotations={EXPERIMENT_ANNOTATION: EXPERIMENT}) as agent,
        httpx.Client(base_url=url, timeout=30) as sink,
        httpx.Client(base_url=agent.url, timeout=30) as crm,
    ):
        for start in range(0, LEADS - 40, 50):  # V1 batches
            body = json.dumps({"instances": records[start : start + 50]}).encode()
            reply = crm.post(
                "/v1/models/pc:predict", content=body, headers={"Content-Type": "application/json"}
            )
            arms |= {p["lead_id"]: p["arm"] for p in reply.json()["predictions"]}
            covariates |= {p["lead_id"]: p["control_probability"] for p in reply.json()["predictions"]}
            scores |= {p["lead_id"]: p["score"] for p in reply.json()["predictions"]}
            tiers |= {p["lead_id"]: (p["tier"], p["sla"]) for p in reply.json()["predictions"]}
        tail = records[LEADS - 40 :]  # one V2 batch of whole records
        body = json.dumps(
            {
                "inputs": [
                    {
                        "name": "records",
                        "datatype": "BYTES",
                        "shape": [len(tail)],
                        "data": [json.dumps(r) for r in tail],
                    }
                ]
            }
        ).encode()
        reply = crm.post("/v2/models/pc/infer", content=body, headers={"Content-Type": "application/json"})
        outputs = {o["name"]: o["data"] for o in reply.json()["outputs"]}
        arms |= dict(zip(outputs["lead_id"], outputs["arm"], strict=True))
        covariates |= dict(zip(outputs["lead_id"], outputs["control_probability"], strict=True))
        scores |= dict(zip(outputs["lead_id"], outputs["score"], strict=True))
        tiers |= {lead: (tier, sla or None)  # V2 BYTES carry "no deadline" as ""
                  for lead, tier, sla in zip(outputs["lead_id"], outputs["tier"], outputs["sla"], strict=True)}

        later = (datetime.now(UTC) + timedelta(days=1)).isoformat()  # a day (and the seconds since) after each exposure
        called = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()  # within every tier's deadline
        outcomes = [
            {"lead_id": lead, "converted": bool(won), "value": 1000.0 if won else None, "occurred_at": later,
             "first_contacted_at": called, "accepted": bool(won)}
            for lead, won in truth.items()
        ]
        assert sink.post("/v1/namespaces/sales/outcomes", json={"outcomes": outcomes}).json()["stored"] == LEADS

        def logged() -> ExperimentSummary | None:  # the agent logs asynchronously
            found = ExperimentSummary.model_validate(sink.get(f"/v1/experiments/sales/{EXPERIMENT}/summary").json())
            return found if sum(a.exposures for a in found.arms.values()) == LEADS else None

        summary = eventually(logged, what=f"the {LEADS} leads the agent logged", timeout=60, interval=0.5)
        by_tier = {t["tier"]: t for t in sink.get("/v1/models/sales/pc/tiers").json()["tiers"]}

    # each tier's SLA as the predictor's responses (V1 and V2) gave it; everyone called within it
    assert set(by_tier) == {tier for tier, _ in tiers.values()}
    for tier, row in by_tier.items():
        deadlines = {sla for t, sla in tiers.values() if t == tier}
        assert len(deadlines) == 1
        sla = deadlines.pop()
        leads = sum(t == tier for t, _ in tiers.values())
        assert row["sla_seconds"] == (None if sla is None else parse_duration(sla).total_seconds())
        assert (row["leads"], row["contacted"]) == (leads, leads)
        assert (row["sla_met"], row["sla_due"]) == ((0, 0) if sla is None else (leads, leads))

    for arm, version in (("control", "v1"), ("treatment", "v2")):
        leads = [lead for lead, a in arms.items() if a == arm]
        won = sum(int(truth[lead]) for lead in leads)
        got = summary.arms[arm]
        assert (got.model_version, got.exposures, got.conversions, got.value_sum) == (
            version,
            len(leads),
            won,
            1000.0 * won,
        )
        # the control model's probability of every exposed lead, as the pre-treatment covariate
        assert got.covariate_count == len(leads)
        assert got.covariate_sum == pytest.approx(sum(covariates[lead] for lead in leads))
        assert got.covariate_conversion_sum == pytest.approx(sum(covariates[lead] * truth[lead] for lead in leads))
        assert got.mean_score() == pytest.approx(sum(scores[lead] for lead in leads) / len(leads))
        assert got.conversion_time_count == won and 24.0 <= (got.mean_hours_to_conversion() or 0) < 24.5
        assert (got.acceptance_reports, got.accepted) == (len(leads), won)
    # a lead's arm asked for without scoring it: the CLI hashes as the predictor did
    capsys.readouterr()
    assert main(["experiment", "assign", "--namespace", "sales", "--experiment", EXPERIMENT, "--split", "50",
                 "--json", *arms]) == 0
    assert json.loads(capsys.readouterr().out)["arms"] == arms
    assert set(arms.values()) == {"control", "treatment"}
    from leadscore.experiments import ExperimentSettings, decide

    analysis = decide(summary, ExperimentSettings(min_samples_per_arm=10), elapsed=timedelta(days=1), final=True)
    assert analysis.variance_reduction == "applied"
    assert analysis.variance_reduction_share is not None and analysis.variance_reduction_share > 0

    output = tmp_path / "retrain.parquet"
    assert main(["collector", "export", "--since", "2000-01-01", "--output", str(output), "--db", db,
                 "--namespace", "sales"]) == 0
    frame = load_dataset(str(output))
    assert len(frame) == LEADS
    assert set(records[0]) <= set(frame.columns)
    assert dict(zip(frame["lead_id"], frame["converted"], strict=True)) == {
        k: int(v) for k, v in truth.items()
    }
    schema = infer_schema(frame, SPEC)
    assert schema.model_dump()  # the trainer's dataset contract accepts the export as it is
