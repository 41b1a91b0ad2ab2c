"""The CloudEvents KServe's inference logger sends, read with the ``cloudevents`` SDK.

Both HTTP modes are accepted: binary (attributes in ``ce-*`` headers, the body is the data:
what KServe's logger sends) and structured (``Content-Type: application/cloudevents+json``,
attributes and ``data`` or ``data_base64`` in one JSON envelope). The SDK (1.x: KServe pins
``<2``) reads either; our own checks run before and after it, so a hostile or malformed event
gets the same 400 naming the attribute as before the SDK:

* the envelope of a structured event is read by our guarded JSON reader first (the SDK's
  ``json.loads`` would turn a deeply nested or huge-number body into a 500);
* ``id``, ``source``, ``type`` and ``specversion`` must be *sent*: the SDK's ``CloudEvent``
  invents an ``id`` (a fresh UUID, which would silently break the pairing of the two halves)
  and a ``time`` (its own clock) when they are absent, so presence is checked on what was sent
  and an invented ``time`` is dropped;
* binary values are percent-decoded as the HTTP binding (1.0.2) prescribes (the SDK 1.x does not);
* the attributes the SDK returns are validated by ``EventContext`` (the types KServe sends,
  ``specversion`` 1.0 only: the SDK also takes 0.3, plausible ``time``, JSON ``metadata``).

KServe's agent (``pkg/logger``, 0.15 and later) posts each logged request and response as
its own event, with the same ``ce-id`` on both (the caller's ``Ce-Id`` header, else a fresh
UUID), ``ce-type`` ``org.kubeflow.serving.inference.request`` or ``.response``, and the
extensions ``ce-inferenceservicename``, ``ce-namespace``, ``ce-component``, ``ce-endpoint``,
``ce-metadata`` (JSON of the request headers listed in the ISVC's ``logger.metadataHeaders``)
and ``ce-annotations`` (JSON of the ISVC annotations listed in ``logger.metadataAnnotations``).

Which experiment a prediction belongs to, first match wins (docs/collector.md says the same):

1. a ``ce-experiment`` extension (senders other than KServe can set it directly);
2. the ISVC annotation ``leadscoring.io/experiment``, forwarded by KServe when
   ``logger.metadataAnnotations`` lists it (what the operator sets during an A/B test);
3. the inference service's name, when the predictor's response names an ``arm`` but
   nothing above names the experiment.

The arm is the response's ``arm``; without one, a prediction inside an experiment is
``treatment`` when logged by the ``canary`` endpoint (KServe's random split) and ``control``
otherwise. Outside any experiment both are empty.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import unquote

import pydantic
from cloudevents.exceptions import GenericException
from cloudevents.http import from_http
from pydantic import BaseModel, ConfigDict, Field, field_validator

from leadscore.api.wire import CONTROL, EXPERIMENT_ANNOTATION, TREATMENT
from leadscore.collector.errors import invalid
from leadscore.collector.payloads import load_json
from leadscore.collector.times import plausible_utc
from leadscore.errors import InvalidInputError

REQUEST_TYPE = "org.kubeflow.serving.inference.request"
RESPONSE_TYPE = "org.kubeflow.serving.inference.response"
CANARY_ENDPOINT = "canary"

_HEADER_PREFIX = "ce-"
STRUCTURED_CONTENT_TYPE = "application/cloudevents"
"""The media type that makes an event structured (``application/cloudevents+json``)."""
_SENT = ("id", "source", "type", "specversion")
"""Required attributes that must be sent, never defaulted (see the module docstring)."""
_Name = Annotated[str, Field(min_length=1, max_length=253)]


def logger_headers(
    event_id: str,
    kind: Literal["request", "response"],
    *,
    inference_service: str,
    namespace: str,
    source: str,
    endpoint: str = "default",
    component: str = "predictor",
    experiment: str | None = None,
    annotations: Mapping[str, str] | None = None,
    time: datetime | None = None,
) -> dict[str, str]:
    """The binary-mode headers KServe's logger sends with one logged half (see the module docstring).

    The inverse of :func:`parse_event`, for whatever plays KServe's agent (the demo, the
    end-to-end test), so that they send exactly what the collector reads. ``annotations`` are
    the ISVC annotations the logger forwards (``ce-annotations``, sent when given, even empty);
    ``experiment`` is the direct ``ce-experiment`` extension.
    """
    headers = {
        "ce-id": event_id,
        "ce-type": REQUEST_TYPE if kind == "request" else RESPONSE_TYPE,
        "ce-source": source,
        "ce-specversion": "1.0",
        "ce-inferenceservicename": inference_service,
        "ce-namespace": namespace,
        "ce-component": component,
        "ce-endpoint": endpoint,
        "content-type": "application/json",
    }
    if experiment is not None:
        headers["ce-experiment"] = experiment
    if annotations is not None:
        headers["ce-annotations"] = json.dumps(dict(annotations))
    if time is not None:
        headers["ce-time"] = time.isoformat()
    return headers


class EventContext(BaseModel):
    """The attributes of one logged event that the collector uses."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(min_length=1, max_length=255)
    type: Literal["org.kubeflow.serving.inference.request", "org.kubeflow.serving.inference.response"]
    source: str = Field(min_length=1)
    specversion: Literal["1.0"]
    time: datetime | None = None
    inferenceservicename: _Name
    namespace: _Name
    endpoint: str = ""
    component: str = ""
    experiment: str | None = Field(None, min_length=1, max_length=253)
    metadata: str | None = None
    annotations: str | None = None

    @field_validator("time")
    @classmethod
    def _plausible(cls, value: datetime | None) -> datetime | None:
        """``ce-time`` becomes the prediction's time: 2999 would keep it in every window forever."""
        return None if value is None else plausible_utc(value)

    @property
    def is_request(self) -> bool:
        return self.type == REQUEST_TYPE


