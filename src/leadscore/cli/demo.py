"""``leadscore demo``: the main job on an embedded default (see leadscore.demo)."""

from __future__ import annotations

from pathlib import Path

import typer

from leadscore.api.leadscoringmodel import Vertical
from leadscore.cli.help import example


def demo(
    workdir: Path = typer.Option(Path(".demo"), "--workdir", help="Where every file of the run goes (replaced)."),
    vertical: Vertical = typer.Option("pc", "--vertical", help="The synthetic vertical."),
    rows: int = typer.Option(60_000, "--rows", min=1_000, help="Synthetic leads in total."),
    history_rows: int = typer.Option(15_000, "--history-rows", min=500,
                                     help="The oldest leads that train (at most half); the rest are scored."),
    seed: int = typer.Option(7, "--seed", help="Seed for data, training and the simulated sales floor."),
    trials: int = typer.Option(4, "--trials", min=1, help="Optuna trials per algorithm."),
    time_budget: int = typer.Option(240, "--time-budget", min=10, help="Seconds of tuning in total."),
    days: int = typer.Option(14, "--days", min=2, help="Simulated days of the A/B test."),
) -> None:
    """Synthetic leads -> train -> evaluate -> batch-score -> serve (A/B) -> outcomes -> report."""
    from leadscore.demo import DemoOptions, run_demo

    run_demo(DemoOptions(workdir=workdir, vertical=vertical, rows=rows, history_rows=history_rows, seed=seed,
                         trials=trials, time_budget=time_budget, days=days))


def register(app: typer.Typer) -> None:
    app.command("demo", epilog=example("leadscore demo", "leadscore demo --vertical health --rows 20000"))(demo)
