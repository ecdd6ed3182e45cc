"""The one HTTP chokepoint: allowed hosts, timeouts and the retry loop.

Retries are tenacity's ``Retrying``: exponential backoff with full jitter, the
server's ``Retry-After`` when it sends one, ``stop_after_attempt`` and
``stop_before_delay`` for the total budget. A non-idempotent method is sent once
unless the caller gave an idempotency key.
"""

import functools
import random
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
import tenacity
from urllib3.exceptions import ConnectTimeoutError, LocationParseError, NewConnectionError
from urllib3.util import parse_url

from .policy import RetryPolicy, may_retry, parse_retry_after

READ_CHUNK = 64 * 1024  # bytes read at a time when a response-size cap applies
SUCCESS = "success"
HTTP_ERROR = "http_error"
TIMEOUT = "timeout"
CONNECTION_ERROR = "connection_error"
SHORT_CIRCUITED = "short_circuited"
REFUSED = "refused"
TOO_LARGE = "too_large"
RATE_LIMITED = "rate_limited"


class HostRefused(Exception):
    """The target is not among the service's allowed origins (or is no plain path)."""

    def __init__(self, host, reason="host"):
        super().__init__(host)
        self.host = host
        self.reason = reason  # "host", "path" or "scheme"


class TransportError(Exception):
    """The request got no HTTP answer: ``kind`` is ``timeout`` or ``connection_error``.

    ``sent`` tells whether the request may have reached the peer: False only
    when the failure happened before it was written (connection refused, DNS,
    connect timeout, TLS handshake); a read timeout or a reset after writing is
    ``sent``, so a non-idempotent call must not be repeated.
    """

    def __init__(self, kind, detail, attempts=1, elapsed_ms=0.0, sent=True):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.attempts = attempts
        self.elapsed_ms = elapsed_ms
        self.sent = sent


class ResponseTooLarge(Exception):
    """The answer's body exceeds the caller's cap; it was not kept."""

    def __init__(self, limit, size):
        super().__init__(f"response body over {limit} bytes")
        self.limit = limit
        self.size = size  # bytes seen (or announced) when reading stopped


def read_capped(resp, max_bytes):
    """The body of ``resp``, or ResponseTooLarge as soon as it exceeds ``max_bytes``.

    An announced ``Content-Length`` over the cap stops before reading anything;
    otherwise reading stops at the first chunk past the cap. Either way the
    connection is closed (never returned to the pool half-read).
    """
    if max_bytes is None:
        return resp.content
    length = resp.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > max_bytes:
        resp.close()
        raise ResponseTooLarge(max_bytes, int(length))
    chunks, size = [], 0
    for chunk in resp.iter_content(READ_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            resp.close()
            raise ResponseTooLarge(max_bytes, size)
        chunks.append(chunk)
    return b"".join(chunks)


def request_written(exc):
    """May the request behind the ``requests`` exception ``exc`` have been written?"""
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.SSLError)):
        return False
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
    return not isinstance(reason, (NewConnectionError, ConnectTimeoutError))


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
    base_scheme = _scheme(base_url) if base_url else "https"
    if base_scheme == "https" and target[0] != "https":
        raise HostRefused(format_origin(target), reason="scheme")
    if target not in _allowed_origins(tuple(allowed_hosts), base_scheme):
        raise HostRefused(format_origin(target))
    return format_origin(target)


@functools.lru_cache(maxsize=1024)
def _scheme(base_url):
    return (urlsplit(base_url).scheme or "https").lower()


@functools.lru_cache(maxsize=1024)
def _allowed_origins(allowed_hosts, base_scheme):
    """The parsed allow-list (cached: it is the same for every call of a service)."""
    allowed = set()
    for entry in allowed_hosts:
        try:
            allowed.add(origin(entry, base_scheme))
        except ValueError:
            continue  # an unreadable entry allows nothing
    return frozenset(allowed)


