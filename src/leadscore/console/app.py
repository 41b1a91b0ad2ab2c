"""The console's pages and actions (FastAPI, server-rendered Jinja, plotly.js from the package).

Every request re-checks the session's token with a TokenReview; a page lists only what the
user may ``get``/``list`` (SubjectAccessReview per namespace), and every action runs its own
SubjectAccessReview first (``leadscore.console.actions``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any, TypeVar

import jinja2
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from kubernetes import client

from leadscore.auth import User, review_access, review_token
from leadscore.console import actions, glossary, session, views
from leadscore.console.sources import EXPERIMENTS, GROUP, MODELS, CollectorRefusedError, Sources
from leadscore.experiments.formatting import percent

SESSION_SECONDS = 8 * 3600
T = TypeVar("T")
PLOTLY_FILE, PLOTLY_LICENSE_FILE = "plotly.min.js", "plotly-LICENSE.txt"
PLOTLY_PATH, PLOTLY_LICENSE_PATH = f"/static/{PLOTLY_FILE}", f"/static/{PLOTLY_LICENSE_FILE}"


@cache
def plotly_js() -> bytes:
    """plotly.js as the installed plotly package ships it (MIT; no CDN)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode()


@cache
def plotly_license() -> str:
    """The license file the plotly distribution ships (its own header in plotly.min.js says MIT too)."""
    from importlib import metadata

    return metadata.distribution("plotly").read_text("licenses/LICENSE.txt") or "MIT (see plotly.min.js)"


def configure(env: jinja2.Environment) -> None:
    """The filters and help texts every page's template uses (live console and static snapshot)."""
    env.filters["pct"] = lambda v, digits=2: percent(v, digits=digits)
    env.filters["tojson_safe"] = json_for_script
    env.globals["glossary"] = glossary


def collector_read(read: Callable[[], T]) -> tuple[T | None, str | None]:
    """``read()``, or None and the collector's reason when it refused the user's token or right."""
    try:
        return read(), None
    except CollectorRefusedError as error:
        return None, str(error)


