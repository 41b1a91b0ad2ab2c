"""``leadscore operator``: generate the CRDs, run the kopf operator."""

from __future__ import annotations

from pathlib import Path

import typer

from leadscore.cli.help import example

operator_app = typer.Typer(help="The Kubernetes operator: CRDs and the reconcile loop.", no_args_is_help=True)


@operator_app.command("crds", epilog=example(
    "leadscore operator crds --output crds --chart charts/leadscore/templates"))
def crds(
    output: Path = typer.Option(Path("crds"), "--output", help="Folder for the generated CRD YAML."),
    chart: Path | None = typer.Option(
        None, "--chart", help="Also write Helm templates (crd-*.yaml) into this folder, e.g. "
                              "charts/leadscore/templates; written only when given."),
) -> None:
    """Write the CRDs generated from leadscore.api (what `make crds` runs)."""
    from leadscore.api.crd import rendered_files

    targets = [(output, rendered_files())]
    if chart is not None:
        targets.append((chart, rendered_files(chart=True)))
    for folder, files in targets:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(text)
            typer.echo(f"wrote {folder / name}")


@operator_app.command("run", epilog=example("leadscore operator run --namespace sales"))
def run(
    namespace: list[str] = typer.Option(
        [], "--namespace", "-n", help="Watch only these namespaces (repeatable; globs allowed); "
                                      "default: the whole cluster."),
    peering: str | None = typer.Option(
        None, "--peering", help="kopf peering name: replicas sharing it elect one active operator. "
                                "Needs the kopf.dev peering CRDs. Default: standalone."),
    liveness: str | None = typer.Option(
        None, "--liveness", help="Serve kopf's liveness probe, e.g. http://0.0.0.0:8080/healthz."),
    verbose: bool = typer.Option(False, "--verbose", help="Debug logging."),
) -> None:
    """Run the operator (kopf) with leadscore's handlers until interrupted."""
    from leadscore.operator.main import run_operator

    run_operator(namespaces=namespace, peering=peering, liveness=liveness, verbose=verbose)


def register(app: typer.Typer) -> None:
    app.add_typer(operator_app, name="operator")
