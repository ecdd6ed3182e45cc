"""The one HTTP chokepoint: allowed hosts, timeouts and the retry loop.

Retries are tenacity's ``Retrying``: exponential backoff with full jitter, the
server's ``Retry-After`` when it sends one, ``stop_after_attempt`` and
``stop_before_delay`` for the total budget. A non-idempotent method is sent once
unless the caller gave an idempotency key.
"""

import random
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
import tenacity
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from .policy import RetryPolicy, may_retry, parse_retry_after

SUCCESS = "success"
HTTP_ERROR = "http_error"
TIMEOUT = "timeout"
CONNECTION_ERROR = "connection_error"
SHORT_CIRCUITED = "short_circuited"
REFUSED = "refused"


class HostRefused(Exception):
    """The target is not among the service's allowed origins (or is no plain path)."""

    def __init__(self, host, reason="host"):
        super().__init__(host)
        self.host = host
        self.reason = reason  # "host", "path" or "scheme"


class TransportError(Exception):
    """The request got no HTTP answer: ``kind`` is ``timeout`` or ``connection_error``."""

    def __init__(self, kind, detail, attempts=1, elapsed_ms=0.0):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.attempts = attempts
        self.elapsed_ms = elapsed_ms


@dataclass
class Response:
    status: int
    headers: dict
    content: bytes
    elapsed_ms: float = 0.0
    attempts: int = 1
    correlation_id: str = ""
    waits: list = field(default_factory=list)


def build_url(base_url, path):
    """Join the path ``path`` to ``base_url``.

    Callers pass paths only: an absolute or scheme-relative URL, or a backslash
    (which browsers and urllib3 read as ``/``), raises :class:`HostRefused` with
    ``reason="path"``, so a caller can never choose the host the token goes to.
    """
    if not path:
        return base_url
    try:
        netloc = urlsplit(path).netloc
    except ValueError:
        netloc = path
    if netloc or "\\" in path or "://" in path or path.lstrip().startswith("//"):
        raise HostRefused(_printable(path), reason="path")
    # Plain concatenation: unlike urljoin, it can never change the scheme or host.
    return base_url.rstrip("/") + "/" + path.lstrip("/")


DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url, default_scheme="https"):
    """``(scheme, host, port)`` of a URL or allow-list entry, the port made explicit.

    An entry written without a scheme (``host`` or ``host:port``, as older
    versions stored them) takes ``default_scheme``, the service's own.
    :raises ValueError: not an http(s) origin (a path, user info or query included).
    """
    text = (url or "").strip()
    if "://" not in text:
        text = f"{default_scheme}://{text}"
    try:
        parsed = parse_url(text)
    except LocationParseError as exc:
        raise ValueError(str(exc)) from None
    scheme = (parsed.scheme or "").lower()
    host = (parsed.host or "").lower().strip("[]")
    if scheme not in DEFAULT_PORTS or not host or parsed.auth:
        raise ValueError(f"{url!r} is not an http(s) origin")
    return scheme, host, parsed.port or DEFAULT_PORTS[scheme]


def format_origin(parts):
    scheme, host, port = parts
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"


def normalize_origin(entry, default_scheme="https"):
    """An allow-list entry as ``scheme://host:port``; ValueError when it is not one."""
    text = (entry or "").strip()
    with_scheme = text if "://" in text else f"{default_scheme}://{text}"
    parsed = parse_url(with_scheme) if with_scheme else None
    if parsed is None or parsed.path not in (None, "", "/") or parsed.query or parsed.fragment:
        raise ValueError(f"{entry!r} is not scheme://host:port")
    return format_origin(origin(text, default_scheme))


def prepare_url(method, url, params=None):
    """The URL exactly as requests will send it (params encoded, host IDNA-encoded)."""
    try:
        return requests.Request(method, url, params=params).prepare().url
    except (requests.exceptions.RequestException, ValueError, UnicodeError, LocationParseError):
        raise HostRefused(_printable(url)) from None


def read_origin(url):
    """``(scheme, host, port)`` urllib3 will connect to; HostRefused when ambiguous.

    ``urlsplit`` must read the same host and port: any disagreement, a backslash,
    whitespace, a control character or user info is a refusal.
    """
    try:
        connect = parse_url(url)
        parts = urlsplit(url)
        split_port = parts.port
    except (LocationParseError, ValueError):
        raise HostRefused(_printable(url)) from None
    scheme = (connect.scheme or "").lower()
    host = (connect.host or "").lower().strip("[]")
    if scheme not in DEFAULT_PORTS or not host:
        raise HostRefused(_printable(url), reason="scheme" if host else "host")
    target = (scheme, host, connect.port or DEFAULT_PORTS[scheme])
    if (
        any(c == "\\" or c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url)
        or connect.auth or "@" in parts.netloc
        or host != (parts.hostname or "").lower()
        or connect.port != split_port
    ):
        raise HostRefused(format_origin(target))
    return target


