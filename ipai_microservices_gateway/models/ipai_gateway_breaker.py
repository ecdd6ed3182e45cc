"""Circuit-breaker state shared by every Odoo process through PostgreSQL.

One row per service. The row is read and written through *separate* cursors
(``registry.cursor()``) that commit at once, so that:
- every worker, the cron and the job runner see the same state;
- a failure still counts when the caller's transaction rolls back;
- the half-open trial is claimed with one atomic ``UPDATE ... RETURNING``, so
  exactly one process gets it however many race for it.
Each process caches the row for ``CACHE_SECONDS`` and buffers successes, which
are written with the next failure or after ``FLUSH_SECONDS``: a closed, healthy
breaker costs no database write per call. The decisions themselves are the
plain functions of ``resilience.breaker``.
"""

import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, fields

from odoo import api, models
from odoo import fields as ofields
from odoo.sql_db import Cursor

from ..resilience import breaker as bk

CACHE_SECONDS = 1.0  # how stale another process's breaker change may be seen here
FLUSH_SECONDS = 5.0  # at most one write of buffered successes per process and service
_STATE_COLUMNS = [f.name for f in fields(bk.BreakerState)]
_cache = {}  # (dbname, service_id) -> [BreakerState, fetched_at, pending_successes, flushed_at]
_cache_lock = threading.Lock()


