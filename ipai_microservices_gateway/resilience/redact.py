"""Keep secrets out of logs, call logs and error messages."""

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "***"
SENSITIVE_HEADERS = {
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "x-auth-token",
    "cookie",
    "set-cookie",
}
_SENSITIVE_PARAM = re.compile(
    r"(token|key|secret|password|passwd|pwd|signature|sig|auth|credential|session|code)",
    re.IGNORECASE,
)


def is_sensitive_name(name):
    """A query parameter or form field named like a credential (``api_key``, ``pwd``...)."""
    return bool(_SENSITIVE_PARAM.search(str(name)))


def redact_headers(headers, extra=()):
    """Copy of ``headers`` with credential headers replaced by ``***``."""
    sensitive = SENSITIVE_HEADERS | {h.lower() for h in extra}
    return {k: (REDACTED if k.lower() in sensitive else v) for k, v in (headers or {}).items()}


def redact_url(url):
    """``url`` without user info and with token-like query parameters masked."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    query = urlencode(
        [
            (k, REDACTED if is_sensitive_name(k) else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redact_text(text, secrets=()):
    """``text`` with every known secret value (and bearer tokens) masked."""
    text = str(text or "")
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return re.sub(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]+", r"\1 " + REDACTED, text)
