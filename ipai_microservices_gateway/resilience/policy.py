"""Retry policy: exponential backoff with full jitter, Retry-After, budgets.

The retry loop itself is tenacity's (see ``client.py``); this module holds the
policy data and the rules that tenacity is configured with.
"""

import random
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

# RFC 9110 idempotent methods: repeating them has the effect of sending once.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How one logical call may be retried.

    ``max_attempts`` counts the first attempt. ``total_budget`` caps the whole
    logical call (attempts and waits): no attempt starts after it, and no wait
    is taken that would end after it.
    """

    max_attempts: int = 3
    backoff_initial: float = 0.5
    backoff_max: float = 10.0
    total_budget: float = 30.0
    retry_statuses: frozenset = field(default=RETRY_STATUSES)

    def __post_init__(self):
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff_initial < 0 or self.backoff_max < 0 or self.total_budget <= 0:
            raise ValueError("backoff and budget must be positive")

    def backoff(self, failures, rng=random.random):
        """Full jitter (AWS architecture blog): uniform in [0, min(cap, base * 2**n)).

        :param failures: how many attempts failed so far (1 after the first)
        """
        ceiling = min(self.backoff_max, self.backoff_initial * 2 ** (failures - 1))
        return rng() * ceiling


def may_retry(method, idempotency_key=None):
    """A non-idempotent method is repeated only under an idempotency key."""
    return method.upper() in IDEMPOTENT_METHODS or bool(idempotency_key)


def parse_retry_after(value, now=None):
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if value is None:
        return None
    value = str(value).strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)
