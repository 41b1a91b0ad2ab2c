"""The lifecycle scenario of the end-to-end test on the real node (tests/node): the model, the
experiment and the sales floor whose outcomes decide it.

Why the treatment wins, deterministically: v1 is trained on an early CRM export that lacks
the engagement and contact columns (test ROC-AUC about 0.66), v2 on the full export
(about 0.81). Outcomes come from the synthetic ground truth through a sales floor that can
call only the top fifth of each arm's leads promptly (DEMO's speed-to-lead effect, made
strong): the arm that ranks better converts clearly more, on 4 000 leads.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from leadscore.data import synth

MODEL, EXPERIMENT = "pc-leads", "full-vs-early"
SEED, HISTORY_ROWS, INCOMING_ROWS = 7, 3000, 4000
EARLY_EXPORT = ["lead_id", "created_at", "source", "mobile_device", "browser", "state", "insurance_type",
                "converted"]
"""The columns the CRM exported before engagement and contact tracking existed (v1's data)."""
PROMPT_SHARE, PROMPT_UPLIFT, LATE_FACTOR = 0.2, 3.0, 0.1
SCORING = {"high": {"minScore": 40, "action": "immediate_assignment"},
           "medium": {"minScore": 25, "action": "standard_routing"},
           "low": {"minScore": 12, "action": "nurture"}, "veryLowAction": "archive"}


def lead_scoring_model(dataset_uri: str) -> dict[str, Any]:
    return {"apiVersion": "leadscoring.io/v1alpha1", "kind": "LeadScoringModel", "metadata": {"name": MODEL},
            "spec": {"vertical": "pc",
                     "dataset": {"uri": dataset_uri, "targetColumn": "converted", "idColumn": "lead_id",
                                 "timeColumn": "created_at"},
                     "training": {"algorithms": ["lr", "lightgbm"], "trials": 1, "seed": SEED},
                     "promotion": {"minRocAuc": 0.55}, "scoring": SCORING}}


def ab_experiment() -> dict[str, Any]:
    return {"apiVersion": "leadscoring.io/v1alpha1", "kind": "ABExperiment", "metadata": {"name": EXPERIMENT},
            "spec": {"modelRef": MODEL, "control": {"version": "v1"}, "treatment": {"version": "v2"},
                     "assignment": "sticky", "trafficPercent": 50, "minSamplesPerArm": 300,
                     "minimumDetectableEffect": 0.5, "maxDuration": "1h", "onSuccess": "promote"}}


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Leads as the CRM sends them: JSON records without the synthetic ground truth."""
    leads = synth.drop_ground_truth(frame).drop(columns=[synth.TARGET])
    return json.loads(leads.to_json(orient="records", date_format="iso"))


def sales_floor(predictions: list[dict[str, Any]], truth: dict[str, float]) -> list[dict[str, Any]]:
    """Outcomes: per arm, the top PROMPT_SHARE of leads by the arm's score get a prompt call."""
    rng = np.random.default_rng(SEED)
    now = datetime.now(UTC).isoformat()
    outcomes = []
    for arm in ("control", "treatment"):
        leads = sorted((p for p in predictions if p["arm"] == arm), key=lambda p: -p["probability"])
        prompt = round(len(leads) * PROMPT_SHARE)
        for rank, lead in enumerate(leads):
            chance = truth[lead["lead_id"]] * (PROMPT_UPLIFT if rank < prompt else LATE_FACTOR)
            outcomes.append({"lead_id": lead["lead_id"], "converted": bool(rng.random() < min(chance, 1.0)),
                             "occurred_at": now})
    return outcomes
