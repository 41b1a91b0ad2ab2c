"""Caller mistakes, as KServe's ``InvalidInput`` (HTTP 400, gRPC INVALID_ARGUMENT).

Each carries a ``reason`` label for the ``leadscore_errors`` metric. Everything else that
goes wrong inside the model is a bug or an outage and propagates untouched (HTTP 500, gRPC
INTERNAL): a caller's mistake is never reported as the server's, nor the reverse.
"""

from __future__ import annotations

from kserve.errors import InvalidInput


class RequestRefused(InvalidInput):
    """A request we refuse; ``label`` is its reason in metrics."""

    label = "invalid_input"


class MalformedRequest(RequestRefused):
    """The body is not shaped like a V1 or V2 request at all."""

    label = "malformed_request"


class BatchTooLarge(RequestRefused):
    """More leads than ``--max-batch`` in one request."""

    label = "batch_too_large"


class InvalidRecord(RequestRefused):
    """One lead's field is missing, of the wrong type, out of range or (strict mode) unknown."""

    label = "invalid_record"
