"""Medallion ETL jobs: Databricks Jobs (run-now, poll, repair) or local SQL steps."""


from duckdb import Error as DuckDBError

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..lakehouse import dialect, sandbox
from ..lakehouse.local_backend import split_name
from .ipai_databricks_quality_rule import LAYERS

RUN_STATES = [("queued", "Queued"), ("running", "Running"), ("success", "Succeeded"),
              ("failed", "Failed"), ("canceled", "Canceled")]


class IpaiDatabricksJob(models.Model):
    _name = "ipai.databricks.job"
    _description = "Databricks job"
    _inherit = ["mail.thread"]
    _order = "sequence, id"

    name = fields.Char(required=True, tracking=True)
    code = fields.Char()
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    workspace_id = fields.Many2one("ipai.databricks.workspace", required=True, ondelete="restrict")
    backend = fields.Selection(related="workspace_id.backend")
    company_id = fields.Many2one(related="workspace_id.company_id", store=True, index=True)
    layer = fields.Selection(LAYERS, required=True, default="silver")
    databricks_job_id = fields.Char(string="Databricks job id",
                                    help="The job triggered with run-now (Databricks backend).")
    job_parameters = fields.Text(help="JSON object of job parameters sent with run-now.")
    sql = fields.Text(string="SQL step",
                      help="Local backend: a SELECT over Delta tables whose result is written "
                      "to the target table.")
    target_table = fields.Char(help="catalog.schema.table this job writes.")
    write_mode = fields.Selection([("overwrite", "Overwrite"), ("append", "Append")],
                                  default="overwrite", required=True)
    upstream_ids = fields.Many2many(
        "ipai.databricks.job", "ipai_databricks_job_upstream_rel", "job_id", "upstream_id",
        string="Upstream jobs", help="This job starts when all of them last succeeded.")
    downstream_ids = fields.Many2many(
        "ipai.databricks.job", "ipai_databricks_job_upstream_rel", "upstream_id", "job_id",
        string="Downstream jobs")
    run_ids = fields.One2many("ipai.databricks.job.run", "job_id")
    last_run_id = fields.Many2one("ipai.databricks.job.run", compute="_compute_last_run")
    last_run_state = fields.Selection(RUN_STATES, compute="_compute_last_run")

    @api.constrains("workspace_id", "databricks_job_id", "sql", "target_table")
    def _check_definition(self):
        for job in self:
            if job.backend == "databricks" and not job.databricks_job_id:
                raise ValidationError(self.env._(
                    "Job %s needs the Databricks job id.", job.name))
            if job.backend == "local":
                if not (job.sql and job.target_table):
                    raise ValidationError(self.env._(
                        "Local job %s needs a SQL step and a target table.", job.name))
                split_name(job.target_table.strip())
                try:  # Databricks SQL, run on the Odoo host in the sandbox: one SELECT only
                    dialect.check_select(job.sql)
                except (sandbox.SQLRefused, DuckDBError) as exc:
                    raise ValidationError(self.env._(
                        "Job %(job)s: the SQL step is refused: %(reason)s",
                        job=job.name, reason=exc)) from exc

    @api.constrains("upstream_ids")
    def _check_cycle(self):
        if self._has_cycle("upstream_ids"):
            raise ValidationError(self.env._("Jobs cannot depend on each other in a cycle."))

    @api.depends("run_ids.state")
    def _compute_last_run(self):
        for job in self:
            job.last_run_id = job.run_ids[:1]
            job.last_run_state = job.last_run_id.state

    # -- actions -------------------------------------------------------------------

    def action_run_now(self):
        """Enqueue one run per job; the queue job triggers it and polls until it ends."""
        runs = self.env["ipai.databricks.job.run"]
        for job in self:
            # sudo: runs are the system's records (users only read them); whoever may read
            # the job may run it, and the run's progress is then written by the system.
            job.check_access("read")
            run = runs.sudo().create({"job_id": job.id, "trigger": self.env.context.get(
                "ipai_dbx_trigger", "manual")})
            run._enqueue()
            run = run.with_env(self.env)
            runs |= run
        return runs

    def _start_downstream(self):
        """Start each downstream job whose upstream jobs all last succeeded."""
        if self.env.context.get("ipai_dbx_no_downstream"):
            return
        for down in self.downstream_ids.filtered("active"):
            if all(up.last_run_state == "success" for up in down.upstream_ids):
                if down.last_run_state in ("queued", "running"):
                    continue
                down.with_context(ipai_dbx_trigger="upstream").action_run_now()