def parse_event(headers: Mapping[str, str], body: bytes) -> tuple[EventContext, bytes]:
    """One logged half, binary or structured: its attributes and its data (the JSON the predictor
    received or answered). A missing or malformed attribute names its header (``ce-id``) in
    binary mode, its envelope key (``id``) in structured mode."""
    headers = {name.lower(): value for name, value in headers.items()}
    structured = headers.get("content-type", "").lower().startswith(STRUCTURED_CONTENT_TYPE)
    if structured:
        envelope = load_json(body)  # our guards first: the SDK's own json.loads has none
        if not isinstance(envelope, dict):
            raise InvalidInputError(f"body: expected a CloudEvent JSON object, got {type(envelope).__name__}")
        prefix, sent = "", {str(name).lower() for name in envelope}
    else:
        prefix = _HEADER_PREFIX
        sent = {name[len(prefix):] for name in headers if name.startswith(prefix)}
    missing = [name for name in _SENT if name not in sent]
    if missing:
        raise InvalidInputError("; ".join(f"{prefix}{name}: Field required" for name in missing))
    try:
        event = from_http(headers, body, data_unmarshaller=_as_bytes)
    except GenericException as exc:
        raise InvalidInputError(f"{'body' if structured else 'ce-specversion'}: not a CloudEvent ({exc})") from exc
    attributes = {name: value for name, value in event.get_attributes().items() if name in sent}
    if not structured:
        attributes = {name: unquote(value) if isinstance(value, str) else value for name, value in attributes.items()}
    try:
        context = EventContext.model_validate(attributes)
    except pydantic.ValidationError as exc:
        raise invalid(exc, prefix=prefix) from exc
    _json_object(context.metadata, f"{prefix}metadata")
    _json_object(context.annotations, f"{prefix}annotations")
    data = event.get_data()
    if not data:
        raise InvalidInputError("body: empty" if not structured else "data: an event without data")
    return context, data if isinstance(data, bytes) else bytes(data)


def _as_bytes(data: str | bytes) -> bytes:
    """The SDK's data as bytes, parsed later by the payload readers (binary: the body;
    structured: ``data`` re-serialised by the SDK, or ``data_base64`` decoded)."""
    return data.encode() if isinstance(data, str) else bytes(data)


def _json_object(text: str | None, header: str) -> dict[str, object]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{header}: not valid JSON ({exc.msg}) (got {text[:80]!r})") from exc
    if not isinstance(value, dict):
        raise InvalidInputError(f"{header}: expected a JSON object (got {text[:80]!r})")
    return value


def forwarded_headers(context: EventContext) -> dict[str, object]:
    """The request headers KServe's logger forwarded (``ce-metadata``): name -> list of values."""
    return _json_object(context.metadata, "ce-metadata")


def declared_experiment(context: EventContext) -> str | None:
    """The experiment named by the event itself (rules 1 and 2 above), if any."""
    if context.experiment:
        return context.experiment
    named = _json_object(context.annotations, "ce-annotations").get(EXPERIMENT_ANNOTATION)
    return str(named) if named else None


def assign_experiment(context: EventContext, response_arm: str | None) -> tuple[str | None, str | None]:
    """``(experiment, arm)`` of one prediction, by the rules in this module's docstring."""
    experiment = declared_experiment(context)
    if response_arm:
        return experiment or context.inferenceservicename, response_arm
    if experiment:
        return experiment, TREATMENT if context.endpoint == CANARY_ENDPOINT else CONTROL
    return None, None
