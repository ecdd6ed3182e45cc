"""Runs of medallion ETL jobs: state, timings, row counts and the quality-gate outcome."""

import json
import math
import time

from deltalake.exceptions import DeltaError
from duckdb import Error as DuckDBError

from odoo import api, fields, models
from odoo.addons.queue_job.exception import RetryableJobError
from odoo.exceptions import UserError
from odoo.tools import escape_psql

from ..lakehouse import errors, quality
from ..lakehouse.statement_client import run_summary
from .ipai_databricks import JOB_CHANNEL
from .ipai_databricks_job import RUN_STATES


class IpaiDatabricksJobRun(models.Model):
    _name = "ipai.databricks.job.run"
    _description = "Databricks job run"
    _order = "id desc"
    _rec_name = "display_name"

    job_id = fields.Many2one("ipai.databricks.job", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="job_id.company_id", store=True)
    layer = fields.Selection(related="job_id.layer", store=True)
    trigger = fields.Selection([("manual", "Manual"), ("upstream", "Upstream succeeded"),
                                ("repair", "Repair")],
                               default="manual")
    run_id = fields.Char(string="Run id", readonly=True, help="Databricks run id.")
    state = fields.Selection(RUN_STATES, default="queued", required=True, readonly=True)
    life_cycle_state = fields.Char(readonly=True)
    result_state = fields.Char(string="Result", readonly=True)
    start_time = fields.Datetime(readonly=True)
    end_time = fields.Datetime(readonly=True)
    duration_seconds = fields.Float(string="Duration (s)", readonly=True)
    message = fields.Text(readonly=True)
    job_uuid = fields.Char(string="Queue job", readonly=True,
                           help="Also the Databricks idempotency token of the trigger.")
    delta_version = fields.Integer(readonly=True, default=-1)
    repair_count = fields.Integer(readonly=True)
    quality_result_ids = fields.One2many("ipai.databricks.quality.result", "job_run_id")

    @api.depends("job_id", "run_id")
    def _compute_display_name(self):
        for run in self:
            run.display_name = f"{run.job_id.name} #{run.run_id or run.id}"

    def _enqueue(self, method="_job_run"):
        for run in self:
            job = getattr(run.with_delay(channel=JOB_CHANNEL, description=self.env._(
                "Run %s", run.job_id.name)), method)()
            run.job_uuid = job.uuid
        return True

    def action_rerun(self):
        """Start a new run of the same job."""
        return self.job_id.action_run_now()

    def action_repair(self):
        for run in self:
            if run.state != "failed":
                raise UserError(self.env._("Only a failed run can be repaired."))
            # sudo: users may repair their failed runs; the run state is the system's.
            run.sudo().write({"state": "queued", "trigger": "repair", "message": False})
            run.sudo()._enqueue("_job_repair")
        return True

    # -- queue jobs ------------------------------------------------------------------

    def _job_run(self):
        self.ensure_one()
        if self.job_id.backend == "local":
            return self._run_local()
        return self._run_databricks(repair=False)

    def _job_repair(self):
        self.ensure_one()
        self.repair_count += 1
        if self.job_id.backend == "local":
            return self._run_local()
        return self._run_databricks(repair=True)

    def _run_local(self):
        job = self.job_id
        started = fields.Datetime.now()
        t0 = time.monotonic()
        self.write({"state": "running", "start_time": started, "life_cycle_state": "RUNNING"})
        lake = job.workspace_id._lakehouse()
        try:
            # One Delta transaction per run attempt: performed again after a worker died,
            # the step finds its own commit and writes nothing more.
            txn = f"odoo:{self.env.cr.dbname}:job-run:{self.id}:{self.repair_count}"
            version = lake.run_step(job.sql, job.target_table.strip(), mode=job.write_mode,
                                    txn=txn)
        except (DuckDBError, DeltaError, OSError, ValueError) as exc:
            return self._finish("failed", str(exc), t0)
        self.delta_version = version
        return self._finish("success", self.env._("Wrote version %(v)s of %(t)s.", v=version,
                                                  t=job.target_table), t0)

    def _run_databricks(self, repair):
        """Trigger (or repair) the run, then hand over to a polling job: no worker waits."""
        job = self.job_id
        client = self.env["ipai.databricks"]._jobs_client(job.workspace_id)
        try:
            if repair:
                client.repair_run(int(self.run_id))
                message = self.env._("Repair of run %s requested.", self.run_id)
            else:
                params = self._parameters()
                # The queue job's uuid is the idempotency token: a retried trigger
                # returns the same run instead of starting a second one.
                token = self.env.context.get("job_uuid") or self.job_uuid
                run_id = client.run_now(int(job.databricks_job_id), token,
                                        job_parameters=params or None)
                self.write({"run_id": str(run_id)})
                message = self.env._("Run %s started.", run_id)
        except errors.DatabricksError as exc:
            if exc.retryable:
                raise RetryableJobError(  # the server's Retry-After, else the retry_pattern
                    str(exc), seconds=int(exc.retry_after) if exc.retry_after else None) from exc
            return self._finish("failed", str(exc), time.monotonic())
        self.write({"state": "running", "start_time": self.start_time or fields.Datetime.now(),
                    "end_time": False, "result_state": False})
        self._enqueue_poll()
        return message

    def _poll_seconds(self):
        """Whole seconds between polls: queue_job takes an int ``eta``, never a float."""
        # sudo: a technical parameter, read on behalf of whoever started the run.
        raw = self.env["ir.config_parameter"].sudo().get_param(
            "ipai_databricks_connector.poll_seconds", "10")
        try:
            seconds = float(raw)
        except (TypeError, ValueError):
            seconds = 10.0  # an unreadable parameter falls back to the default
        return max(0, math.ceil(seconds)) if math.isfinite(seconds) else 10

    def _enqueue_poll(self):
        seconds = self._poll_seconds()
        self.with_delay(channel=JOB_CHANNEL, eta=seconds or None, description=self.env._(
            "Poll run %s", self.display_name))._job_poll()

    def _job_poll(self):
        """One look at the run; polls again later until it has ended."""
        self.ensure_one()
        if self.state != "running":
            return self.env._("Run is %s: nothing to poll.", self.state)
        client = self.env["ipai.databricks"]._jobs_client(self.job_id.workspace_id)
        try:
            run = client.get_run(int(self.run_id))
        except errors.DatabricksError as exc:
            if exc.retryable:
                raise RetryableJobError(  # the server's Retry-After, else the retry_pattern
                    str(exc), seconds=int(exc.retry_after) if exc.retry_after else None) from exc
            return self._finish("failed", str(exc), time.monotonic())
        life_cycle = (run.get("state") or {}).get("life_cycle_state")
        self.life_cycle_state = life_cycle
        if life_cycle not in ("TERMINATED", "SKIPPED", "INTERNAL_ERROR"):
            self._enqueue_poll()
            return self.env._("Run %(run)s is %(state)s.", run=self.run_id, state=life_cycle)
        summary = run_summary(run)
        self.write({"result_state": summary.get("result"), "start_time": summary.get("start"),
                    "end_time": summary.get("end")})
        result = summary.get("result")
        state = {"SUCCESS": "success", "CANCELED": "canceled"}.get(result, "failed")
        return self._finish(state, summary.get("message") or result or life_cycle,
                            time.monotonic(), duration=summary.get("duration_seconds"))

    def _parameters(self):
        if not self.job_id.job_parameters:
            return None
        try:
            params = json.loads(self.job_id.job_parameters)
        except ValueError as exc:
            raise UserError(self.env._("Job parameters must be a JSON object.")) from exc
        return {str(k): str(v) for k, v in params.items()}

    def _finish(self, state, message, t0, duration=None):
        vals = {"state": state, "message": message,
                "duration_seconds": duration if duration is not None else time.monotonic() - t0}
        if not self.end_time:
            vals["end_time"] = fields.Datetime.now()
        if not self.start_time:
            vals["start_time"] = fields.Datetime.now()
        if state in ("success", "failed") and not self.result_state:
            vals["result_state"] = "SUCCESS" if state == "success" else "FAILED"
        vals["life_cycle_state"] = self.life_cycle_state if self.job_id.backend == "databricks" \
            else "TERMINATED"
        self.write(vals)
        if state == "success":
            self._check_table_quality()
            self.job_id._start_downstream()
        else:
            self.job_id.message_post(body=self.env._("Run failed: %s", message))
        return message

    def _quality_not_evaluated(self, exc):
        """The run stands; the rules that could not run (a renamed column, a refused
        statement) are said on the job, not lost in a failed job."""
        message = self.env._("The table quality rules of %(t)s could not be evaluated: %(e)s",
                             t=self.job_id.target_table, e=str(exc).strip())
        self.job_id.message_post(body=message)
        return message

    def _check_table_quality(self):
        """Table rules of the target: on the local backend evaluated with DuckDB on the
        Delta table, on Databricks as statements on the workspace's SQL warehouse (one
        aggregate query per rule, values bound as parameters)."""
        job = self.job_id
        table = (job.target_table or "").strip()
        rules = self.env["ipai.databricks.quality.rule"].search([
            # names are case-insensitive, as on Databricks; "_" is no wildcard
            ("table_name", "=ilike", escape_psql(table)), ("active", "=", True)])
        if not rules or not table:
            return
        try:
            if job.backend == "local":
                results = quality.evaluate_on_lakehouse(job.workspace_id._lakehouse(), table,
                                                        rules._to_engine())
            else:
                client = self.env["ipai.databricks"]._statement_client(job.workspace_id)
                results = quality.evaluate(rules._to_engine(), table,
                                           quality.statement_execute(client), "databricks")
        except errors.DatabricksError as exc:
            if exc.retryable:
                raise  # the warehouse is busy or away: the poll job tries again
            return self._quality_not_evaluated(exc)
        except (DuckDBError, DeltaError, ValueError) as exc:
            return self._quality_not_evaluated(exc)
        rules._record_results(results, job_run_id=self.id)
