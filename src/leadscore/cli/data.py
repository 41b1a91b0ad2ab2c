"""``leadscore data ...``: make synthetic leads and profile a dataset before training on it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

from leadscore.api.leadscoringmodel import Vertical
from leadscore.cli.help import example
from leadscore.errors import ConfigError, one_line

if TYPE_CHECKING:
    from leadscore.data import DatasetSchema, LeakFinding

data_app = typer.Typer(help="Synthetic leads and dataset profiling.", no_args_is_help=True)


@data_app.command("synth", epilog=example(
    "leadscore data synth --vertical health --rows 20000 --seed 1 --output leads.parquet"))
def synth_command(
    vertical: Vertical = typer.Option("pc", help="The synthetic vertical."),
    rows: int = typer.Option(10_000, min=1, help="Number of leads."),
    seed: int = typer.Option(0, help="Random seed; the same seed gives the same file."),
    output: str = typer.Option(..., help="Where to write: a .csv or .parquet path, or s3:// URI."),
) -> None:
    """Write synthetic leads with target `converted` and ground truth `true_probability`."""
    if not output.lower().endswith((".csv", ".parquet")):
        raise ConfigError(f"--output must end in .csv or .parquet, got {output!r}")
    import io

    from leadscore.data import synth
    from leadscore.store import artifacts

    frame = synth.generate(vertical, rows, seed)
    buffer = io.BytesIO()
    if output.lower().endswith(".parquet"):
        frame.to_parquet(buffer, index=False)
    else:
        frame.to_csv(buffer, index=False)
    artifacts.write_bytes(output, buffer.getvalue())
    typer.echo(f"wrote {len(frame)} {vertical} leads to {output} "
               f"(conversion rate {frame[synth.TARGET].mean():.1%}, seed {seed})")


@data_app.command("profile", epilog=example(
    "leadscore data profile --data leads.csv --target converted --id-col lead_id --time-col created_at"))
def profile_command(
    data: str = typer.Option(..., help="CSV or Parquet path, or s3:// URI."),
    target: str = typer.Option(..., help="Binary outcome column."),
    id_col: str | None = typer.Option(None, "--id-col", help="Lead id column."),
    time_col: str | None = typer.Option(None, "--time-col", help="Lead creation time column."),
    exclude: list[str] = typer.Option([], "--exclude", help="Columns to leave out (comma-separated, repeatable)."),
    post_outcome: list[str] = typer.Option(
        [], "--post-outcome", help="Columns filled only after the outcome (comma-separated, repeatable)."),
    delimiter: str | None = typer.Option(None, help="CSV delimiter (sniffed when omitted)."),
    leak_threshold: float = typer.Option(0.9, help="Single-column ROC-AUC that counts as a leak."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
) -> None:
    """Print the inferred schema and the leakage findings; exit non-zero on a bad dataset."""
    import warnings

    from pydantic import ValidationError

    from leadscore.data import DatasetSpec, check_leakage, load_dataset, validate

    try:
        spec = DatasetSpec(target=target, id_column=id_col, time_column=time_col, exclude=exclude,
                           post_outcome=post_outcome, leak_threshold=leak_threshold, allow_leaky=True)
    except ValidationError as exc:
        raise ConfigError(one_line(exc, lambda loc: "--" + ".".join(map(str, loc)).replace("_", "-"))) from exc
    clean, schema = validate(load_dataset(data, delimiter=delimiter), spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        findings = check_leakage(clean, schema, spec)
    if as_json:
        typer.echo(json.dumps({"schema": schema.model_dump(mode="json"),
                               "leakage": [f.model_dump(mode="json") for f in findings]}))
        return
    _print_profile(schema, findings)


def _print_profile(schema: DatasetSchema, findings: list[LeakFinding]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"{schema.rows} rows, target {schema.target!r} "
                        f"(positive rate {schema.positive_rate or 0:.1%})")
    for header in ("column", "role", "dtype", "missing", "distinct", "notes"):
        table.add_column(header)
    for column in schema.columns:
        notes = ", ".join(n for n, on in (("high cardinality", column.high_cardinality),
                                          ("post-outcome", column.post_outcome),
                                          ("declared", column.declared)) if on)
        table.add_row(column.name, column.role, column.dtype, f"{column.missing_fraction:.1%}",
                      str(column.n_unique), notes)
    console.print(table)
    if not findings:
        typer.echo("leakage: no column predicts the target suspiciously well on its own")
    for finding in findings:  # plain lines: greppable, never wrapped
        verdict = "REFUSED unless --allow-leaky" if finding.refused else "suspect, check it"
        typer.echo(f"leakage: {finding.describe()}: {verdict}")


def register(app: typer.Typer) -> None:
    """Attach ``leadscore data`` to the top-level CLI."""
    app.add_typer(data_app, name="data")
