"""``python -m leadscore.predictor``: the entrypoint the ClusterServingRuntime runs.

It speaks KServe's standard flags (``--model_name``, ``--model_dir``, ``--http_port``,
``--grpc_port``, ``--workers`` ...), extended with ours. Arguments are parsed inside
``main(argv)``, never at import time, so tests import this module freely.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from kserve.errors import ModelMissingError

from leadscore.errors import LeadscoreError, StorageError


def build_parser() -> argparse.ArgumentParser:
    from leadscore.predictor.server import kserve_parser

    parser = argparse.ArgumentParser(
        prog="python -m leadscore.predictor",
        parents=[kserve_parser()],
        description="Serve a leadscore model with KServe's ModelServer.",
    )
    parser.add_argument(
        "--model_dir",
        default="/mnt/models",
        help="Artifact directory or s3:// prefix (KServe mounts storageUri at /mnt/models).",
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="Address to listen on (HTTP and gRPC); the image and the ServingRuntime pass 0.0.0.0.")
    parser.add_argument(
        "--strict",
        action="store_true",
        default=None,
        help="Refuse unknown fields instead of ignoring them (env LEADSCORE_STRICT).",
    )
    parser.add_argument("--max_batch", type=int, default=None, help="Most leads per request (env LEADSCORE_MAX_BATCH).")
    parser.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default=None,
        help="onnxruntime device; auto uses CUDA when available (env LEADSCORE_DEVICE).",
    )
    parser.add_argument("--access_log", action="store_true", help="Log every request (slower).")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, load the model (failing loudly on a bad artifact) and serve until stopped."""
    from leadscore.predictor.config import settings_from
    from leadscore.predictor.guards import guards_from
    from leadscore.predictor.model import LeadScoreModel
    from leadscore.predictor.server import configure_observability, serve

    args = build_parser().parse_args(list(argv) if argv is not None else None)
    try:
        configure_observability()  # JSON logs and tracing from the first line (LEADSCORE_LOG_FORMAT, OTEL_*)
        settings = settings_from(
            name=args.model_name,
            model_uri=args.model_dir,
            strict=args.strict,
            max_batch=args.max_batch,
            device=args.device,
        )
        model = LeadScoreModel(settings.name, settings)
        model.load()
        serve(
            [model],
            host=args.host,
            http_port=args.http_port,
            grpc_port=args.grpc_port,
            workers=args.workers,
            enable_grpc=args.enable_grpc,
            access_log=args.access_log,
            guards=guards_from(),
        )
    except LeadscoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ModelMissingError as exc:
        print(f"error: the artifact is incomplete, {exc} is missing", file=sys.stderr)
        return StorageError.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
