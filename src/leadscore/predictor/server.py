"""Start KServe's own ModelServer, bound where we are told and quiet on the hot path.

We write no HTTP or gRPC code: KServe's ModelServer owns the V1/V2 REST routes, the gRPC
servicer, health, metadata and ``/metrics``. Two things are adjusted, and only these:

* the bind address. KServe hard-codes ``0.0.0.0`` (REST) and ``[::]`` (gRPC); a pod needs
  that, but tests and benchmarks must listen on 127.0.0.1 only. The REST address is set on
  uvicorn's config before it binds; the gRPC server is started by :class:`BoundGRPCServer`,
  which builds KServe's servicer and error interceptor exactly as KServe does, on our host.
* per-request logging. KServe logs every gRPC call, every request's stage timings (through
  a middleware that re-matches the route table on every request) and an access line; at a
  thousand requests a second that is a large share of a request, so all of it is off unless
  ``--access-log`` is given. Errors are still logged, and the Prometheus stage histograms
  are untouched.

A third adjustment serves speed: plain JSON V1 bodies reach the model unparsed, so that it can
decode and type-check them in one pass in C (``leadscore.predictor.typed``); every other body is
decoded by KServe as before, and a body the fast path does not accept is parsed exactly as KServe
parses it.

KServe 0.21 has no public hook for any of these (``ModelServer`` takes no host; its REST server
adds the middleware itself), so both go through ``ModelServer._serve`` and the REST server's
members. That is why pyproject.toml pins ``kserve`` to the tested minor release (0.21).

Two optional extras hook into the app KServe builds: JSON logs and OpenTelemetry server spans
(:func:`configure_observability`, docs/monitoring.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent import futures
from functools import partial
from types import ModuleType
from typing import Any

from leadscore.auth.ratelimit import RateLimitedError
from leadscore.errors import ConfigError
from leadscore.predictor.guards import (
    AllModelsReady,
    GuardedRepository,
    RateLimit,
    RepositoryApiDisabledError,
    RequestLimits,
    ServerGuards,
    admit_client,
    log_refusal,
    peer_host,
    retry_after_seconds,
)
from leadscore.predictor.typed import raw_v1_decode
from leadscore.tracing import configure_tracing, instrument_app

TRACING_SERVICE = "leadscore-predictor"


def _kserve_modules() -> tuple[ModuleType, ModuleType]:
    """Import KServe with a clean ``sys.argv``.

    ``kserve.model_server`` parses ``sys.argv`` at import time (``parse_known_args``), and
    argparse's prefix matching would read our ``--model`` as its ``--model_name``.
    """
    import sys

    saved = sys.argv
    sys.argv = saved[:1]
    try:
        import kserve.model_server as model_server
        from kserve.protocol.grpc import server as grpc_server
    finally:
        sys.argv = saved
    return model_server, grpc_server


def kserve_parser() -> Any:
    """KServe's shared argument parser (``--model_name``, ``--http_port``, ...), for ``parents=``."""
    model_server, _ = _kserve_modules()
    return model_server.parser


def _no_middlewares(app: Any) -> None:
    """In place of KServe's only middleware, which matches every route again per request just
    to name a log line with its timings (module-level, so spawned workers can unpickle it)."""


async def _refused_request(request: Any, exc: Exception) -> Any:
    """400 with the one-line message, logged as one line without the caller's values."""
    from fastapi.responses import JSONResponse

    log_refusal("http", exc)
    return JSONResponse(status_code=400, content={"error": str(getattr(exc, "reason", None) or exc)})


async def _unparseable_request(request: Any, exc: Exception) -> Any:
    """FastAPI's own body validation: 400 naming the fields, without echoing the body back."""
    from fastapi.responses import JSONResponse

    errors: list[dict[str, Any]] = getattr(exc, "errors", list)()
    where = "; ".join(".".join(str(p) for p in e.get("loc", ())) + f": {e.get('msg', '')}" for e in errors[:5])
    log_refusal("http", exc)
    return JSONResponse(status_code=400, content={"error": f"malformed request: {where}"[:500]})


