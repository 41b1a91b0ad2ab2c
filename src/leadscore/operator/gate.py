"""The promotion gate: does a freshly trained version deserve traffic?

Two rules, both from ``spec.promotion``: an absolute floor (held-out ROC-AUC) so a broken
dataset never ships, and a minimum gain over the version serving now so retraining on noise
does not churn the endpoint. The gain is measured against the serving version's ROC-AUC on the
new version's own test rows when the trainer could score it there (``champion_roc_auc``, from
``--champion``); only otherwise against the AUC stored when that version was trained, on its
own, older test rows. Pure, so every boundary is unit-tested.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from leadscore.api.conditions import METRICS_BELOW_THRESHOLD, VERSION_PROMOTED, VERSION_RECORDED
from leadscore.api.leadscoringmodel import ModelVersion, PromotionSpec

GATE_METRIC = "roc_auc"
CHAMPION_METRIC = "champion_roc_auc"


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reason: str
    message: str


def evaluate_gate(
    version: str,
    metrics: Mapping[str, float],
    active: ModelVersion | None,
    promotion: PromotionSpec,
) -> GateResult:
    """Pass/fail with a condition reason and a message naming the metric, the bound and the value."""
    auc = metrics.get(GATE_METRIC)
    if auc is None:
        return GateResult(False, METRICS_BELOW_THRESHOLD,
                          f"{version}: result has no {GATE_METRIC} metric (got {sorted(metrics) or 'none'})")
    if auc < promotion.min_roc_auc:
        return GateResult(False, METRICS_BELOW_THRESHOLD,
                          f"{version}: roc_auc {auc:.4f} < promotion.minRocAuc {promotion.min_roc_auc:.4f}")
    message = f"{version}: roc_auc {auc:.4f} >= promotion.minRocAuc {promotion.min_roc_auc:.4f}"
    same_rows = metrics.get(CHAMPION_METRIC)
    active_auc = same_rows if same_rows is not None else (active.metrics.get(GATE_METRIC) if active else None)
    if active is not None and active_auc is not None:
        gain = auc - active_auc
        how = "on the same test rows" if same_rows is not None else "against its stored roc_auc"
        if gain < promotion.min_gain:
            return GateResult(False, METRICS_BELOW_THRESHOLD,
                              f"{version}: roc_auc gain over active {active.version} is {gain:+.4f} "
                              f"< promotion.minGain {promotion.min_gain:+.4f} ({how})")
        message += (f"; gain {gain:+.4f} over {active.version} >= promotion.minGain "
                    f"{promotion.min_gain:+.4f} ({how})")
    if not promotion.auto_rollout:
        return GateResult(True, VERSION_RECORDED, message + "; promotion.autoRollout is false, not served")
    return GateResult(True, VERSION_PROMOTED, message)
