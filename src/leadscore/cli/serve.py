"""``leadscore serve``: score leads over KServe's V1/V2 HTTP and gRPC on this machine."""

from __future__ import annotations

import typer

from leadscore.api.wire import Device
from leadscore.cli.help import example


def register(app: typer.Typer) -> None:
    """Attach ``serve`` to the root CLI."""

    @app.command(epilog=example("leadscore serve --model s3://models/sales/pc/v3/ --name pc-leads",
                                "leadscore serve --model models/v1 --strict --max-batch 5000 --http-port 9000"))
    def serve(
        model: str = typer.Option(..., "--model", help="Artifact directory or s3:// prefix of a trained version."),
        name: str = typer.Option("leadscore", "--name", help="Model name in the URL: /v1/models/NAME:predict."),
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; 0.0.0.0 for every interface."),
        http_port: int = typer.Option(8080, "--http-port", min=1, max=65535, help="REST port (V1 and V2)."),
        grpc_port: int = typer.Option(8081, "--grpc-port", min=1, max=65535, help="gRPC port (V2)."),
        workers: int = typer.Option(1, "--workers", min=1, help="REST worker processes (each loads the model)."),
        strict: bool | None = typer.Option(
            None, "--strict/--lenient", help="Refuse unknown fields (default: ignore them)."
        ),
        max_batch: int | None = typer.Option(None, "--max-batch", min=1, help="Most leads in one request [10000]."),
        device: Device | None = typer.Option(None, "--device", help="auto (CUDA when available), cpu or cuda [auto]."),
        access_log: bool = typer.Option(False, "--access-log", help="Log every request (slower)."),
    ) -> None:
        """Serve a model with KServe's ModelServer until interrupted.

        A/B arms, tier overrides and the rest come from LEADSCORE_* variables (docs/predictor.md);
        JSON logs and tracing from LEADSCORE_LOG_FORMAT and OTEL_* (docs/monitoring.md).
        """
        from leadscore.predictor.config import settings_from
        from leadscore.predictor.guards import guards_from
        from leadscore.predictor.model import LeadScoreModel
        from leadscore.predictor.server import configure_observability
        from leadscore.predictor.server import serve as run_server

        configure_observability()
        settings = settings_from(name=name, model_uri=model, strict=strict, max_batch=max_batch, device=device)
        guards = guards_from()
        predictor = LeadScoreModel(settings.name, settings)
        predictor.load()
        typer.echo(
            f"serving {settings.name} ({', '.join(a.version for a in predictor.arms)}) on "
            f"http://{host}:{http_port} and grpc {host}:{grpc_port}",
            err=True,
        )
        run_server(
            [predictor],
            host=host,
            http_port=http_port,
            grpc_port=grpc_port,
            workers=workers,
            access_log=access_log,
            guards=guards,
        )