def json_for_script(value: Any) -> str:
    """JSON for a <script type="application/json"> block: non-finite numbers become null."""
    def clean(item: Any) -> Any:
        if isinstance(item, float) and not math.isfinite(item):
            return None
        if isinstance(item, dict):
            return {k: clean(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [clean(v) for v in item]
        return item
    return json.dumps(clean(value)).replace("</", "<\\/")


class Console:
    def __init__(self, api: client.ApiClient, sources: Sources, secret: str, secure_cookie: bool) -> None:
        self.api, self.sources, self.secret, self.secure_cookie = api, sources, secret, secure_cookie

    def user(self, request: Request) -> tuple[User, str] | None:
        token = session.unseal(self.secret, request.cookies.get(session.COOKIE), SESSION_SECONDS)
        if token is None:
            return None
        user = review_token(self.api, token)
        return (user, token) if user else None

    def may(self, user: User, verb: str, resource: str, namespace: str, name: str | None = None) -> bool:
        return review_access(self.api, user, verb, GROUP, resource, namespace, name).allowed


def create_app(api: client.ApiClient, sources: Sources, secret: str, *, secure_cookie: bool = True) -> FastAPI:
    console = Console(api, sources, secret, secure_cookie)
    app = FastAPI(title="leadscore console", docs_url=None, redoc_url=None, openapi_url=None)
    directory = resources.files("leadscore.console").joinpath("templates")
    templates = Jinja2Templates(directory=str(directory))
    configure(templates.env)

    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"static": "/static", **context}, status_code=status_code)

    def login_redirect() -> RedirectResponse:
        return RedirectResponse("/login", status_code=303)

    @app.middleware("http")
    async def server_timing(request: Request, call_next: Any) -> Response:
        """Server-Timing: how long the page took here (reads and rendering), for browsers and the benchmark."""
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(PLOTLY_PATH)
    def plotly() -> Response:
        return Response(plotly_js(), media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})

    @app.get(PLOTLY_LICENSE_PATH)
    def plotly_license_text() -> Response:
        return Response(plotly_license(), media_type="text/plain")

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> HTMLResponse:
        return page(request, "login.html", error=None)

    @app.post("/login", response_class=HTMLResponse)
    def login(request: Request, token: str = Form("")) -> Response:
        user = review_token(api, token) if token.strip() else None
        if user is None:
            return page(request, "login.html", status_code=401,
                        error="The Kubernetes API server did not accept this token (expired, revoked or "
                              "mistyped). Create one with `kubectl create token <serviceaccount>` or copy "
                              "your own from your kubeconfig.")
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(session.COOKIE, session.seal(secret, token.strip()), max_age=SESSION_SECONDS,
                            httponly=True, samesite="strict", secure=secure_cookie)
        return response

    @app.post("/logout")
    def logout() -> Response:
        response = login_redirect()
        response.delete_cookie(session.COOKIE)
        return response

    @app.get("/", response_class=HTMLResponse)
    def models(request: Request) -> Response:
        signed = console.user(request)
        if signed is None:
            return login_redirect()
        user, token = signed
        allowed: dict[str, bool] = {}
        rows = []
        for model in sources.models():
            namespace = model["metadata"]["namespace"]
            if namespace not in allowed:
                allowed[namespace] = console.may(user, "list", MODELS, namespace)
            if allowed[namespace]:
                rows.append(model)
        rows.sort(key=lambda m: (m["metadata"]["namespace"], m["metadata"]["name"]))
        return page(request, "models.html", user=user, csrf=session.csrf_token(secret, token), models=rows)

    def signed_in(request: Request, render: Any, namespace: str, name: str) -> Response:
        """``render(request, user, token, namespace, name)`` for a signed-in user, else the login page."""
        signed = console.user(request)
        return login_redirect() if signed is None else render(request, *signed, namespace, name)

    @app.get("/models/{namespace}/{name}", response_class=HTMLResponse)
    def model_page(request: Request, namespace: str, name: str) -> Response:
        return signed_in(request, render_model, namespace, name)

    def fetch(request: Request, user: User, plural: str, namespace: str, name: str) -> dict[str, Any] | Response:
        """The object, when the user may get it and it exists; else the page that says which."""
        if not console.may(user, "get", plural, namespace, name):
            return page(request, "refused.html", status_code=403, user=user, csrf="",
                        message=f"{user.username} may not get {plural}.{GROUP} {name} in namespace {namespace}.")
        found = (sources.model if plural == MODELS else sources.experiment)(namespace, name)
        if found is None:
            return page(request, "refused.html", status_code=404, user=user, csrf="",
                        message=f"No {plural}.{GROUP} {name} in namespace {namespace}.")
        return found

    def render_model(request: Request, user: User, token: str, namespace: str, name: str,
                     message: str | None = None, refused: bool = False) -> Response:
        model = fetch(request, user, MODELS, namespace, name)
        if isinstance(model, Response):
            return model
        tiers, refused_by_collector = collector_read(lambda: sources.tiers(namespace, name, token))
        view = views.model_view(model, sources.card, tiers)
        can_patch = console.may(user, "patch", MODELS, namespace, name)
        experiments = [e for e in sources.experiments(namespace) if e["spec"].get("modelRef") == name] \
            if console.may(user, "list", EXPERIMENTS, namespace) else []
        return page(request, "model.html", status_code=403 if refused else 200, user=user,
                    refused_by_collector=refused_by_collector,
                    csrf=session.csrf_token(secret, token), **view, can_patch=can_patch, experiments=experiments,
                    message=message, refused=refused,
                    why_disabled=f"{user.username} may not {actions.PATCH_MODELS.describe(namespace)}")

    def act(request: Request, plural: str, namespace: str, name: str, csrf: str, run: Any) -> Response:
        """CSRF check, the object, ``run(user, obj)``, then its page with the outcome."""
        signed = console.user(request)
        if signed is None:
            return login_redirect()
        user, token = signed
        if not session.csrf_ok(secret, token, csrf):
            return page(request, "refused.html", status_code=403, user=user, csrf="",
                        message="The form's security token did not match this session (CSRF check). "
                                "Reload the page and try again.")
        obj = fetch(request, user, plural, namespace, name)
        if isinstance(obj, Response):
            return obj
        try:
            outcome = run(user, obj)
        except ValueError as error:
            outcome = actions.Outcome(done=False, message=f"Refused: {error}.")
        render = render_model if plural == MODELS else render_experiment
        return render(request, user, token, namespace, name, message=outcome.message, refused=not outcome.done)

    @app.post("/models/{namespace}/{name}/rollback", response_class=HTMLResponse)
    def rollback(request: Request, namespace: str, name: str, version: str = Form(""),
                 csrf: str = Form("")) -> Response:
        pin = version or None
        def run(user: User, model: dict[str, Any]) -> actions.Outcome:
            patch = actions.rollback_patch(model, pin)
            text = f"Pinned {pin}: it serves until un-pinned" if pin else "Un-pinned: the active version serves"
            return actions.apply(api, user, model, actions.PATCH_MODELS, patch, "Rollback" if pin else "Unpin", text)
        return act(request, MODELS, namespace, name, csrf, run)

    @app.post("/models/{namespace}/{name}/retrain", response_class=HTMLResponse)
    def retrain(request: Request, namespace: str, name: str, csrf: str = Form("")) -> Response:
        def run(user: User, model: dict[str, Any]) -> actions.Outcome:
            return actions.apply(api, user, model, actions.PATCH_MODELS, actions.retrain_patch(datetime.now(UTC)),
                                 "RetrainRequested", "Retraining requested: the operator starts a training Job")
        return act(request, MODELS, namespace, name, csrf, run)

    def render_experiment(request: Request, user: User, token: str, namespace: str, name: str,
                          message: str | None = None, refused: bool = False) -> Response:
        experiment = fetch(request, user, EXPERIMENTS, namespace, name)
        if isinstance(experiment, Response):
            return experiment
        summary, refused_by_collector = collector_read(lambda: sources.summary(namespace, name, token))
        view = views.experiment_view(experiment, summary, views.elapsed_since_start(experiment))
        return page(request, "experiment.html", status_code=403 if refused else 200, user=user,
                    refused_by_collector=refused_by_collector,
                    csrf=session.csrf_token(secret, token), **view, message=message, refused=refused,
                    can_stop=console.may(user, "patch", EXPERIMENTS, namespace, name),
                    why_disabled=f"{user.username} may not {actions.PATCH_EXPERIMENTS.describe(namespace)}")

    @app.get("/experiments/{namespace}/{name}", response_class=HTMLResponse)
    def experiment_page(request: Request, namespace: str, name: str) -> Response:
        return signed_in(request, render_experiment, namespace, name)

    @app.post("/experiments/{namespace}/{name}/stop", response_class=HTMLResponse)
    def stop(request: Request, namespace: str, name: str, csrf: str = Form("")) -> Response:
        def run(user: User, experiment: dict[str, Any]) -> actions.Outcome:
            return actions.apply(api, user, experiment, actions.PATCH_EXPERIMENTS, actions.stop_patch(experiment),
                                 "StopRequested", "Stop requested: the operator ends the experiment, "
                                 "promotes nothing and gives the model's traffic back")
        return act(request, EXPERIMENTS, namespace, name, csrf, run)

    @app.get("/leads", response_class=HTMLResponse)
    def lead_page(request: Request, lead_id: str = "", namespace: str = "") -> Response:
        signed = console.user(request)
        if signed is None:
            return login_redirect()
        user, token = signed
        namespace = namespace.strip()
        history, refused = None, None
        if lead_id.strip() and namespace and not console.may(user, "get", MODELS, namespace):
            refused = f"{user.username} may not get {MODELS}.{GROUP} in namespace {namespace!r}"
        elif lead_id.strip() and namespace:
            try:
                history = sources.lead(namespace, lead_id.strip(), token)
            except CollectorRefusedError as error:
                refused = str(error)
        return page(request, "lead.html", user=user, csrf=session.csrf_token(secret, token),
                    lead_id=lead_id, namespace=namespace, history=history, refused=refused)

    return app
