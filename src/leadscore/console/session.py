"""The login cookie and the CSRF token, pure functions over one server secret.

The cookie carries the user's bearer token, signed and timestamped (itsdangerous) so it cannot
be forged or replayed past ``max_age``; every request re-checks the token with a TokenReview.
The CSRF token is an HMAC of the cookie's token: a form from another site cannot know it.
"""

from __future__ import annotations

import hashlib
import hmac

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "leadscore_console"
SALT = "leadscore-console-login"


def seal(secret: str, token: str) -> str:
    """The cookie value that carries ``token``."""
    return URLSafeTimedSerializer(secret, salt=SALT).dumps(token)


def unseal(secret: str, cookie: str | None, max_age: int) -> str | None:
    """The token in ``cookie``, or None when it is absent, forged or older than ``max_age`` s."""
    if not cookie:
        return None
    try:
        return URLSafeTimedSerializer(secret, salt=SALT).loads(cookie, max_age=max_age)
    except BadSignature:
        return None


def csrf_token(secret: str, token: str) -> str:
    """The CSRF token forms must send back for the session holding ``token``."""
    return hmac.new(secret.encode(), b"csrf:" + token.encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: str, token: str, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(csrf_token(secret, token), sent or "")
