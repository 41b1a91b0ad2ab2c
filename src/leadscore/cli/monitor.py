"""``leadscore monitor``: model health from the command line (drift of a data file)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from leadscore.api.health import DriftReport
from leadscore.cli.help import example

if TYPE_CHECKING:  # the monitoring package needs pandas, which the operator and collector images may lack
    from leadscore.monitoring.drift import DriftThresholds

monitor_app = typer.Typer(name="monitor", help="Model health: drift against the training reference.",
                          no_args_is_help=True)


@monitor_app.command("drift", epilog=example(
    "leadscore monitor drift --model s3://models/sales/pc/v3/ --data this_week.csv --json"))
def drift(
    model: str = typer.Option(..., "--model", help="Model version directory or s3:// prefix."),
    data: str = typer.Option(..., "--data", help="CSV/Parquet path or s3:// URI of leads (no label needed)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (the DriftReport contract)."),
    watch: float = typer.Option(0.1, "--watch", min=0.0, help="PSI from which a field is worth watching."),
    drift_psi: float = typer.Option(0.2, "--drift", min=0.0, help="PSI from which a field has drifted."),
    alpha: float = typer.Option(0.01, "--alpha", min=0.0, max=1.0, help="p-value below which a move is not chance."),
    min_rows: int = typer.Option(500, "--min-rows", min=1, help="Fewest leads judged (fewer: exit 8)."),
) -> None:
    """Compare a data file with the model's reference profile: PSI and p-value per field, score PSI."""
    from leadscore.monitoring.drift import DriftThresholds
    from leadscore.trainer.batch import drift_of_file

    thresholds = DriftThresholds(watch=watch, drift=drift_psi, alpha=alpha, min_rows=min_rows)
    report = drift_of_file(model, data, thresholds)
    if as_json:
        # issue 12's CLI contract, which checks rely on: exactly name, psi, p_value, drifted per field
        # (the table and the collector's report add the share beyond the training range)
        typer.echo(report.model_dump_json(exclude={"fields": {"__all__": {"out_of_range"}}}))
        return
    _print(report, thresholds)


def _print(report: DriftReport, thresholds: DriftThresholds) -> None:
    from rich.console import Console
    from rich.table import Table

    from leadscore.monitoring.drift import level

    table = Table(title="drift against the training reference (held-out rows)")
    for column in ("field", "PSI", "p-value", "beyond training range", "reading"):
        table.add_column(column, justify="left" if column in ("field", "reading") else "right")
    for field in sorted(report.fields, key=lambda f: -f.psi):
        reading = "DRIFTED" if field.drifted else level(field.psi, thresholds)
        beyond = "" if field.out_of_range is None else f"{field.out_of_range:.1%}"
        table.add_row(field.name, f"{field.psi:.3f}", f"{field.p_value:.2g}", beyond, reading)
    console = Console()
    console.print(table)
    console.print(f"score PSI {report.score_psi:.3f} ({level(report.score_psi, thresholds)}); "
                  f"drifted: {', '.join(report.drifted) or 'none'}")


def register(app: typer.Typer) -> None:
    app.add_typer(monitor_app)