class IpaiGatewayBreaker(models.Model):
    _name = "ipai.gateway.breaker"
    _description = "Gateway circuit-breaker state"
    _log_access = False

    # An integer, not a Many2one: the row is written by separate cursors that
    # must not wait on, or fail against, the caller's uncommitted service row.
    service_id = ofields.Integer(required=True, index=True)
    state = ofields.Selection(
        [(bk.CLOSED, "Closed"), (bk.OPEN, "Open"), (bk.HALF_OPEN, "Half-open")],
        required=True,
        default=bk.CLOSED,
    )
    since = ofields.Float(default=0.0)
    open_until = ofields.Float(default=0.0)
    trial_started = ofields.Float(default=0.0)
    consecutive_failures = ofields.Integer(default=0)
    window_start = ofields.Float(default=0.0)
    window_calls = ofields.Integer(default=0)
    window_failures = ofields.Integer(default=0)
    window_slow = ofields.Integer(default=0)
    last_error = ofields.Char()

    _service_unique = models.Constraint("unique(service_id)", "One breaker per service.")

    # -- shared-state access (separate, committed cursors) --------------------

    @contextmanager
    def _shared_cursor(self, readonly=False):
        """A short transaction of its own, committed at once.

        READ COMMITTED, so that a process that waited for another one's row lock
        sees that process's change (an UPDATE re-checks its WHERE) instead of
        failing with a serialization error; and a lock timeout, so that nobody
        waits long behind another transaction. ``readonly`` for reads that a
        read-only request (``GET /ipai/health``, a form) makes.
        """
        with self.env.registry.cursor(readonly=readonly) as cr:
            if type(cr) is Cursor:  # not in tests' shared-transaction mode
                cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            cr.execute("SET LOCAL lock_timeout = '5s'")
            yield cr

    def _key(self, service_id):
        return (self.env.cr.dbname, service_id)

    @api.model
    def _fetch(self, cr, service_id, lock=False):
        # Column names come from the BreakerState dataclass, never from input.
        query = "SELECT %s FROM ipai_gateway_breaker WHERE service_id = %%s" % ", ".join(  # noqa: S608
            _STATE_COLUMNS
        )
        cr.execute(query + (" FOR UPDATE" if lock else ""), [service_id])
        row = cr.fetchone()
        if row is None:
            if not lock:
                return bk.reset(0.0)  # never used: closed, nothing recorded
            now = time.time()
            cr.execute(
                "INSERT INTO ipai_gateway_breaker (service_id, state, since, window_start) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (service_id) DO NOTHING",
                [service_id, bk.CLOSED, now, now],
            )
            return self._fetch(cr, service_id, lock)
        values = dict(zip(_STATE_COLUMNS, row, strict=True))
        default = bk.BreakerState()
        values = {k: (getattr(default, k) if v is None else v) for k, v in values.items()}
        return bk.BreakerState(**values)

    @api.model
    def _store(self, cr, service_id, state):
        values = asdict(state)
        values["last_error"] = (values["last_error"] or "")[:500]
        assignments = ", ".join(f"{c} = %({c})s" for c in _STATE_COLUMNS)
        assignments = ", ".join(f"{c} = %({c})s" for c in _STATE_COLUMNS)
        cr.execute(
            "UPDATE ipai_gateway_breaker SET %s WHERE service_id = %%(service_id)s"  # noqa: S608
            % assignments,
            dict(values, service_id=service_id),
        )

    @api.model
    def _get_state(self, service_id, fresh=False):
        """The shared state, from this process's cache when it is fresh enough."""
        key = self._key(service_id)
        now = time.monotonic()
        with _cache_lock:
            entry = _cache.get(key)
            if entry and not fresh and now - entry[1] < CACHE_SECONDS:
                return entry[0]
        with self._shared_cursor() as cr:
            state = self._fetch(cr, service_id)
        with _cache_lock:
            entry = _cache.setdefault(key, [state, now, 0, now])
            entry[0], entry[1] = state, now
        return state

    @api.model
    def _get_states(self, service_ids):
        """Fresh states of several services in one query (forms, lists, health)."""
        if not service_ids:
            return {}
        query = "SELECT service_id, %s FROM ipai_gateway_breaker WHERE service_id = ANY(%%s)" % (  # noqa: S608
            ", ".join(_STATE_COLUMNS)
        )
        with self._shared_cursor(readonly=True) as cr:
            cr.execute(query, [list(service_ids)])
            rows = {row[0]: row[1:] for row in cr.fetchall()}
        default = bk.BreakerState()
        states = {}
        for service_id in service_ids:
            row = rows.get(service_id)
            if row is None:
                states[service_id] = bk.reset(0.0)
                continue
            values = dict(zip(_STATE_COLUMNS, row, strict=True))
            states[service_id] = bk.BreakerState(
                **{k: (getattr(default, k) if v is None else v) for k, v in values.items()}
            )
        return states

    @api.model
    def _update(self, service_id, change):
        """Apply ``change(state, pending_successes) -> state`` under a row lock, commit."""
        key = self._key(service_id)
        with _cache_lock:
            entry = _cache.get(key)
            pending = entry[2] if entry else 0
            if entry:
                entry[2] = 0
        with self._shared_cursor() as cr:
            before = self._fetch(cr, service_id, lock=True)
            state = change(before, pending)
            self._store(cr, service_id, state)
        now = time.monotonic()
        with _cache_lock:
            _cache[key] = [state, now, 0, now]
        if before.state == bk.CLOSED and state.state == bk.OPEN:
            self._notify(service_id, "breaker_open", state)
        elif before.state != bk.CLOSED and state.state == bk.CLOSED:
            self._notify(service_id, "breaker_closed", state)
        return state

    @api.model
    def _notify(self, service_id, kind, state):
        """Tell the managers that a breaker opened (once per episode: a failed
        half-open trial is the same episode) or closed again. In a committed
        transaction of its own, like the state change it reports."""
        with self.env.registry.cursor() as cr:
            # Superuser: the state change may come from any caller, even a read-only one.
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            service = env["ipai.gateway.service"].browse(service_id).exists()
            if not service:
                return  # not committed yet (a caller's own new service): nothing to tell
            if kind == "breaker_open":
                message = env._(
                    "Circuit breaker of %(service)s opened: calls fail at once until "
                    "%(seconds)s s have passed and a trial call succeeds. Last error: "
                    "%(error)s", service=service.name,
                    seconds=round(state.open_until - state.since), error=state.last_error or "-")
            else:
                message = env._("Circuit breaker of %(service)s closed: the service "
                                "answers again.", service=service.name)
            service._alert(kind, message)

    @api.model
    def _record_success(self, service_id, policy):
        """Buffer a success; flush the buffer at most every FLUSH_SECONDS."""
        key = self._key(service_id)
        now = time.monotonic()
        with _cache_lock:
            entry = _cache.setdefault(key, [bk.BreakerState(), 0.0, 0, now])
            entry[2] += 1
            due = now - entry[3] >= FLUSH_SECONDS
        if due:
            wall = time.time()
            self._update(service_id, lambda s, n: bk.add_successes(s, policy, n, wall))

    @api.model
    def _record_result(self, service_id, policy, *, success, duration_ms, error="", trial=False):
        wall = time.time()

        def change(state, pending):
            state = bk.add_successes(state, policy, pending, wall)
            return bk.on_result(
                state, policy, success=success, duration_ms=duration_ms, now=wall,
                error=error, trial=trial,
            )

        return self._update(service_id, change)

    @api.model
    def _claim_trial(self, service_id, policy):
        """Atomically take the half-open trial; True for exactly one claimant."""
        now = time.time()
        with self._shared_cursor() as cr:
            cr.execute(
                """
                UPDATE ipai_gateway_breaker
                   SET state = %(half)s, trial_started = %(now)s, since = %(now)s
                 WHERE service_id = %(sid)s
                   AND ((state = %(open)s AND open_until <= %(now)s)
                     OR (state = %(half)s AND trial_started <= %(stale)s))
             RETURNING id
                """,
                {"half": bk.HALF_OPEN, "open": bk.OPEN, "now": now, "sid": service_id,
                 "stale": now - policy.trial_timeout},
            )
            won = bool(cr.fetchone())
        self._get_state(service_id, fresh=True)
        return won

    @api.model
    def _return_trial(self, service_id, policy, error=""):
        """Hand back a half-open trial that ended without reporting a transport
        result: the breaker opens again for ``open_seconds``. No-op once the trial
        was reported (the breaker is then closed or open)."""
        wall = time.time()

        def change(state, pending):
            if state.state != bk.HALF_OPEN:
                return bk.add_successes(state, policy, pending, wall)
            return bk.on_result(state, policy, success=False, duration_ms=0.0, now=wall,
                                error=error, trial=True)

        return self._update(service_id, change)

    @api.model
    def _probe_succeeded(self, service_id):
        now = time.time()
        return self._update(service_id, lambda s, n: bk.on_probe_success(s, now))

    @api.model
    def _reset(self, service_id):
        now = time.time()
        return self._update(service_id, lambda s, n: bk.reset(now))

    @api.model
    def _forget(self, service_id):
        with _cache_lock:
            _cache.pop(self._key(service_id), None)