def check_host(url, allowed_hosts, base_url=None):
    """Refuse, before any connection, a URL whose origin is not allowed; return the origin.

    The host is read the way urllib3 will connect (``parse_url``), and Python's
    ``urlsplit`` must agree with it: ``http://evil:9999\\@allowed/x`` is read as
    ``allowed`` by one and ``evil`` by the other, so any disagreement, a
    backslash, whitespace, a control character or user info is a refusal.
    Then scheme, host and effective port must equal one allowed entry's, and
    an ``https`` service (``base_url``) never sends to ``http``.
    """
    target = read_origin(url)
    base_scheme = "https"
    if base_url:
        base_scheme = (urlsplit(base_url).scheme or "https").lower()
    if base_scheme == "https" and target[0] != "https":
        raise HostRefused(format_origin(target), reason="scheme")
    allowed = set()
    for entry in allowed_hosts:
        try:
            allowed.add(origin(entry, base_scheme))
        except ValueError:
            continue  # an unreadable entry allows nothing
    if target not in allowed:
        raise HostRefused(format_origin(target))
    return format_origin(target)


def _printable(url):
    return "".join(c if c.isprintable() else "?" for c in str(url))[:200]


def new_correlation_id():
    return uuid.uuid4().hex


class _Wait(tenacity.wait.wait_base):
    """Full-jitter backoff, or the server's Retry-After when it is longer."""

    def __init__(self, policy, rng):
        self.policy = policy
        self.rng = rng

    def __call__(self, retry_state):
        delay = self.policy.backoff(retry_state.attempt_number, self.rng)
        outcome = retry_state.outcome
        if outcome is not None and not outcome.failed:
            retry_after = parse_retry_after(outcome.result().headers.get("Retry-After"))
            if retry_after is not None:
                delay = max(delay, retry_after)
        return delay


def send(
    session,
    method,
    url,
    *,
    allowed_hosts,
    timeout,
    base_url=None,
    policy=None,
    headers=None,
    json=None,
    params=None,
    data=None,
    idempotency_key=None,
    correlation_id=None,
    sleep=time.sleep,
    rng=None,
):
    """Send one logical call; returns a ``Response`` or raises.

    :param timeout: ``(connect, read)`` seconds; both are required.
    :param base_url: the service's base URL; an ``https`` one never sends to ``http``.
    :raises HostRefused: before any connection.
    :raises TransportError: when no attempt got an HTTP answer.
    A response with a retryable status that is still failing after the last
    attempt is returned, not raised: the caller maps statuses to errors.
    """
    if not timeout or None in timeout:
        raise ValueError("connect and read timeouts are mandatory")
    check_host(prepare_url(method, url, params), allowed_hosts, base_url)
    policy = policy or RetryPolicy()
    method = method.upper()
    correlation_id = correlation_id or new_correlation_id()
    headers = dict(headers or {})
    headers["X-Request-ID"] = correlation_id
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    retryable = may_retry(method, idempotency_key)
    started = time.monotonic()
    waits = []

    def attempt():
        remaining = policy.total_budget - (time.monotonic() - started)
        read_timeout = max(0.001, min(timeout[1], remaining))
        try:
            resp = session.request(
                method, url, headers=headers, json=json, params=params, data=data,
                timeout=(timeout[0], read_timeout), allow_redirects=False,
            )
        except requests.Timeout as exc:
            detail = f"no answer within the timeout ({exc.__class__.__name__})"
            raise TransportError(TIMEOUT, detail) from exc
        except requests.ConnectionError as exc:
            detail = f"connection failed ({exc.__class__.__name__})"
            raise TransportError(CONNECTION_ERROR, detail) from exc
        return Response(resp.status_code, dict(resp.headers), resp.content)

    def record_sleep(seconds):
        waits.append(seconds)
        sleep(seconds)

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.max_attempts if retryable else 1)
        | tenacity.stop_before_delay(policy.total_budget),
        wait=_Wait(policy, rng or random.random),
        retry=tenacity.retry_if_exception_type(TransportError)
        | tenacity.retry_if_result(lambda r: r.status in policy.retry_statuses),
        retry_error_callback=lambda rs: rs.outcome.result(),
        sleep=record_sleep,
        reraise=True,
    )
    try:
        response = retrying(attempt)
    except TransportError as exc:
        exc.attempts = retrying.statistics.get("attempt_number", 1)
        exc.elapsed_ms = (time.monotonic() - started) * 1000.0
        raise
    response.attempts = retrying.statistics.get("attempt_number", 1)
    response.elapsed_ms = (time.monotonic() - started) * 1000.0
    response.correlation_id = correlation_id
    response.waits = waits
    return response