@functools.lru_cache(maxsize=1024)
def proxies_for(origin_url):
    """The environment's proxies for one origin (HTTP(S)_PROXY, NO_PROXY), read once
    per process and origin. Sessions of the gateway run with ``trust_env = False``
    (no per-request scan of the environment, and no ~/.netrc credentials)."""
    return requests.utils.get_environ_proxies(origin_url)


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
    files=None,
    max_bytes=None,
    prepared_url=None,
    idempotency_key=None,
    correlation_id=None,
    sleep=time.sleep,
    rng=None,
):
    """Send one logical call; returns a ``Response`` or raises.

    :param timeout: ``(connect, read)`` seconds; both are required.
    :param base_url: the service's base URL; an ``https`` one never sends to ``http``.
    :param data: form fields (dict) or a raw body (bytes); ``files``: multipart parts,
        as ``requests`` takes them.
    :param max_bytes: cap on the answer's body; over it, ``ResponseTooLarge``.
    :param prepared_url: ``prepare_url(method, url, params)`` when the caller has it.
    :raises HostRefused: before any connection.
    :raises ResponseTooLarge: the body was over ``max_bytes`` (never retried).
    :raises TransportError: when no attempt got an HTTP answer.
    A response with a retryable status that is still failing after the last
    attempt is returned, not raised: the caller maps statuses to errors.
    """
    if not timeout or None in timeout:
        raise ValueError("connect and read timeouts are mandatory")
    target = check_host(prepared_url or prepare_url(method, url, params), allowed_hosts,
                        base_url)
    proxies = proxies_for(target) if not session.trust_env else None
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
                files=files, timeout=(timeout[0], read_timeout), allow_redirects=False,
                stream=max_bytes is not None, proxies=proxies,
            )
            content = read_capped(resp, max_bytes)
        except requests.Timeout as exc:
            detail = f"no answer within the timeout ({exc.__class__.__name__})"
            raise TransportError(TIMEOUT, detail, sent=request_written(exc)) from exc
        except requests.ConnectionError as exc:
            detail = f"connection failed ({exc.__class__.__name__})"
            raise TransportError(CONNECTION_ERROR, detail, sent=request_written(exc)) from exc
        except requests.exceptions.ChunkedEncodingError as exc:  # cut while reading the body
            detail = f"connection failed ({exc.__class__.__name__})"
            raise TransportError(CONNECTION_ERROR, detail) from exc
        return Response(resp.status_code, dict(resp.headers), content)

    def record_sleep(seconds):
        waits.append(seconds)
        sleep(seconds)

    # Fast path: the first attempt runs without building a retry loop; most calls
    # end there. Otherwise tenacity takes over, replaying that first outcome.
    try:
        first = attempt()
    except TransportError as exc:
        first = exc
    if isinstance(first, Response) and first.status not in policy.retry_statuses:
        return _finish(first, 1, started, correlation_id, waits)
    max_attempts = policy.max_attempts if retryable else 1
    if max_attempts == 1:
        if isinstance(first, TransportError):
            first.attempts, first.elapsed_ms = 1, (time.monotonic() - started) * 1000.0
            raise first
        return _finish(first, 1, started, correlation_id, waits)
    replay = [first]

    def replay_then_attempt():
        if replay:
            outcome = replay.pop()
            if isinstance(outcome, TransportError):
                raise outcome
            return outcome
        return attempt()

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max_attempts) | _StopBeforeBudget(started, policy),
        wait=_Wait(policy, rng or random.random),
        retry=tenacity.retry_if_exception_type(TransportError)
        | tenacity.retry_if_result(lambda r: r.status in policy.retry_statuses),
        retry_error_callback=lambda rs: rs.outcome.result(),
        sleep=record_sleep,
        reraise=True,
    )
    try:
        response = retrying(replay_then_attempt)
    except TransportError as exc:
        exc.attempts = retrying.statistics.get("attempt_number", 1)
        exc.elapsed_ms = (time.monotonic() - started) * 1000.0
        raise
    return _finish(response, retrying.statistics.get("attempt_number", 1), started,
                   correlation_id, waits)


class _StopBeforeBudget(tenacity.stop.stop_base):
    """tenacity's stop_before_delay, counted from the call's start (the first
    attempt ran before the retry loop was built)."""

    def __init__(self, started, policy):
        self.started = started
        self.budget = policy.total_budget

    def __call__(self, retry_state):
        elapsed = time.monotonic() - self.started
        return elapsed + retry_state.upcoming_sleep >= self.budget


def _finish(response, attempts, started, correlation_id, waits):
    response.attempts = attempts
    response.elapsed_ms = (time.monotonic() - started) * 1000.0
    response.correlation_id = correlation_id
    response.waits = waits
    return response
