"""Token-bucket rate limit whose state every process shares through PostgreSQL.

A service allows ``requests`` calls per ``window`` seconds: the bucket holds at
most ``requests`` tokens and refills at ``requests / window`` tokens a second.
Each call takes one token. The bucket is one row of ``ipai_gateway_rate_bucket``
per service, read and written under a row lock in a short transaction of its own
(``take`` commits nothing itself: the caller's cursor is a separate one that it
commits at once), so every Odoo worker, cron and job runner draws from the same
bucket. A 429 answer empties the bucket and blocks it until its Retry-After has
passed (``throttle``).

Why not a library: the limiters on PyPI (limits, pyrate-limiter) keep their state
in memory, Redis or their own SQL schema; this is the same few lines of bucket
arithmetic over the table Odoo already manages, with one row lock per call.

This module imports no Odoo: it takes any DB-API cursor (psycopg2's).
"""

import math
from dataclasses import dataclass

TABLE = "ipai_gateway_rate_bucket"


@dataclass(frozen=True)
class RatePolicy:
    requests: int  # tokens per window, and the bucket's capacity (burst)
    window: float  # seconds

    def __post_init__(self):
        if self.requests < 1 or self.window <= 0:
            raise ValueError("a rate limit needs at least one request per positive window")

    @property
    def rate(self):
        return self.requests / self.window


@dataclass(frozen=True)
class Bucket:
    tokens: float
    updated_at: float
    blocked_until: float = 0.0


def refill(bucket, policy, now):
    """The bucket at ``now``: refilled since its last update, capped at capacity."""
    elapsed = max(0.0, now - bucket.updated_at)
    return Bucket(min(float(policy.requests), bucket.tokens + elapsed * policy.rate), now,
                  bucket.blocked_until)


def decide(bucket, policy, now):
    """``(bucket after, wait)``: wait 0 means a token was taken; otherwise the
    seconds until one is available (nothing is taken)."""
    bucket = refill(bucket, policy, now)
    if now < bucket.blocked_until:
        return Bucket(0.0, now, bucket.blocked_until), bucket.blocked_until - now
    if bucket.tokens >= 1.0:
        return Bucket(bucket.tokens - 1.0, now, bucket.blocked_until), 0.0
    return bucket, (1.0 - bucket.tokens) / policy.rate


def take(cr, service_id, policy, now):
    """Take one token of ``service_id``'s bucket; returns the wait (0.0: taken).

    ``cr``: a cursor of a transaction of its own, committed by the caller.
    """
    cr.execute(
        f"INSERT INTO {TABLE} (service_id, tokens, updated_at, blocked_until) "  # noqa: S608
        "VALUES (%s, %s, %s, 0) ON CONFLICT (service_id) DO NOTHING",
        [service_id, float(policy.requests), now],
    )
    cr.execute(
        f"SELECT tokens, updated_at, blocked_until FROM {TABLE} "  # noqa: S608
        "WHERE service_id = %s FOR UPDATE",
        [service_id],
    )
    tokens, updated_at, blocked_until = cr.fetchone()
    bucket, wait = decide(Bucket(tokens, updated_at, blocked_until or 0.0), policy, now)
    _store(cr, service_id, bucket)
    return wait


def throttle(cr, service_id, policy, now, retry_after):
    """The peer answered 429: empty the bucket until ``retry_after`` seconds from now
    (at least one token's time when the peer gave no delay)."""
    delay = retry_after if retry_after is not None else 1.0 / policy.rate
    cr.execute(
        f"INSERT INTO {TABLE} (service_id, tokens, updated_at, blocked_until) "  # noqa: S608
        "VALUES (%s, 0, %s, %s) ON CONFLICT (service_id) DO UPDATE "
        "SET tokens = 0, updated_at = EXCLUDED.updated_at, "
        f"blocked_until = GREATEST({TABLE}.blocked_until, EXCLUDED.blocked_until)",
        [service_id, now, now + max(0.0, delay)],
    )


def _store(cr, service_id, bucket):
    cr.execute(
        f"UPDATE {TABLE} SET tokens = %s, updated_at = %s, blocked_until = %s "  # noqa: S608
        "WHERE service_id = %s",
        [bucket.tokens, bucket.updated_at, bucket.blocked_until, service_id],
    )


def seconds(wait):
    """A wait as whole seconds for a job's eta (at least 1)."""
    return max(1, math.ceil(wait))
