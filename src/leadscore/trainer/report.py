"""The tables people read at the end of ``train`` and ``evaluate`` (stdout)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadscore.api.results import TrainingResult
from leadscore.trainer.card import ModelCard


def print_summary(result: TrainingResult, card: ModelCard) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{result.model_name} {result.version}: held-out test set ({card.metrics.rows:,} rows)")
    for column in ("algorithm", "trials", "pruned", "seconds", "ROC-AUC", "PR-AUC", "log loss", "Brier", "weight"):
        table.add_column(column, justify="left" if column == "algorithm" else "right")
    weights = {m.algorithm: m.weight for m in card.members}
    for a in card.algorithms:
        table.add_row(a.algorithm, str(a.trials), str(a.pruned), f"{a.seconds:.1f}", f"{a.test['roc_auc']:.4f}",
                      f"{a.test['pr_auc']:.4f}", f"{a.test['log_loss']:.4f}", f"{a.test['brier']:.4f}",
                      f"{weights[a.algorithm]:.2f}" if a.algorithm in weights else "")
    m = card.metrics
    table.add_row(f"[bold]shipped: {card.shipped}[/]", "", "", f"{card.training.seconds:.1f}", f"{m.roc_auc:.4f}",
                  f"{m.pr_auc:.4f}", f"{m.log_loss:.4f}", f"{m.brier:.4f}", "", style="bold")
    console = Console(width=max(Console().width, 110))
    console.print(table)
    console.print(f"calibration {card.calibration.method}; {card.shipped_reason}")
    console.print(f"vs baseline lr: ROC-AUC {card.baseline.roc_auc_gain:+.4f}, log loss "
                  f"{card.baseline.log_loss_reduction:+.1%} lower; lift@10% {m.lift_at_10:.2f}, "
                  f"capture@20% {m.capture_at_20:.1%}; ONNX parity {card.training.parity_max_abs_diff:.1e}")
    console.print("tiers on the held-out scores: " + ", ".join(
        f"{t.tier} score >= {t.min_score} ({t.held_out_percent:.1f} % of leads)" for t in card.tiers))
    if card.interval:
        i = card.interval
        console.print(f"intervals (Venn-ABERS, held-out): mean width {i.mean_width:.4f}, confidence "
                      f"{i.mean_confidence:.3f}" + (f", agreement {i.mean_agreement:.3f}"
                                                    if i.mean_agreement is not None else ""))
        console.print(f"observed rate within [p0, p1] +- 2 se in {i.bins_within}/{i.bins} deciles of p0", markup=False)
    if card.champion and card.champion.metrics:
        theirs = card.champion.metrics["roc_auc"]
        console.print(f"vs serving version {card.champion.version or card.champion.uri} on the same test rows: "
                      f"ROC-AUC {theirs:.4f} -> {m.roc_auc:.4f} ({m.roc_auc - theirs:+.4f})")
    elif card.champion:
        console.print(f"serving version not compared: {card.champion.error}")
    if card.feature_importance:
        drivers = _drivers(card)
        console.print("what drives the score: " + ", ".join(f"{field} ({value:.2f})" for field, value in drivers)
                      + " [mean |log-odds contribution|, held-out rows]")
    console.print(f"published {result.artifact_uri}; MLflow run {result.mlflow_run_id}"
                  + (f", registered version {result.mlflow_model_version}" if result.mlflow_model_version else ""))


def _drivers(card: ModelCard, top: int = 6) -> list[tuple[str, float]]:
    """Raw fields by their strongest encoded feature, in the card's order (largest first)."""
    best: dict[str, float] = {}
    for item in card.feature_importance:
        best.setdefault(item.field, item.mean_abs_contribution)
    return list(best.items())[:top]


def print_metrics(report: Mapping[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"model {report.get('model_version', '')} on {report['rows']:,} rows")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in ("roc_auc", "pr_auc", "log_loss", "brier", "accuracy", "precision", "recall", "f1", "lift_at_10",
                "capture_at_10", "lift_at_20", "capture_at_20", "positive_rate"):
        table.add_row(key, f"{report[key]:.4f}")
    Console().print(table)