async def _repository_refused(request: Any, exc: Exception) -> Any:
    from fastapi.responses import JSONResponse

    log_refusal("http", exc)
    return JSONResponse(status_code=403, content={"error": str(exc)})


def _guarded_handlers(add_handlers: Callable[[Any], None], app: Any) -> None:
    """KServe's exception handlers, then ours over them for refusals."""
    from fastapi.exceptions import RequestValidationError
    from kserve.errors import InvalidInput

    add_handlers(app)
    app.add_exception_handler(InvalidInput, _refused_request)
    app.add_exception_handler(RequestValidationError, _unparseable_request)
    app.add_exception_handler(RepositoryApiDisabledError, _repository_refused)


def _guarded_middlewares(add_middlewares: Callable[[Any], None], guards: ServerGuards, app: Any) -> None:
    """Runs in every process that builds the REST app (each ``--workers`` process is a fresh
    spawn), so the logging and tracing set-up is applied here too."""
    traced = configure_observability()
    add_middlewares(app)
    app.add_middleware(RequestLimits, max_bytes=guards.max_body_bytes)
    if guards.rate_limit is not None:
        app.add_middleware(RateLimit, guards=guards)  # added last, so it runs first: a refused client costs nothing
    if traced:
        instrument_app(app)  # wraps the whole stack: refused requests get a span too


def configure_observability() -> bool:
    """JSON logs (``LEADSCORE_LOG_FORMAT=json``: KServe's own logging configuration with JSON
    formatters, which ModelServer then keeps) and tracing (the OTEL_* variables, leadscore.tracing;
    True when on). A bad tracing setting raises ConfigError before the model loads."""
    from leadscore.logs import JsonFormatter, json_log_config, json_wanted

    configured = any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger("kserve").handlers)
    if json_wanted() and not configured:  # once per process: the levels set since then stay
        _kserve_modules()
        from kserve.logging import KSERVE_LOG_CONFIG, configure_logging

        # the root logger (our leadscore.predictor warnings) through KServe's stderr handler
        configure_logging(json_log_config(KSERVE_LOG_CONFIG, root_handler="kserve"))
    return configure_tracing(TRACING_SERVICE)


def _with_model_info(register: Callable[[Any], None], dataplane: Any, app: Any) -> None:
    """KServe's routes, then ``GET /v1/models/{name}/info``: the model's ``info()`` (served
    versions, when each went live, the tier cut-offs in force); 404 for an unknown model."""
    register(app)

    async def model_info(model_name: str) -> dict[str, Any]:
        return dict(dataplane.get_model_from_registry(model_name).info())

    app.add_api_route("/v1/models/{model_name}/info", model_info, methods=["GET"])


def _guard_rest(rest: Any, guards: ServerGuards, access_log: bool) -> None:
    """Our handlers over KServe's, the body limit and the model-info route (partials of
    module-level functions, so spawned ``--workers`` processes can unpickle them)."""
    rest._register_endpoints = partial(_with_model_info, rest._register_endpoints, rest.dataplane)
    add_middlewares = rest._add_middlewares if access_log else _no_middlewares
    rest._add_exception_handlers = partial(_guarded_handlers, rest._add_exception_handlers)
    rest._add_middlewares = partial(_guarded_middlewares, add_middlewares, guards)


def _grpc_client(context: Any, header: str | None) -> str:
    """Who a gRPC call counts against: the ``header`` metadata when set and sent, else the peer's host."""
    if header:
        for key, value in context.invocation_metadata() or ():
            if key == header and str(value).strip():
                return str(value).strip()
    return peer_host(context.peer() or "unknown")


def quiet_hot_path_logging() -> None:
    """Silence the per-request info lines; warnings and errors still get through."""
    logging.getLogger("kserve.trace").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


