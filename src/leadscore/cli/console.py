"""``leadscore console``: the insights console (web pages for sales operations)."""

from __future__ import annotations

from typing import Annotated, ClassVar

import typer
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from leadscore.cli.help import example
from leadscore.errors import ConfigError
from leadscore.settings import EnvSettings, secret_of_at_least


class ConsoleSettings(EnvSettings):
    """``LEADSCORE_CONSOLE_SECRET``: the key that signs the login cookie."""

    model_config = SettingsConfigDict(env_prefix="LEADSCORE_CONSOLE_")
    secrets: ClassVar[frozenset[str]] = frozenset({"secret"})

    secret: Annotated[SecretStr, secret_of_at_least(32)] = Field(
        description="A random secret of at least 32 characters.")


def console(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (0.0.0.0 inside a pod)."),
    port: int = typer.Option(8095, "--port", min=1, max=65535, help="HTTP port."),
    collector: str | None = typer.Option(
        None, "--collector", envvar="LEADSCORE_COLLECTOR_URL",
        help="Collector base URL for experiment summaries and lead history, e.g. http://leadscore-collector:8090."),
    insecure_cookie: bool = typer.Option(
        False, "--insecure-cookie", help="Send the login cookie over plain HTTP too (local use only; "
                                         "behind TLS leave it off)."),
    summary_seconds: float = typer.Option(
        30.0, "--summary-cache-seconds", min=0,
        help="Reuse a collector summary (experiment, tiers) this long; the collector aggregates per request."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve the console. Kubernetes credentials: in-cluster, else $KUBECONFIG; the cookie-signing
    secret comes from $LEADSCORE_CONSOLE_SECRET (at least 32 characters)."""
    try:
        secret = ConsoleSettings.from_env().secret.get_secret_value()
    except ConfigError as exc:
        raise ConfigError(f"{exc}; it signs the login cookie: set a random one (e.g. `openssl rand -hex 32`)") from None
    import uvicorn

    from leadscore.console.app import create_app
    from leadscore.console.sources import Sources
    from leadscore.operator.kube import load_api_client

    api = load_api_client()
    sources = Sources(api, collector, summary_seconds=summary_seconds)
    app = create_app(api, sources, secret, secure_cookie=not insecure_cookie)
    uvicorn.run(app, host=host, port=port, log_level=log_level)


def register(app: typer.Typer) -> None:
    app.command("console", epilog=example(
        "leadscore console --collector http://leadscore-collector:8090 --port 8095"))(console)
