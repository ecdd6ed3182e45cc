"""Databricks view snapshots: one refresh of a view, its chain of queue jobs and its counts."""

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg2
from duckdb import Error as DuckDBError
from psycopg2 import sql as pgsql

from odoo import api, fields, models
from odoo.addons.queue_job.exception import RetryableJobError
from odoo.exceptions import UserError
from odoo.tools.sql import make_index_name

from ..lakehouse import errors, pgload, quality
from ..lakehouse.statement_client import manifest_arrow_schema
from .ipai_databricks_view import DONE_STATES

# A refresh job that finds the SQL warehouse starting comes back this much later.
WAREHOUSE_RETRY_SECONDS = 10


class IpaiDatabricksSnapshot(models.Model):
    _name = "ipai.databricks.snapshot"
    _description = "Databricks view snapshot"
    _order = "id desc"

    view_id = fields.Many2one("ipai.databricks.view", required=True, ondelete="cascade",
                              index=True)
    company_id = fields.Many2one(related="view_id.company_id", store=True)
    mode = fields.Selection([("full", "Full"), ("incremental", "Incremental")], required=True,
                            default="full")
    state = fields.Selection(
        [("queued", "Queued"), ("queried", "Query done"), ("loaded", "Loaded"),
         ("checked", "Quality passed"), ("published", "Published"),
         ("rejected", "Rejected by data quality"), ("failed", "Failed")],
        default="queued", required=True, readonly=True)
    requested_by = fields.Many2one("res.users")
    statement_id = fields.Char(readonly=True)
    delta_version = fields.Integer(readonly=True, default=-1,
                                   help="-1 when the source is not a single Delta table.")
    source_committed_at = fields.Datetime(readonly=True,
                                          help="Commit time of the Delta version read.")
    job_run_id = fields.Many2one("ipai.databricks.job.run", readonly=True,
                                 help="The job run that last wrote the source table.")
    truncated = fields.Boolean(readonly=True)
    row_count = fields.Integer(readonly=True, help="Rows in the published model.")
    loaded_rows = fields.Integer(readonly=True, help="Rows loaded by this refresh.")
    watermark_from = fields.Char(readonly=True)
    as_of_version = fields.Integer(
        readonly=True, default=-1, string="Asked version",
        help="The Delta version this refresh was asked to read; -1: the latest.")
    republished_from_id = fields.Many2one(
        "ipai.databricks.snapshot", readonly=True, string="Republishes",
        help="The earlier snapshot this one publishes again (a rollback).")
    parameter_values = fields.Text(readonly=True,
                                   help="JSON: the parameter values bound (name -> text).")
    parameter_label = fields.Char(compute="_compute_parameter_label", string="Parameters")
    refreshed_at = fields.Datetime(readonly=True)
    duration_seconds = fields.Float(readonly=True)
    quality_pass_rate = fields.Float(readonly=True, string="Quality pass rate (%)")
    quality_result_ids = fields.One2many("ipai.databricks.quality.result", "snapshot_id")
    message = fields.Text(readonly=True)
    index_state = fields.Selection(
        [("pending", "Indexes pending"), ("built", "Indexes built"),
         ("failed", "Indexes failed")], readonly=True, string="Indexes",
        help="A full refresh publishes its data as the COPY loaded it; a follow-up job then "
             "builds the primary key and one index per field on the published table (readers "
             "are not blocked; reads, filters and sorts are slower until it is done).")
    index_seconds = fields.Float(readonly=True, string="Index build time (s)")
    index_sql = fields.Text(readonly=True,
                            help="JSON: the CREATE INDEX statements the follow-up job runs.")
    started_at = fields.Datetime(default=fields.Datetime.now, readonly=True)

    @api.depends("parameter_values")
    def _compute_parameter_label(self):
        for snap in self:
            values = json.loads(snap.parameter_values or "{}")
            snap.parameter_label = ", ".join(
                f"{name} = {'NULL' if value is None else value}"
                for name, value in values.items()) or False

    def action_republish(self):
        """Roll back: publish this earlier snapshot's data again, read from its Delta
        version with its parameter values (a Databricks Manager's decision)."""
        self.ensure_one()
        self.view_id._check_manager()
        if self.state != "published" or self.delta_version < 0:
            raise UserError(self.env._(
                "Only a published snapshot of a table source (with its Delta version) can be "
                "published again."))
        return self.view_id._enqueue_refresh(
            mode="full", values=json.loads(self.parameter_values or "{}"),
            as_of_version=self.delta_version, republish=self)

    # -- steps (queue jobs) ------------------------------------------------------------

    def _staging_table(self):
        return f"{self.view_id.model_name}__stg{self.id}"

    def _skip(self, expected=None):
        """True when this step must not run: the snapshot failed, or the step already ran.

        A queue job performed again (queue_job requeues the jobs of a dead worker) then
        does nothing: every load and publish happens once per snapshot.
        """
        return self.state in ("rejected", "failed") or bool(expected and self.state != expected)

    def _skipped(self):
        if self.state in ("rejected", "failed"):
            return self.message
        return self.env._("Already done (the snapshot is %s).", self.state)

    def _fail(self, exc_or_msg):
        message = str(exc_or_msg)
        self._drop_staging()
        self.write({"state": "failed", "message": message})
        self.view_id.write({"refresh_state": "failed", "last_error": message})
        self.view_id.message_post(body=self.env._("Refresh failed: %s", message))
        return message

    def _handle(self, exc):
        """Retryable Databricks errors become job retries while retries remain."""
        retryable = isinstance(exc, errors.DatabricksError) and exc.retryable
        job_uuid = self.env.context.get("job_uuid")
        # sudo: the running job's own record, to read its retry count.
        job = job_uuid and self.env["queue.job"].sudo().search([("uuid", "=", job_uuid)], limit=1)
        last_try = job and job.max_retries and job.retry + 1 >= job.max_retries
        if retryable and job and not last_try:
            retry_after = getattr(exc, "retry_after", None)
            # the server's Retry-After, else the job function's retry_pattern
            raise RetryableJobError(str(exc), seconds=int(retry_after) if retry_after else None)
        return self._fail(exc)

    @api.model
    def _cron_watchdog(self):
        """Fail refreshes that can no longer end on their own.

        A snapshot is stuck when no live queue job works on it any more (its job
        failed, was cancelled, or vanished with its worker), or when it has been running
        longer than ``ipai_databricks_connector.refresh_timeout_hours`` (default 6).
        """
        # sudo: the watchdog reads the system's queue jobs and parameters.
        raw = self.env["ir.config_parameter"].sudo().get_param(
            "ipai_databricks_connector.refresh_timeout_hours", "6")
        try:
            limit = timedelta(hours=float(raw))
        except ValueError:
            limit = timedelta(hours=6)
        now = fields.Datetime.now()
        grace = now - timedelta(minutes=10)  # a chain being enqueued right now
        stuck = self.search([("state", "not in", DONE_STATES), ("create_date", "<", grace)])
        if not stuck:
            return 0
        self.env.cr.execute(
            "SELECT DISTINCT (jsonb_array_elements_text(records->'ids'))::int FROM queue_job "
            "WHERE model_name = %s AND state IN ('wait_dependencies', 'pending', 'enqueued', "
            "'started')", [self._name])
        alive = {row[0] for row in self.env.cr.fetchall()}
        failed = 0
        for snap in stuck:
            if snap.id not in alive:
                reason = self.env._("The refresh job ended without finishing the refresh "
                                    "(failed, cancelled or its worker died).")
            elif snap.create_date < now - limit:
                reason = self.env._("The refresh ran longer than %s hours.", raw)
                self.env["queue.job"].sudo().search([
                    ("model_name", "=", self._name), ("state", "in", ("pending", "enqueued",
                                                                      "wait_dependencies")),
                ]).filtered(lambda j, s=snap: s.id in j.records.ids).button_cancelled()
            else:
                continue
            snap._fail(self.env._("Stopped by the watchdog: %s", reason))
            failed += 1
        return failed

    def _drop_staging(self):
        self.env.cr.execute(pgsql.SQL("DROP TABLE IF EXISTS {}").format(
            pgsql.Identifier(self._staging_table())))

    def _job_cancel_statement(self):
        client = self.env["ipai.databricks"]._statement_client(self.view_id.workspace_id)
        try:
            client.cancel(self.statement_id)
        except errors.DatabricksError as exc:
            return self.env._("Could not cancel statement %(s)s: %(e)s", s=self.statement_id,
                              e=exc)
        return self.env._("Statement %s canceled.", self.statement_id)

    def _job_query(self):
        """Run the query (Databricks: submit and wait) and record its provenance."""
        self.ensure_one()
        if self._skip("queued"):
            return self._skipped()
        view = self.view_id
        ws = view.workspace_id
        vals = {"state": "queried", "job_run_id": self._source_run().id}
        try:
            sql_text, params = self._query()
            if ws.backend == "local":
                lake = ws._lakehouse()
                if view._is_table_source():
                    name = view.source.strip()
                    history = lake.history(name)
                    entry = history[0] if self.as_of_version < 0 else next(
                        (h for h in history if h["version"] == self.as_of_version), None)
                    if entry is None:
                        raise UserError(self.env._(
                            "Version %(v)s of %(t)s is not available (versions %(a)s to %(b)s).",
                            v=self.as_of_version, t=name, a=history[-1]["version"],
                            b=history[0]["version"]))
                    # The load reads this very version, even if the table moves on meanwhile.
                    vals["delta_version"] = entry["version"]
                    self.delta_version = entry["version"]
                    ts = entry.get("timestamp")
                    if ts:
                        vals["source_committed_at"] = datetime.fromtimestamp(
                            ts / 1000, UTC).replace(tzinfo=None)
            else:
                if self.as_of_version >= 0:
                    vals["delta_version"] = self.as_of_version
                if self.env.context.get("job_uuid"):
                    self._wait_for_warehouse(ws)
                client = self.env["ipai.databricks"]._statement_client(ws)
                # The warehouse holds the answer until the query ends (up to 50 s), then
                # the client polls: no backoff sleep past the end of a short query.
                response = client.run(sql_text, parameters=params,
                                      row_limit=view.row_limit or None)
                manifest = response.get("manifest") or {}
                vals.update(statement_id=response["statement_id"],
                            truncated=bool(manifest.get("truncated")))
        except (errors.DatabricksError, UserError, OSError, ValueError, DuckDBError) as exc:
            if self._committed_state() in ("failed", "rejected"):
                return self.env._("Canceled while the query ran.")  # its statement too
            return self._handle(exc)
        if self._committed_state() in ("failed", "rejected"):
            # Canceled while the query ran: writing this row again would fail as a
            # concurrent update, and the job be retried only to skip.
            return self.env._("Canceled while the query ran.")
        self.write(vals)
        return self.env._("Query done.")

    def _committed_state(self):
        """The state as other transactions committed it (a cancel while this job waited on
        the warehouse), which this job's transaction, as old as the job, does not see."""
        with self.env.registry.cursor() as cr:
            cr.execute("SELECT state FROM ipai_databricks_snapshot WHERE id = %s", [self.id])
            row = cr.fetchone()
        return row[0] if row else self.state

    def _wait_for_warehouse(self, ws):
        """In a queue job: a SQL warehouse that does not run is asked to start, and the job
        comes back a few seconds later (a retry that does not count against the job's
        retries) instead of a worker waiting while the warehouse starts. A statement would
        start it too, but then hold the worker for the whole start."""
        state = ws._wake_warehouse()
        if state in ("DELETING", "DELETED"):
            raise UserError(self.env._("SQL warehouse %(id)s is %(state)s.", id=ws.warehouse_id,
                                       state=state.lower()))
        if state not in ("STARTING", "STOPPING", "STOPPED"):
            return  # RUNNING, or a state the API does not name: the statement decides
        # sudo: a system parameter, not user data.
        raw = self.env["ir.config_parameter"].sudo().get_param(
            "ipai_databricks_connector.warehouse_start_minutes", "20")
        try:
            limit = timedelta(minutes=float(raw))
        except ValueError:
            limit = timedelta(minutes=20)
        if self.started_at and self.started_at < fields.Datetime.now() - limit:
            raise UserError(self.env._(
                "SQL warehouse %(id)s did not start within %(minutes)s minutes.",
                id=ws.warehouse_id, minutes=raw))
        raise RetryableJobError(
            self.env._("SQL warehouse %(id)s is %(state)s: the refresh waits for it.",
                       id=ws.warehouse_id, state=state.lower()),
            seconds=WAREHOUSE_RETRY_SECONDS, ignore_retry=True)

    def _query(self):
        view = self.view_id
        sql_text = view._source_sql()
        version = self.as_of_version
        if version < 0 and view.backend == "local" and self.delta_version >= 0:
            version = self.delta_version  # the version _job_query recorded
        if version >= 0 and view._is_table_source():
            # An integer (a field), not user text; Databricks takes no marker here.
            sql_text = f"{sql_text} VERSION AS OF {int(version)}"
        # Bound, never formatted into the SQL: the values this snapshot was asked for.
        params, _texts = view._parameters(json.loads(self.parameter_values or "{}"))
        if self.mode == "incremental":
            column = view._columns().get(view.watermark_column)
            if not column:
                raise UserError(self.env._("The watermark column %s is not in the view.",
                                           view.watermark_column))
            # The largest value, compared as the source type: a BIGINT kept as text
            # compares as a number ("12" > "9"), a timestamp as naive UTC.
            numeric = view._watermark_is_number()
            source = view.column_ids.filtered(lambda c: c.name == view.watermark_column)[:1]
            # As text: Odoo's cursor would turn numeric into a float (exact only to 2**53);
            # a float column as its own shortest exact text (float8::numeric keeps only 15
            # digits: a larger watermark would skip rows, a smaller one load them again).
            template = ("SELECT max({})::text FROM {}" if source.ttype == "float"
                        and source.pg_type == "float8" else
                        "SELECT max({}::numeric)::text FROM {}") if numeric else \
                "SELECT max({}) FROM {}"
            self.env.cr.execute(pgsql.SQL(template).format(
                pgsql.Identifier(column), pgsql.Identifier(view.model_name)))
            last = self.env.cr.fetchone()[0]
            if last is not None and numeric:
                last = Decimal(last)
                last = int(last) if last == last.to_integral_value() else last
            bound = last
            if isinstance(last, datetime) and (source.databricks_type or "") == "TIMESTAMP":
                # Odoo keeps a TIMESTAMP as naive UTC; said so to the warehouse, whatever
                # its session time zone (TIMESTAMP_NTZ stays naive, as it was read).
                bound = last.replace(tzinfo=UTC)
            if last is not None:
                # The watermark column is a validated identifier, quoted in Databricks SQL
                # (it may be a reserved word); its value is bound.
                sql_text = (f"SELECT * FROM ({sql_text}) AS src "  # noqa: S608
                            f"WHERE `{view.watermark_column}` > :ipai_watermark")
                params["ipai_watermark"] = bound
                self.watermark_from = str(last)
        return sql_text, params

    def _source_run(self):
        view = self.view_id
        if not view._is_table_source():
            return self.env["ipai.databricks.job.run"]
        return self.env["ipai.databricks.job.run"].search([
            ("job_id.workspace_id", "=", view.workspace_id.id),
            ("job_id.target_table", "=", view.source.strip()), ("state", "=", "success"),
        ], limit=1, order="end_time desc, id desc")

    def _batches(self):
        view = self.view_id
        ws = view.workspace_id
        if ws.backend == "local":
            sql_text, params = self._query()
            reader = ws._lakehouse().execute(sql_text, params, ws.catalog, ws.schema_name)
            limit = view.row_limit
            if not limit:
                return reader.schema, iter(reader)
            return reader.schema, self._limited(reader, limit)
        client = self.env["ipai.databricks"]._statement_client(ws)
        response = client.wait(self.statement_id)
        return manifest_arrow_schema(response["manifest"]), client.iter_batches(response)

    def _limited(self, reader, limit):
        left = limit
        for batch in reader:
            if left <= 0:
                self.truncated = True
                return
            if batch.num_rows > left:
                self.truncated = True
                yield batch.slice(0, left)
                return
            left -= batch.num_rows
            yield batch

    def _job_load(self):
        """COPY the result into a staging table, batch by batch (bounded memory)."""
        self.ensure_one()
        if self._skip("queried"):
            return self._skipped()
        cr = self.env.cr
        started = time.monotonic()
        try:
            # A failure mid-COPY aborts only this savepoint, so the failure can be recorded.
            with cr.savepoint(flush=False):
                stream = self._copy_to_staging()
        except (errors.DatabricksError, UserError, OSError, ValueError, DuckDBError,
                psycopg2.Error) as exc:
            return self._handle(exc)
        message = self.env._("%s rows loaded.", stream.rows)
        if stream.nul_report:
            message += " " + self.env._(
                "NUL characters removed: %s.", ", ".join(
                    f"{col} ({n})" for col, n in sorted(stream.nul_report.items())))
        self.write({"state": "loaded", "loaded_rows": stream.rows, "message": message,
                    "duration_seconds": time.monotonic() - started})
        return message

    def _copy_to_staging(self):
        view = self.view_id
        cr = self.env.cr
        schema, batches = self._batches()
        mapping = view._columns()
        if list(schema.names) != list(mapping):
            changed = set(schema.names) ^ set(mapping)
            raise UserError(self.env._(
                "The source schema changed (columns %s). Create the model again.",
                ", ".join(sorted(changed)) or self.env._("reordered")))
        live = pgsql.Identifier(view.model_name)
        staging = pgsql.Identifier(self._staging_table())
        cr.execute(pgsql.SQL("DROP TABLE IF EXISTS {s}; CREATE TABLE {s} (LIKE {l})").format(
            s=staging, l=live))
        first_id = 1
        if self.mode == "incremental":
            cr.execute(pgsql.SQL("SELECT COALESCE(max(id), 0) + 1 FROM {}").format(live))
            first_id = cr.fetchone()[0]
        columns = [pgsql.Identifier("id")] + [pgsql.Identifier(mapping[c]) for c in schema.names]
        nul_report = {}
        stream = pgload.CopyStream(pgload.with_ids(batches, first_id, nul_report))
        stream.nul_report = nul_report
        copy = pgsql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
            staging, pgsql.SQL(", ").join(columns))
        cr._obj.copy_expert(copy.as_string(cr._obj), stream, size=1 << 20)
        return stream

    def _table_indexes(self, table):
        """[(name, definition)] of the table's indexes but its primary key, by name."""
        self.env.cr.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = quote_ident(%s)::regclass AND NOT i.indisprimary "
            "ORDER BY c.relname", [table])
        return self.env.cr.fetchall()

    def _ensure_primary_key(self, live):
        """The live table's primary key, built after the publish (with the field indexes)
        rather than before it: the b-tree alone costs about 15 % of the COPY, and until
        it is there a read by id scans the table (a list sorted by id sorts either way).
        A unique index first (its lock lets readers go on), then attached as the key (a
        brief lock, no scan: ``id`` is NOT NULL)."""
        cr = self.env.cr
        cr.execute("SELECT 1 FROM pg_index WHERE indrelid = quote_ident(%s)::regclass "
                   "AND indisprimary", [live])
        if cr.fetchone():
            return
        cr.execute(pgsql.SQL(
            "CREATE UNIQUE INDEX IF NOT EXISTS {k} ON {t} (id);"
            "ALTER TABLE {t} ADD CONSTRAINT {k} PRIMARY KEY USING INDEX {k}").format(
            k=pgsql.Identifier(f"{live}_pkey"), t=pgsql.Identifier(live)))

    def _wanted_indexes(self, live):
        """The CREATE INDEX IF NOT EXISTS statements of the live table, by index name: its
        current indexes (under their own names), those a previous snapshot has not built
        yet, and one per indexed field of the model (as Odoo names and builds them)."""
        cr = self.env.cr
        wanted = {}
        for name, definition in self._table_indexes(live):
            statement = pgload.idempotent(definition)
            if statement:  # PostgreSQL's own text
                wanted[name] = statement
        current = self.view_id.current_snapshot_id
        if current and current != self and current.index_state != "built":
            for name, statement in json.loads(current.index_sql or "{}").items():
                wanted.setdefault(name, statement)
        table = pgsql.Identifier(live)
        for field in self.env[live]._fields.values():
            if not (field.store and field.column_type and field.name != "id"):
                continue
            if field.index not in (True, "btree", "btree_not_null"):
                continue  # no other kind on a generated field
            name = make_index_name(live, field.name)
            column = pgsql.Identifier(field.name)
            where = pgsql.SQL(" WHERE {} IS NOT NULL").format(column) \
                if field.index == "btree_not_null" else pgsql.SQL("")
            wanted.setdefault(name, pgsql.SQL(
                "CREATE INDEX IF NOT EXISTS {} ON {} USING btree ({}){}").format(
                pgsql.Identifier(name), table, column, where).as_string(cr._obj))
        return wanted

    def _job_index(self):
        """Build the published table's indexes (after the publish, so the data is there
        first). CREATE INDEX takes a lock that blocks writers only, and the table is
        read-only: readers go on. Idempotent: an index that exists is skipped."""
        self.ensure_one()
        if self.state != "published" or self.index_state != "pending":
            return self.env._("Nothing to index (the snapshot is %(s)s, its indexes %(i)s).",
                              s=self.state, i=self.index_state or "-")
        cr = self.env.cr
        live = self.view_id.model_name
        started = time.monotonic()
        cr.execute("SET LOCAL maintenance_work_mem = '256MB'")
        failed = {}
        try:
            with cr.savepoint(flush=False):
                self._ensure_primary_key(live)
        except psycopg2.Error as exc:
            failed[f"{live}_pkey"] = str(exc).strip()
        for name, statement in json.loads(self.index_sql or "{}").items():
            try:
                with cr.savepoint(flush=False):  # one index failing leaves the others
                    cr.execute(statement)
            except psycopg2.Error as exc:
                failed[name] = str(exc).strip()
        seconds = time.monotonic() - started
        if not failed:
            self.write({"index_state": "built", "index_seconds": seconds})
            return self.env._("Indexes of %(t)s built in %(n).1f s.", t=live, n=seconds)
        detail = "; ".join(f"{name}: {error}" for name, error in sorted(failed.items()))
        # sudo: the running job's own record, to read its retry count.
        job_uuid = self.env.context.get("job_uuid")
        job = job_uuid and self.env["queue.job"].sudo().search([("uuid", "=", job_uuid)],
                                                               limit=1)
        if job and job.max_retries and job.retry + 1 < job.max_retries:
            # the job function's retry pattern sets the delay; the data stays published
            raise RetryableJobError(self.env._("Indexes not built: %s", detail))
        message = self.env._("The data is published, but these indexes could not be built "
                             "(filters and sorts on them are slower): %s", detail)
        self.write({"index_state": "failed", "index_seconds": seconds, "message": message})
        self.view_id.message_post(body=message)
        return message

    def _job_quality(self):
        """Evaluate the view's rules on the staging table; block publication on failure."""
        self.ensure_one()
        if self._skip("loaded"):
            return self._skipped()
        view = self.view_id
        rules = view.rule_ids.filtered("active")
        if not rules:
            self.write({"state": "checked", "quality_pass_rate": 100.0})
            return self.env._("No quality rule.")
        cr = self.env.cr

        def execute(query, params):
            cr.execute(query, params)
            return cr.fetchone()

        try:
            with cr.savepoint(flush=False):  # a rule's SQL error aborts only this savepoint
                results = quality.evaluate(rules._to_engine(view._columns()),
                                           f'"{self._staging_table()}"', execute, "postgres")
        except (psycopg2.Error, ValueError) as exc:
            return self._fail(self.env._("A quality rule could not be evaluated: %s",
                                         str(exc).strip()))
        rules._record_results(results, view_id=view.id, snapshot_id=self.id)
        summary = quality.summarize(results, threshold=view.quality_threshold)
        if summary["publishable"]:
            self.write({"state": "checked", "quality_pass_rate": summary["pass_rate"]})
            return self.env._("Quality passed (%s%%).", round(summary["pass_rate"], 2))
        self._drop_staging()
        names = {str(r.id): r.name for r in rules}
        failed = ", ".join(names[c] for c in summary["failed_rules"])
        reason = self.env._(
            "Not published: pass rate %(rate).2f%% (threshold %(threshold).2f%%)%(failed)s.",
            rate=summary["pass_rate"], threshold=view.quality_threshold,
            failed=self.env._("; failing rules: %s", failed) if failed else "")
        self.write({"state": "rejected", "quality_pass_rate": summary["pass_rate"],
                    "message": reason})
        view.write({"refresh_state": "blocked", "last_error": reason,
                    "last_quality_pass_rate": summary["pass_rate"]})
        view.message_post(body=reason)
        return reason

    def _job_publish(self):
        """Swap the staging table in (full) or append it (incremental), in one transaction:
        readers see the previous snapshot until this commits."""
        self.ensure_one()
        if self._skip("checked"):
            return self._skipped()
        view = self.view_id
        cr = self.env.cr
        live, staging = view.model_name, self._staging_table()
        try:
            with cr.savepoint(flush=False):
                inexact = view.column_ids._measure_exactness(
                    staging, incremental=self.mode == "incremental")
                wanted = self._wanted_indexes(live)  # before the swap drops the old table
                self._swap_in(live, staging)
        except psycopg2.Error as exc:
            return self._fail(self.env._("Publishing failed: %s", str(exc).strip()))
        if inexact:
            # Never silently rounded: the view and its chatter say which columns.
            view.message_post(body=self.env._(
                "Columns %s hold values Odoo shows rounded (the database keeps them exact).",
                ", ".join(inexact.mapped("name"))))
        if self.mode == "full":
            count = self.loaded_rows  # the whole table, as COPY loaded it: no scan
        else:
            cr.execute(pgsql.SQL("SELECT count(*) FROM {}").format(pgsql.Identifier(live)))
            count = cr.fetchone()[0]
        self.env[live].invalidate_model()
        self.write({"state": "published", "row_count": count,
                    "refreshed_at": fields.Datetime.now(), "index_state": "pending",
                    "index_sql": json.dumps(wanted)})
        view.write({"current_snapshot_id": self.id, "refresh_state": "idle", "last_error": False,
                    "last_quality_pass_rate": self.quality_pass_rate})
        if self.republished_from_id:
            view.message_post(body=self.env._(
                "Rolled back: snapshot %(old)s (Delta version %(v)s) published again as snapshot "
                "%(new)s, requested by %(user)s.", old=self.republished_from_id.id,
                v=self.delta_version, new=self.id, user=self.requested_by.name or "-"))
        elif self.as_of_version >= 0:
            view.message_post(body=self.env._(
                "Published as of Delta version %(v)s (snapshot %(s)s).", v=self.delta_version,
                s=self.id))
        return self.env._("Published %s rows.", count)

    def _swap_in(self, live, staging):
        cr = self.env.cr
        if self.mode == "incremental":
            cr.execute(pgsql.SQL("INSERT INTO {l} SELECT * FROM {s}; DROP TABLE {s}").format(
                l=pgsql.Identifier(live), s=pgsql.Identifier(staging)))
            return
        old = f"{live}__old{self.id}"
        # A staging table loaded by an earlier version has its key already: kept.
        cr.execute("SELECT 1 FROM pg_constraint WHERE conrelid = quote_ident(%s)::regclass "
                   "AND conname = %s", [staging, f"{staging}_pk"])
        keyed = bool(cr.fetchone())
        # Named explicitly: PostgreSQL would truncate a long generated name. The old
        # table's indexes go with it; _job_index builds the key and the others on the new one.
        renames = [pgsql.SQL(
            "ALTER TABLE {l} RENAME TO {o}; ALTER TABLE {s} RENAME TO {l}; DROP TABLE {o}").format(
            s=pgsql.Identifier(staging), l=pgsql.Identifier(live), o=pgsql.Identifier(old))]
        if keyed:
            renames.append(pgsql.SQL("ALTER TABLE {l} RENAME CONSTRAINT {spk} TO {lpk}").format(
                l=pgsql.Identifier(live), spk=pgsql.Identifier(f"{staging}_pk"),
                lpk=pgsql.Identifier(f"{live}_pkey")))
        cr.execute(pgsql.SQL("; ").join(renames))
