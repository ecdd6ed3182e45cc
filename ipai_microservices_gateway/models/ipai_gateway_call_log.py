import atexit
import logging
import os
import threading
import time

from odoo import api, fields, models, modules, sql_db
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

OUTCOMES = [
    ("success", "Success"),
    ("http_error", "HTTP error"),
    ("timeout", "Timeout"),
    ("connection_error", "Connection error"),
    ("short_circuited", "Short-circuited"),
    ("refused", "Refused"),
    ("too_large", "Response too large"),
    ("rate_limited", "Rate-limited"),
    ("quota_exceeded", "Quota exceeded"),
]
DEFAULT_RETENTION_DAYS = 30
GC_BATCH = 10_000  # rows deleted per autovacuum step; Odoo's cleaner calls again while some remain
BUFFER_SECONDS = 2.0  # short-circuited calls are written at most this often per process
_buffers = {}  # dbname -> [rows, last flush (monotonic)]
_buffer_lock = threading.Lock()
WRITE_SECONDS = 0.5  # a success is in the call log about this long after its call
LOG_ONLY = SQL("SET LOCAL synchronous_commit = off;")  # see _write_at_commit


COLUMNS = ("service_id", "method", "path", "host", "status", "outcome", "attempts",
           "duration_ms", "correlation_id", "user_id", "job_uuid", "error", "at",
           "usage_company_id", "llm_model", "prompt_tokens", "completion_tokens",
           "total_tokens", "cost")


def _insert_rows(cr, rows, prefix=None):
    """One INSERT of call-log rows (dicts keyed by ``COLUMNS``), their company read from
    their service."""
    template = ("(%s::int, %s, %s, %s, %s::int, %s, %s::int, %s::float, %s, %s::int, %s, %s, "
                "%s, %s::int, %s, %s::int, %s::int, %s::int, %s::float)")
    values = SQL(", ").join(SQL(template, *[row.get(c) for c in COLUMNS]) for row in rows)
    cr.execute(SQL("%s %s", prefix or SQL(""), SQL(
        """
        INSERT INTO ipai_gateway_call_log
            (service_id, company_id, method, path, host, status, outcome, attempts,
             duration_ms, correlation_id, user_id, job_uuid, error,
             usage_company_id, llm_model, prompt_tokens, completion_tokens, total_tokens,
             cost, create_uid, create_date, write_uid, write_date)
        SELECT v.service_id, s.company_id, v.method, v.path, v.host, v.status, v.outcome,
               v.attempts, v.duration_ms, v.correlation_id, v.user_id, v.job_uuid, v.error,
               v.usage_company_id, v.llm_model, v.prompt_tokens, v.completion_tokens,
               v.total_tokens, v.cost,
               v.user_id, v.at::timestamp, v.user_id, v.at::timestamp
          FROM (VALUES %s) AS v(service_id, method, path, host, status, outcome, attempts,
                                duration_ms, correlation_id, user_id, job_uuid, error, at,
                                usage_company_id, llm_model, prompt_tokens,
                                completion_tokens, total_tokens, cost)
          JOIN ipai_gateway_service s ON s.id = v.service_id
        """,
        values,
    )))


class _SuccessWriter:
    """The successes of this process's calls, every database's, written off the
    callers' path: one daemon thread inserts each interval's rows in one
    transaction of its own, so a caller's commit never waits for its log row."""

    def __init__(self):
        self._cond = threading.Condition()
        self._rows = {}  # dbname -> [row values]
        self._thread = None

    def put(self, dbname, row):
        with self._cond:
            self._rows.setdefault(dbname, []).append(row)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="ipai-gateway-call-log")
                self._thread.start()
            self._cond.notify()

    def _run(self):
        while True:
            with self._cond:
                while not self._rows:
                    self._cond.wait()
            time.sleep(WRITE_SECONDS)  # the interval's rows go in one INSERT
            self.write_all()

    def write_all(self, dbname=None):
        """Write the rows held (of ``dbname`` only, when given) now."""
        with self._cond:
            if dbname is None:
                batches, self._rows = self._rows, {}
            else:
                batches = {dbname: self._rows.pop(dbname)} if dbname in self._rows else {}
        for dbname, rows in batches.items():
            try:
                # a plain connection, not Registry(dbname): that would wait for the
                # registry lock, which a loading or upgrading registry holds for minutes
                with sql_db.db_connect(dbname).cursor() as cr:
                    _insert_rows(cr, rows, LOG_ONLY)
            except Exception:  # the writer outlives a failed batch
                _logger.exception("gateway call log: %s success row(s) of database %s "
                                  "were not written", len(rows), dbname)

    def forget(self):
        """In a forked child: the parent's rows and thread are not this process's."""
        self._cond, self._rows, self._thread = threading.Condition(), {}, None


