"""``leadscore collector``: run the collector, or export its training set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import typer

from leadscore.api.leadscoringmodel import Vertical
from leadscore.cli.help import example
from leadscore.cli.times import parse_time

if TYPE_CHECKING:
    from leadscore.store.events import EventStore

collector_app = typer.Typer(
    name="collector",
    help="Log predictions and outcomes; serve experiment summaries; export training data.",
    invoke_without_command=True,
    no_args_is_help=False,
    epilog=example("leadscore collector --db postgresql+psycopg://user:pw@db:5432/leadscore --port 8090"),
)

_DB_HELP = (
    "SQLAlchemy URL of the event store (postgresql+psycopg://... or sqlite:///path); "
    "default $LEADSCORE_DB_URL or ./leadscore-events.db."
)


def _db(url: str | None) -> str:
    from leadscore.store.events import default_url

    return url or default_url()


def _open(url: str | None) -> EventStore:
    """The store at ``url``, migrated on open unless $LEADSCORE_DB_MIGRATE=false (then only checked)."""
    from leadscore.store.events import migrate_on_open, open_store

    return open_store(_db(url), migrate=migrate_on_open())


@collector_app.callback()
def serve(
    ctx: typer.Context,
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (0.0.0.0 inside a pod)."),
    port: int = typer.Option(8090, "--port", min=1, max=65535, help="HTTP port."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
) -> None:
    """Run the collector's HTTP API (migrates the event store first, unless $LEADSCORE_DB_MIGRATE=false)."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = db  # `leadscore collector --db URL export ...` means the same store
        return
    import uvicorn

    from leadscore.collector.app import create_app
    from leadscore.collector.auth import Gate
    from leadscore.collector.privacy import Privacy
    from leadscore.logs import json_wanted, uvicorn_log_config
    from leadscore.tracing import configure_tracing, instrument_app

    privacy = Privacy.from_env()  # refuse a bad rule or token before listening
    gate = Gate.from_env()
    traced = configure_tracing("leadscore-collector")  # OTEL_* variables; off by default
    store = _open(db)
    from uvicorn.config import LOGGING_CONFIG

    log_config = uvicorn_log_config() if json_wanted() else LOGGING_CONFIG  # LEADSCORE_LOG_FORMAT=json
    try:
        app = create_app(store, privacy, gate)
        if traced:
            instrument_app(app)
        uvicorn.run(app, host=host, port=port, log_level=log_level, log_config=log_config)
    finally:
        store.dispose()


@collector_app.command("export", epilog=example(
    "leadscore collector export --since 180d --namespace sales --model pc-leads --output training.parquet"))
def export(
    ctx: typer.Context,
    since: str = typer.Option(
        ..., "--since", help="Include predictions made at or after this date/time (UTC), or this long ago (180d)."
    ),
    output: str = typer.Option(..., "--output", help="Parquet file to write: a path or an s3:// URI."),
    namespace: str = typer.Option(..., "--namespace", help="Only leads scored in this namespace (one team's)."),
    model: str | None = typer.Option(None, "--model", help="Only leads this model (LeadScoringModel) scored."),
    vertical: Vertical | None = typer.Option(
        None, "--vertical", help="Only leads scored by model versions trained for this vertical, as their "
                                 "model cards say."),
    artifact_root: str | None = typer.Option(
        None, "--artifact-root", envvar="LEADSCORE_ARTIFACT_ROOT",
        help="Where versions live (<root>/<namespace>/<model>/<version>/), for --vertical; the operator's setting."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """Join one namespace's predictions with its outcomes into a Parquet training set for `leadscore train`."""
    from leadscore.collector.export import export_training_set
    from leadscore.collector.privacy import Privacy

    start = parse_time(since, "--since")
    privacy = Privacy.from_env()
    store = _open(db or ctx.obj)
    try:
        report = export_training_set(store, start, output, namespace, model, privacy, vertical, artifact_root)
    finally:
        store.dispose()
    typer.echo(
        f"wrote {report.rows} leads ({report.converted} converted) to {report.output}; "
        f"left out {report.without_outcome} without outcome, {report.without_features} without features"
        + (f", the leads of {', '.join(report.other_vertical)} (another vertical or no model card)"
           if report.other_vertical else "")
    )


@collector_app.command("prune", epilog=example("leadscore collector prune --older-than-days 7"))
def prune(
    ctx: typer.Context,
    older_than_days: float = typer.Option(
        7.0, "--older-than-days", min=0.0, help="Forget unanswered requests logged longer ago than this."
    ),
    retention_days: float | None = typer.Option(
        None, "--retention-days", min=1.0,
        help="Also forget predictions made, outcomes and feedback that occurred and events logged longer ago than this "
             "(personal data is kept no longer than needed: docs/security.md).",
    ),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """Delete logged requests whose response never came (refused by the predictor), and with
    --retention-days everything older than the retention period; run it daily."""
    from leadscore.store.events import prune_older_than, prune_unanswered

    now = datetime.now(UTC)
    cutoff = now - timedelta(days=older_than_days)
    store = _open(db or ctx.obj)
    try:
        with store.transaction() as session:
            removed = prune_unanswered(session, cutoff)
            expired = prune_older_than(session, now - timedelta(days=retention_days)) if retention_days else None
    finally:
        store.dispose()
    typer.echo(f"removed {removed} unanswered requests logged before {cutoff.isoformat(timespec='seconds')}")
    if expired is not None and retention_days is not None:
        typer.echo(f"removed {expired.predictions} predictions, {expired.outcomes} outcomes, {expired.feedback} "
                   f"feedback and {expired.events} logged events older than {retention_days:g} days")


@collector_app.command("migrate", epilog=example(
    "leadscore collector migrate --db postgresql+psycopg://user:pw@db:5432/leadscore"))
def migrate(ctx: typer.Context, db: str | None = typer.Option(None, "--db", help=_DB_HELP)) -> None:
    """Upgrade the event store's schema to this version's head and exit (the chart's migration hook)."""
    from leadscore.store.events import open_store

    store = open_store(_db(db or ctx.obj), migrate=True)
    store.dispose()
    typer.echo("event store schema is at head")


def register(app: typer.Typer) -> None:
    app.add_typer(collector_app)
