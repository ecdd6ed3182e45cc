import os

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import config

from ..lakehouse import errors
from ..lakehouse.local_backend import LocalLakehouse
from .ipai_databricks_view import MANAGER_GROUP

# The states of the SQL Warehouses API.
WAREHOUSE_STATES = [("STARTING", "Starting"), ("RUNNING", "Running"), ("STOPPING", "Stopping"),
                    ("STOPPED", "Stopped"), ("DELETING", "Deleting"), ("DELETED", "Deleted")]


def default_local_root(dbname):
    """Where the embedded backend keeps Delta tables unless a path is given."""
    return os.path.join(config["data_dir"], "ipai_lakehouse", dbname)


# Hosts of presigned result links: S3, Azure Blob / ADLS Gen2, Google Cloud Storage.
DEFAULT_LINK_HOSTS = ("*.s3.amazonaws.com,*.s3.*.amazonaws.com,s3.*.amazonaws.com,"
                      "*.blob.core.windows.net,*.dfs.core.windows.net,"
                      "storage.googleapis.com,*.storage.googleapis.com")


class IpaiDatabricksWorkspace(models.Model):
    _name = "ipai.databricks.workspace"
    _description = "Databricks workspace"
    _order = "sequence, name"

    name = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company, index=True)
    backend = fields.Selection(
        [("local", "Local Delta Lake (embedded)"), ("databricks", "Databricks")],
        required=True, default="local",
        help="Local: Delta tables read with delta-rs and queried with DuckDB, no cloud "
        "account needed. Databricks: a SQL warehouse and Jobs, called through the gateway.",
    )
    # Databricks backend
    service_id = fields.Many2one(
        "ipai.gateway.service", string="Gateway service", domain=[("kind", "=", "databricks")],
        help="Holds the workspace URL and its token (PAT or OAuth M2M client credentials) "
        "in the gateway's encrypted vault.",
    )
    warehouse_id = fields.Char(string="SQL warehouse id")
    warehouse_state = fields.Selection(
        WAREHOUSE_STATES, readonly=True, copy=False,
        help="As the SQL Warehouses API last reported it (see Checked at).")
    warehouse_size = fields.Char(readonly=True, copy=False, help="The warehouse's cluster size.")
    warehouse_auto_stop_mins = fields.Integer(
        string="Auto-stop (minutes)", readonly=True, copy=False,
        help="Minutes idle before the warehouse stops by itself (0: never), as last reported.")
    warehouse_checked_at = fields.Datetime(string="Checked at", readonly=True, copy=False)
    catalog = fields.Char(default="main")
    schema_name = fields.Char(string="Schema", default="default")
    # Result links (EXTERNAL_LINKS): the endpoint names the URLs, so they are held to
    # this policy before any download.
    link_hosts = fields.Char(
        string="Result-link hosts", default=DEFAULT_LINK_HOSTS,
        help="Comma-separated host patterns (fnmatch, optionally host:port) that result "
        "links may point to: the cloud object stores Databricks hands out presigned URLs "
        "on. Any other link is not fetched.")
    allow_http_links = fields.Boolean(
        string="Allow plain-http links on loopback",
        help="For the local Databricks API server and tests only: plain http result links "
        "are fetched when their host is a loopback address. Never needed for a real "
        "workspace.")
    link_max_mb = fields.Integer(
        string="Result chunk cap (MB)", default=256,
        help="A result chunk larger than this is refused instead of filling the worker's "
        "memory.")
    # Local backend
    local_root = fields.Char(
        string="Lakehouse root",
        help="A directory, or s3://bucket/prefix for an S3-compatible bucket (MinIO). "
        "Empty: a folder in Odoo's data directory.",
    )
    storage_service_id = fields.Many2one(
        "ipai.gateway.service", string="Bucket credentials",
        help="For s3:// roots: a gateway service whose base URL is the S3 endpoint, with Basic "
        "authentication (user = access key id, password = secret key, kept in the vault).",
    )
    storage_region = fields.Char(default="us-east-1")
    connection_state = fields.Selection(
        [("unknown", "Not tested"), ("ok", "OK"), ("failed", "Failed")],
        default="unknown", readonly=True, copy=False,
    )
    connection_message = fields.Char(readonly=True, copy=False)
    view_count = fields.Integer(compute="_compute_counts")
    job_count = fields.Integer(compute="_compute_counts")

    @api.constrains("backend", "service_id", "warehouse_id")
    def _check_backend(self):
        for ws in self:
            if ws.backend == "databricks" and not (ws.service_id and ws.warehouse_id):
                raise ValidationError(self.env._(
                    "A Databricks workspace needs a gateway service and a SQL warehouse id."
                ))

    def _compute_counts(self):
        views = dict(self.env["ipai.databricks.view"]._read_group(
            [("workspace_id", "in", self.ids)], ["workspace_id"], ["__count"]))
        jobs = dict(self.env["ipai.databricks.job"]._read_group(
            [("workspace_id", "in", self.ids)], ["workspace_id"], ["__count"]))
        for ws in self:
            ws.view_count = views.get(ws, 0)
            ws.job_count = jobs.get(ws, 0)


    def _local_root(self):
        self.ensure_one()
        return self.local_root or default_local_root(self.env.cr.dbname)

    def _storage_options(self):
        root = self._local_root()
        if "://" not in root:
            return None
        service = self.storage_service_id
        if not service:
            raise UserError(self.env._(
                "Workspace %s reads a bucket: set its bucket credentials.", self.display_name))
        # sudo: the vault is readable by nobody; the workspace owns this service.
        secret_model = self.env["ipai.gateway.secret"].sudo()
        secret = secret_model._reveal(service, "password")
        return {
            "AWS_ENDPOINT_URL": service.base_url, "AWS_ACCESS_KEY_ID": service.sudo().username,
            "AWS_SECRET_ACCESS_KEY": secret or "", "AWS_REGION": self.storage_region or "us-east-1",
            "AWS_ALLOW_HTTP": "true" if service.base_url.startswith("http://") else "false",
            "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
        }

    def write(self, vals):
        res = super().write(vals)
        if "company_id" in vals:
            # The rows' company rule follows the view's (hence the workspace's) company.
            # sudo: views of the workspace the manager just moved, in any company.
            self.env["ipai.databricks.view"].sudo().with_context(active_test=False).search(
                [("workspace_id", "in", self.ids), ("model_id", "!=", False)])._sync_security()
        return res

    def _lakehouse(self):
        self.ensure_one()
        if self.backend != "local":
            raise UserError(self.env._("Workspace %s is not a local one.", self.display_name))
        root = self._local_root()
        if "://" not in root:
            os.makedirs(root, exist_ok=True)
        # sudo: reading two system parameters (the sandbox's limits), not user data.
        params = self.env["ir.config_parameter"].sudo()
        return LocalLakehouse(
            root, storage_options=self._storage_options(),
            memory_limit=params.get_param("ipai_databricks_connector.duckdb_memory_limit"),
            threads=params.get_param("ipai_databricks_connector.duckdb_threads"))

    # -- actions ---------------------------------------------------------------

    def action_test_connection(self):
        for ws in self:
            try:
                message = ws._test_connection()
                vals = {"connection_state": "ok", "connection_message": message}
            except (errors.DatabricksError, UserError, OSError, ValueError) as exc:
                vals = {"connection_state": "failed", "connection_message": str(exc)[:500]}
            # sudo: the outcome of the check, recorded for whoever may press the button (a
            # Databricks User included, who may not edit the workspace).
            ws.sudo().write(vals)
        if len(self) == 1:
            return {
                "type": "ir.actions.client", "tag": "display_notification",
                "params": {
                    "title": self.env._("Test connection"),
                    "message": self.connection_message,
                    "type": "success" if self.connection_state == "ok" else "danger",
                    "sticky": self.connection_state != "ok",
                },
            }
        return True

    def _test_connection(self):
        self.ensure_one()
        if self.backend == "local":
            lake = self._lakehouse()
            tables = lake.list_tables() if "://" not in lake.root else []
            lake.execute("SELECT 1 AS ok").read_all()
            return self.env._("Local lakehouse at %(root)s: %(n)s Delta table(s).",
                              root=lake.root, n=len(tables))
        warehouse = self._fetch_warehouse()
        self.env["ipai.databricks"]._transport(self)("GET", "/api/2.0/clusters/list")
        return self.env._("SQL warehouse %(name)s is %(state)s.",
                          name=warehouse.get("name") or self.warehouse_id,
                          state=warehouse.get("state") or "?")

    # -- SQL warehouse -------------------------------------------------------------------

    def _warehouse_path(self, action=""):
        self.ensure_one()
        if self.backend != "databricks":
            raise UserError(self.env._("Workspace %s has no SQL warehouse: it is a local one.",
                                       self.display_name))
        return f"/api/2.0/sql/warehouses/{self.warehouse_id}{action}"

    def _fetch_warehouse(self):
        """GET the warehouse and record its state, size and auto-stop on the workspace."""
        path = self._warehouse_path()  # a local workspace says so, before any transport
        info = self.env["ipai.databricks"]._transport(self)("GET", path)
        known = dict(WAREHOUSE_STATES)
        # sudo: the remote warehouse's state, recorded for whoever looks at it (a refresh
        # job of a Databricks User included); no user-entered data.
        self.sudo().write({
            "warehouse_state": info.get("state") if info.get("state") in known else False,
            "warehouse_size": info.get("cluster_size") or False,
            "warehouse_auto_stop_mins": info.get("auto_stop_mins") or 0,
            "warehouse_checked_at": fields.Datetime.now()})
        return info

    def _check_warehouse_manager(self):
        if not (self.env.su or self.env.user.has_group(MANAGER_GROUP)):
            raise AccessError(self.env._("Only Databricks Managers may start or stop a SQL "
                                         "warehouse."))

    def action_refresh_warehouse(self):
        for ws in self:
            ws._fetch_warehouse()
        return True

    def action_start_warehouse(self):
        """Ask the warehouse to start (it runs a few seconds to minutes later)."""
        return self._warehouse_command("/start")

    def action_stop_warehouse(self):
        return self._warehouse_command("/stop")

    def _warehouse_command(self, action):
        """A manager's start or stop (``action``) of each warehouse, then its new state."""
        self._check_warehouse_manager()
        for ws in self:
            path = ws._warehouse_path(action)  # a local workspace says so, before any transport
            self.env["ipai.databricks"]._transport(ws)("POST", path)
            ws._fetch_warehouse()
        return True

    def _wake_warehouse(self):
        """The warehouse's state after asking a stopped (or stopping) one to start: the
        system's own call for a refresh, so no manager check."""
        self.ensure_one()
        state = self._fetch_warehouse().get("state")
        if state in ("STOPPED", "STOPPING"):
            self.env["ipai.databricks"]._transport(self)("POST", self._warehouse_path("/start"))
            state = self._fetch_warehouse().get("state")
        return state
