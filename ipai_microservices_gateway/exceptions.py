"""Typed errors of the gateway. Each is a ``UserError`` whose message says what
happened and what to do, and which carries its data for callers."""

from odoo.exceptions import UserError


class GatewayError(UserError):
    """Base of every gateway error."""

    def __init__(self, message, *, service_code=None, correlation_id=None, attempts=0):
        super().__init__(message)
        self.service_code = service_code
        self.correlation_id = correlation_id
        self.attempts = attempts


class GatewayServiceNotFound(GatewayError):
    """No active service with that code in the user's companies."""


class GatewaySecretMissing(GatewayError):
    """The service needs a secret that is not set, or no vault key is configured."""


class GatewayAuthUnsupported(GatewayError):
    """No installed module implements the service's auth type: nothing was sent."""


class GatewayHostRefused(GatewayError):
    """The target host is not in the service's allowed hosts; nothing was sent."""

    def __init__(self, message, *, host=None, **kw):
        super().__init__(message, **kw)
        self.host = host


class GatewayCircuitOpen(GatewayError):
    """The breaker is open: the call failed at once, without touching the network."""

    def __init__(self, message, *, retry_in=0.0, **kw):
        super().__init__(message, **kw)
        self.retry_in = retry_in


class GatewayTimeout(GatewayError):
    """No answer within the timeouts, after the allowed attempts.

    ``request_sent``: the request may have reached the service (a read timeout).
    """

    def __init__(self, message, *, request_sent=True, **kw):
        super().__init__(message, **kw)
        self.request_sent = request_sent


class GatewayUnavailable(GatewayError):
    """Connection failures or 502/503/504 answers, after the allowed attempts.

    ``request_sent`` is False only when the request was certainly not written
    (connection refused, connect timeout).
    """

    def __init__(self, message, *, status=None, retry_after=None, request_sent=True, **kw):
        super().__init__(message, **kw)
        self.status = status
        self.retry_after = retry_after
        self.request_sent = request_sent


class GatewayNotRepeated(GatewayError):
    """A queued non-idempotent call without idempotency key may have reached the
    service already: it is not sent again, and its job fails with this reason."""


class GatewayHTTPError(GatewayError):
    """The service answered with an error status; ``json``/``text`` hold its body."""

    def __init__(self, message, *, status=None, json=None, text=None, headers=None,
                 retry_after=None, **kw):
        super().__init__(message, **kw)
        self.status = status
        self.json = json
        self.text = text
        self.headers = headers or {}
        self.retry_after = retry_after


class GatewayResponseTooLarge(GatewayError):
    """The answer's body is over the service's response-size cap; it was not kept."""

    def __init__(self, message, *, limit=0, size=0, status=None, **kw):
        super().__init__(message, **kw)
        self.limit = limit
        self.size = size
        self.status = status


class GatewayRateLimited(GatewayError):
    """The service's rate limit is reached: nothing was sent. ``retry_in``: seconds
    until a token is available."""

    def __init__(self, message, *, retry_in=0.0, **kw):
        super().__init__(message, **kw)
        self.retry_in = retry_in


class GatewayQuotaExceeded(GatewayError):
    """An LLM usage quota of the caller's company is used up: nothing was sent."""

    def __init__(self, message, *, quota=None, resets_at=None, **kw):
        super().__init__(message, **kw)
        self.quota = quota
        self.resets_at = resets_at