def serve(
    models: list[Any],
    *,
    host: str = "127.0.0.1",
    http_port: int = 8080,
    grpc_port: int = 8081,
    workers: int = 1,
    enable_grpc: bool = True,
    access_log: bool = False,
    guards: ServerGuards | None = None,
) -> None:
    """Register ``models`` (already loaded) and serve them until SIGTERM/SIGINT."""
    from grpc import StatusCode
    from kserve.errors import InvalidInput

    limits = guards or ServerGuards()  # one name the nested classes see as never None
    model_server, grpc_server = _kserve_modules()
    # KServe ships no type hints: its classes are Any to mypy, named here so they can be bases
    interceptor_base: Any = grpc_server.ExceptionToStatusInterceptor
    servicer_base: Any = grpc_server.InferenceServicer
    grpc_server_base: Any = grpc_server.GRPCServer
    model_server_base: Any = model_server.ModelServer
    if http_port == grpc_port:
        raise ConfigError(f"--http-port and --grpc-port must differ, both are {http_port}")

    class GuardedInterceptor(interceptor_base):
        """KServe's error mapping, with one-line refusals and the repository API refused."""

        async def handle_exception(self, ex: Exception, request_or_iterator: Any, context: Any, method: str) -> None:
            if isinstance(ex, RateLimitedError):
                await context.abort(StatusCode.RESOURCE_EXHAUSTED, str(ex),
                                    trailing_metadata=(("retry-after", retry_after_seconds(ex)),))
            elif isinstance(ex, RepositoryApiDisabledError):
                log_refusal("grpc", ex)
                await context.abort(StatusCode.PERMISSION_DENIED, ex.reason)
            elif isinstance(ex, InvalidInput):
                log_refusal("grpc", ex)
                await context.abort(StatusCode.INVALID_ARGUMENT, ex.reason)
            else:
                await super().handle_exception(ex, request_or_iterator, context, method)

    class LimitedServicer(servicer_base):
        """KServe's servicer; each client's ModelInfer calls go through the rate limit first."""

        async def ModelInfer(self, request: Any, context: Any) -> Any:  # noqa: N802 (gRPC's name)
            admit_client(limits, _grpc_client(context, limits.rate_client_header))
            return await super().ModelInfer(request, context)

    class BoundGRPCServer(grpc_server_base):
        """KServe's gRPC server, listening on ``host`` and without the per-call log line."""

        async def start(self, max_workers: int) -> None:
            from grpc import aio

            servicer = LimitedServicer(self._data_plane, self._model_repository_extension)
            interceptors = [GuardedInterceptor()]
            if access_log:
                interceptors.insert(0, grpc_server.LoggingInterceptor())
            self._server = aio.server(
                futures.ThreadPoolExecutor(max_workers=max_workers),
                interceptors=interceptors,
                options=[
                    ("grpc.max_send_message_length", self._kwargs.get("grpc_max_send_message_length")),
                    ("grpc.max_receive_message_length", limits.max_body_bytes),
                ],
            )
            grpc_server.grpc_predict_v2_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(servicer, self._server)
            address = f"[{host}]:{self._port}" if ":" in host else f"{host}:{self._port}"
            if self._server.add_insecure_port(address) == 0:
                raise ConfigError(f"cannot listen for gRPC on {address}")
            await self._server.start()
            await self._server.wait_for_termination()

    class BoundModelServer(model_server_base):
        """ModelServer whose REST and gRPC listeners bind to ``host``."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.model_repository_extension = GuardedRepository(self.registered_models, limits.model_repository_api)
            self.dataplane.ready = AllModelsReady(self.registered_models)
            self.dataplane.decode = partial(raw_v1_decode, self.dataplane.decode)

        async def _serve(self) -> None:
            rest = self._rest_server or getattr(self._rest_multiprocess_server, "_rest_server", None)
            if rest is not None:
                rest.config.host = host
                rest.config.access_log = access_log
                _guard_rest(rest, limits, access_log)
            if enable_grpc:
                self._grpc_server = BoundGRPCServer(
                    grpc_port,
                    self.dataplane,
                    self.model_repository_extension,
                    kwargs=vars(model_server.args),
                    grace_period=self.grace_period,
                )
                self.servers.append(self._grpc_server.start(self.max_threads))
            await super()._serve()

    server = BoundModelServer(
        http_port=http_port, grpc_port=grpc_port, workers=workers, enable_grpc=False, enable_latency_logging=access_log
    )
    if not access_log:
        quiet_hot_path_logging()
    server.start(models)