_writer = _SuccessWriter()
atexit.register(_writer.write_all)  # a stopping worker writes what it still holds
os.register_at_fork(after_in_child=_writer.forget)


class IpaiGatewayCallLog(models.Model):
    """One row per logical call (retries included). Paths are redacted and no
    header or body is kept. Rows are written with SQL by ``ipai.gateway``: a
    success by this process's writer thread within about ``WRITE_SECONDS`` (of an
    LLM or agent service: with the caller's transaction), a short-circuit in
    per-process batches, any other failure at once in its own
    committed transaction; so every call stays logged when its caller rolls back."""

    _name = "ipai.gateway.call.log"
    _description = "Gateway call log"
    _order = "id desc"

    service_id = fields.Many2one("ipai.gateway.service", required=True, ondelete="cascade",
                                 index=True, readonly=True)
    company_id = fields.Many2one(related="service_id.company_id", store=True, readonly=True)
    method = fields.Char(readonly=True)
    path = fields.Char(readonly=True, help="Target URL path and query, redacted.")
    host = fields.Char(string="Host reached", readonly=True,
                       help="scheme://host:port the request went to (or was refused for).")
    status = fields.Integer(string="HTTP status", readonly=True)
    outcome = fields.Selection(OUTCOMES, required=True, index=True, readonly=True)
    attempts = fields.Integer(readonly=True)
    duration_ms = fields.Float(string="Duration (ms)", readonly=True, aggregator="avg")
    correlation_id = fields.Char(string="Correlation id", index=True, readonly=True)
    user_id = fields.Many2one("res.users", readonly=True, index=True)
    job_uuid = fields.Char(string="Job UUID", readonly=True, index=True)
    error = fields.Char(readonly=True)
    # LLM and agent usage (OpenAI-compatible "usage" of the answer)
    usage_company_id = fields.Many2one("res.company", string="Caller's company", readonly=True,
                                       index=True)
    llm_model = fields.Char(string="Model", readonly=True)
    prompt_tokens = fields.Integer(readonly=True)
    completion_tokens = fields.Integer(readonly=True)
    total_tokens = fields.Integer(readonly=True)
    cost = fields.Float(readonly=True, digits=(16, 6),
                        help="From the service's model prices, in the company's currency.")

    _COLUMNS = COLUMNS
    _PENDING = "ipai_gateway_call_log"

    def init(self):
        # /metrics and the availability alert read the last hour of calls.
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS ipai_gateway_call_log_create_date_idx "
            "ON ipai_gateway_call_log (create_date)"
        )

    @api.model
    def _enqueue(self, values, in_transaction=False):
        """Log a success. The row goes to this process's writer thread: the caller's
        commit does not wait for it, and a rollback of the caller keeps it (the
        service was called). A process killed outright loses its last
        ``WRITE_SECONDS`` of success rows.

        ``in_transaction`` (LLM and agent calls: quotas must count this
        transaction's usage), and under tests, where no thread may share the test's
        cursor: the rows are written with the caller's transaction, by one INSERT
        before its commit (or before any search on logs)."""
        if in_transaction or modules.module.current_test:
            self._enqueue_in_transaction(values)
        else:
            _writer.put(self.env.cr.dbname, values)

    def _enqueue_in_transaction(self, values):
        cr = self.env.cr
        pending = cr.precommit.data.setdefault(self._PENDING, [])
        if not pending:
            cr.precommit.add(self._write_at_commit)
        pending.append(values)

    def _write_at_commit(self):
        """The pre-commit hook. When the caller's transaction wrote nothing else (no
        transaction id yet) and no other hook runs after this one, the rows are all
        it commits: that commit does not wait for the disk (``synchronous_commit =
        off``; a crash of PostgreSQL itself may lose the last few hundred
        milliseconds of log rows, never anything else)."""
        cr = self.env.cr
        if not cr.precommit.data.get(self._PENDING):
            return
        # Callbacks queued after this one would write in the same transaction.
        last = not getattr(cr.precommit, "_funcs", True)
        # One round trip: the check runs before the INSERT gives the transaction an id.
        prefix = SQL("SELECT set_config('synchronous_commit', 'off', true) "
                     "WHERE txid_current_if_assigned() IS NULL;") if last else None
        self._flush_pending(prefix)

    def _flush_pending(self, prefix=None):
        rows = self.env.cr.precommit.data.pop(self._PENDING, None)
        if rows:
            self._insert_rows(self.env.cr, rows, prefix)

    @api.model
    def _buffer(self, values):
        """Log a short-circuited call, batched per process: the rows are written in
        one INSERT, in a committed transaction of their own, at most every
        ``BUFFER_SECONDS`` (and before this process searches the logs). A breaker
        that is open costs no database write per call."""
        key = self.env.cr.dbname
        now = time.monotonic()
        with _buffer_lock:
            entry = _buffers.setdefault(key, [[], 0.0])
            entry[0].append(dict(values, at=fields.Datetime.now()))
            due = now - entry[1] >= BUFFER_SECONDS
        if due:
            self._flush_buffer()

    @api.model
    def _flush_buffer(self):
        with _buffer_lock:
            entry = _buffers.get(self.env.cr.dbname)
            if not entry or not entry[0]:
                return
            rows, entry[0], entry[1] = entry[0], [], time.monotonic()
        with self.env.registry.cursor() as cr:
            self._insert_rows(cr, rows)

    @api.model
    def _insert_rows(self, cr, rows, prefix=None):
        _insert_rows(cr, rows, prefix)

    def flush_model(self, fnames=None):
        self._flush_pending()
        self._flush_buffer()
        # this process reads its own successes: the writer's rows go in first
        _writer.write_all(self.env.cr.dbname)
        return super().flush_model(fnames)

    @api.model
    def _insert(self, cr, values):
        """Insert one row with ``cr`` (the caller's or a separate cursor)."""
        values = dict(values)
        values.setdefault("usage_company_id", None)
        cr.execute(
            """
            INSERT INTO ipai_gateway_call_log
                (service_id, company_id, method, path, host, status, outcome, attempts,
                 duration_ms, correlation_id, user_id, job_uuid, error, usage_company_id,
                 create_uid, create_date, write_uid, write_date)
            SELECT %(service_id)s, s.company_id, %(method)s, %(path)s, %(host)s, %(status)s,
                   %(outcome)s,
                   %(attempts)s, %(duration_ms)s, %(correlation_id)s, %(user_id)s,
                   %(job_uuid)s, %(error)s, %(usage_company_id)s,
                   %(user_id)s, now() at time zone 'UTC', %(user_id)s, now() at time zone 'UTC'
              FROM ipai_gateway_service s WHERE s.id = %(service_id)s
            """,
            values,
        )

    @api.model
    def _retention_days(self):
        param = self.env["ir.config_parameter"].sudo().get_param(
            "ipai_microservices_gateway.call_log_days"
        )
        try:
            return max(1, int(param)) if param else DEFAULT_RETENTION_DAYS
        except ValueError:
            return DEFAULT_RETENTION_DAYS

    @api.autovacuum
    def _gc_call_logs(self):
        """Purge call logs older than ``ipai_microservices_gateway.call_log_days``.

        One batch per call, oldest first, returning ``(deleted, remaining)``: Odoo's
        autovacuum commits and calls again while rows remain, so a backlog of millions
        never holds one long transaction or lock.
        """
        batch = int(self.env.context.get("ipai_gateway_gc_batch") or GC_BATCH)
        days = self._retention_days()
        old = SQL("create_date < now() at time zone 'UTC' - make_interval(days => %s)", days)
        self.env.cr.execute(SQL(
            """DELETE FROM ipai_gateway_call_log WHERE id IN (
                   SELECT id FROM ipai_gateway_call_log WHERE %s ORDER BY id LIMIT %s
                   FOR UPDATE SKIP LOCKED)""", old, batch))
        deleted = self.env.cr.rowcount
        # A bounded count: enough to know whether to come back, never a full scan.
        self.env.cr.execute(SQL(
            "SELECT count(*) FROM (SELECT 1 FROM ipai_gateway_call_log WHERE %s LIMIT %s) r",
            old, 100 * batch))
        remaining = self.env.cr.fetchone()[0]
        self.invalidate_model()
        return deleted, remaining
