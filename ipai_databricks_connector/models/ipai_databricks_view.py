"""Databricks views: gold tables as read-only Odoo models, refreshed by a queue-job chain."""

import json
import logging
import re
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from xml.sax.saxutils import quoteattr

import psycopg2
from duckdb import Error as DuckDBError
from psycopg2 import sql as pgsql

from odoo import Command, api, fields, models
from odoo.addons.queue_job.delay import chain
from odoo.addons.queue_job.exception import RetryableJobError
from odoo.exceptions import UserError, ValidationError

from ..lakehouse import errors, pgload, quality, sandbox
from ..lakehouse.local_backend import split_name
from ..lakehouse.statement_client import manifest_arrow_schema
from ..lakehouse.types import arrow_field_spec
from .ipai_databricks import JOB_CHANNEL

_logger = logging.getLogger(__name__)
USER_GROUP = "ipai_databricks_connector.databricks_group_user"
MANAGER_GROUP = "ipai_databricks_connector.databricks_group_manager"
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SCHEDULES = {"15min": timedelta(minutes=15), "hourly": timedelta(hours=1),
             "daily": timedelta(days=1), "weekly": timedelta(weeks=1)}
DONE_STATES = ("published", "rejected", "failed")


def _field_name(column, taken):
    base = "x_" + (re.sub(r"[^a-z0-9_]+", "_", column.lower()).strip("_") or "col")
    base = base[:60]
    name, n = base, 2
    while name in taken:
        name, n = f"{base[:57]}_{n}", n + 1
    return name


class IpaiDatabricksView(models.Model):
    _name = "ipai.databricks.view"
    _description = "Databricks view"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "name"

    name = fields.Char(required=True, tracking=True)
    code = fields.Char(required=True, help="Technical name: the Odoo model is x_dbx_<code>.")
    active = fields.Boolean(default=True)
    workspace_id = fields.Many2one("ipai.databricks.workspace", required=True, ondelete="restrict")
    backend = fields.Selection(related="workspace_id.backend")
    company_id = fields.Many2one(related="workspace_id.company_id", store=True, index=True)
    group_ids = fields.Many2many(
        "res.groups", "ipai_databricks_view_group_rel", "view_id", "group_id",
        string="Limited to groups",
        help="When set, only members of these groups (and Databricks Managers) read the "
        "rows. Empty: every Databricks User of the view's company.")
    source = fields.Text(
        required=True,
        help="A table name (catalog.schema.table) or a SELECT statement. Use :name markers "
        "for parameters: values are always bound, never written into the SQL.",
    )
    user_id = fields.Many2one("res.users", string="Responsible",
                              default=lambda self: self.env.user, tracking=True)
    schedule = fields.Selection(
        [("manual", "Manual"), ("15min", "Every 15 minutes"), ("hourly", "Hourly"),
         ("daily", "Daily"), ("weekly", "Weekly")],
        required=True, default="daily",
    )
    next_refresh_at = fields.Datetime(copy=False)
    freshness_slo_hours = fields.Float(
        string="Freshness SLO (h)", default=24.0,
        help="Maximum age of the published data before the view counts as stale.")
    refresh_mode = fields.Selection(
        [("full", "Full"), ("incremental", "Incremental (watermark)")],
        required=True, default="full")
    watermark_column = fields.Char(
        help="Incremental refresh loads only rows whose value in this column is greater "
        "than the largest value already loaded.")
    quality_threshold = fields.Float(
        string="Quality threshold (%)", default=98.0,
        help="A snapshot whose overall pass rate is below this is not published.")
    row_limit = fields.Integer(help="Optional cap on rows fetched (the snapshot says when it "
                               "was truncated).")
    # Generated model
    model_id = fields.Many2one("ir.model", readonly=True, copy=False, ondelete="set null")
    model_name = fields.Char(compute="_compute_model_name")
    action_id = fields.Many2one("ir.actions.act_window", readonly=True, copy=False)
    menu_id = fields.Many2one("ir.ui.menu", readonly=True, copy=False)
    column_map = fields.Text(readonly=True, copy=False,
                             help="JSON: source column -> Odoo field name.")
    column_types = fields.Text(readonly=True, copy=False,
                               help="JSON: source column -> its Arrow type, as read.")
    # Snapshots
    snapshot_ids = fields.One2many("ipai.databricks.snapshot", "view_id")
    current_snapshot_id = fields.Many2one("ipai.databricks.snapshot", readonly=True, copy=False)
    row_count = fields.Integer(related="current_snapshot_id.row_count")
    refreshed_at = fields.Datetime(related="current_snapshot_id.refreshed_at")
    snapshot_label = fields.Char(compute="_compute_snapshot_label", string="Published data")
    refresh_state = fields.Selection(
        [("idle", "Idle"), ("running", "Refreshing"), ("failed", "Last refresh failed"),
         ("blocked", "Blocked by data quality")],
        default="idle", readonly=True, copy=False)
    last_error = fields.Text(readonly=True, copy=False)
    freshness_status = fields.Selection(
        [("fresh", "Fresh"), ("stale", "Stale"), ("failed", "Failed")],
        compute="_compute_freshness")
    data_age_hours = fields.Float(compute="_compute_freshness", string="Data age (h)")
    # Quality
    rule_ids = fields.One2many("ipai.databricks.quality.rule", "view_id")
    quality_result_ids = fields.One2many("ipai.databricks.quality.result", "view_id")
    last_quality_pass_rate = fields.Float(readonly=True, copy=False,
                                          string="Last quality pass rate (%)")

    _code_unique = models.Constraint("UNIQUE(code)", "A view with this code already exists.")

    @api.constrains("code")
    def _check_code(self):
        for view in self:
            if not _CODE.match(view.code or ""):
                raise ValidationError(self.env._(
                    "The code must start with a letter and hold only lowercase letters, digits "
                    "and underscores (at most 40)."))

    @api.constrains("source", "workspace_id")
    def _check_source(self):
        for view in self.filtered("source"):
            view._source_sql()

    @api.constrains("watermark_column", "refresh_mode")
    def _check_watermark(self):
        for view in self:
            if view.refresh_mode == "incremental" and not _IDENT.match(view.watermark_column or ""):
                raise ValidationError(self.env._(
                    "Incremental refresh needs a watermark column (a plain column name)."))

    def write(self, vals):
        if "code" in vals and any(v.model_id and v.code != vals["code"] for v in self):
            raise UserError(self.env._("The code of a view with a model cannot change."))
        res = super().write(vals)
        if {"group_ids", "workspace_id", "name"} & set(vals):
            self.filtered("model_id")._sync_security()
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_models(self):
        # sudo: the generated model, its menu and action belong to the view.
        for view in self.filtered("model_id"):
            view.menu_id.sudo().unlink()
            view.action_id.sudo().unlink()
            self.env["ir.ui.view"].sudo().search([("model", "=", view.model_name)]).unlink()
            self.env["ir.model.access"].sudo().search(
                [("model_id", "=", view.model_id.id)]).unlink()
            # Staging and swap tables a failed or killed refresh may have left.
            self.env.cr.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND (tablename LIKE %s OR tablename LIKE %s)",
                [view.model_name.replace("_", "\\_") + "\\_\\_stg%",
                 view.model_name.replace("_", "\\_") + "\\_\\_old%"])
            for (table,) in self.env.cr.fetchall():
                self.env.cr.execute(pgsql.SQL("DROP TABLE IF EXISTS {}").format(
                    pgsql.Identifier(table)))
            view.model_id.sudo().unlink()  # drops the model's table and its record rules

    @api.depends("code")
    def _compute_model_name(self):
        for view in self:
            view.model_name = f"x_dbx_{view.code}" if view.code else False

    @api.depends("current_snapshot_id.refreshed_at", "current_snapshot_id.delta_version",
                 "current_snapshot_id.statement_id")
    def _compute_snapshot_label(self):
        for view in self:
            snap = view.current_snapshot_id
            if not snap:
                view.snapshot_label = self.env._("No data published yet")
                continue
            when = fields.Datetime.to_string(
                fields.Datetime.context_timestamp(view, snap.refreshed_at))
            if snap.delta_version is not False and snap.delta_version >= 0:
                view.snapshot_label = self.env._(
                    "As of version %(v)s, refreshed at %(t)s", v=snap.delta_version, t=when)
            else:
                view.snapshot_label = self.env._(
                    "As of statement %(s)s, refreshed at %(t)s", s=snap.statement_id or "-",
                    t=when)

    @api.depends("current_snapshot_id.source_committed_at", "current_snapshot_id.refreshed_at",
                 "refresh_state", "freshness_slo_hours")
    def _compute_freshness(self):
        now = fields.Datetime.now()
        for view in self:
            snap = view.current_snapshot_id
            data_time = snap and (snap.source_committed_at or snap.refreshed_at)
            view.data_age_hours = (now - data_time).total_seconds() / 3600 if data_time else 0.0
            if view.refresh_state in ("failed", "blocked"):
                view.freshness_status = "failed"
            elif not data_time or view.data_age_hours > view.freshness_slo_hours:
                view.freshness_status = "stale"
            else:
                view.freshness_status = "fresh"

    # -- source and schema ---------------------------------------------------------

    def _is_table_source(self):
        return bool(re.fullmatch(r"\s*[A-Za-z_]\w*\.[A-Za-z_]\w*\.[A-Za-z_]\w*\s*", self.source))

    def _source_sql(self):
        self.ensure_one()
        src = self.source.strip().rstrip(";")
        if self._is_table_source():
            split_name(src)  # validates the identifiers
            return f"SELECT * FROM {src}"  # noqa: S608 - validated catalog.schema.table
        if not re.match(r"(?is)^\s*(select|with)\b", src):
            raise ValidationError(self.env._(
                "The source must be a table name or a SELECT statement."))
        if self.workspace_id.backend == "local":
            # Local SQL runs on the Odoo host: the sandbox's parser must see one SELECT.
            try:
                sandbox.check_select(src)
            except (sandbox.SQLRefused, DuckDBError) as exc:
                raise ValidationError(self.env._(
                    "View %(view)s: the source is refused: %(reason)s",
                    view=self.display_name, reason=exc)) from exc
        return src

    def _watermark_is_number(self):
        """True when the watermark is a number the model stores as text (BIGINT, wide
        DECIMAL); the source type comes from the read schema, or the field's help."""
        self.ensure_one()
        source_type = json.loads(self.column_types or "{}").get(self.watermark_column)
        if source_type is None:  # a model built before column types were kept
            field = self.env["ir.model.fields"].sudo().search([  # sudo: model metadata
                ("model", "=", self.model_name),
                ("name", "=", self._columns().get(self.watermark_column))], limit=1)
            match = re.search(r"\((\w+)", field.help or "")
            source_type = match.group(1) if match else ""
        return bool(re.match(r"^(u?int(8|16|32|64)|decimal)", source_type))

    def _columns(self):
        return json.loads(self.column_map or "{}")

    def _fetch_schema(self):
        """The pyarrow schema of the source (no rows are read)."""
        ws = self.workspace_id
        # The source is SQL by design (written by a Databricks Manager).
        probe = f"SELECT * FROM ({self._source_sql()}) AS src LIMIT 0"  # noqa: S608
        if ws.backend == "local":
            try:
                return ws._lakehouse().schema(probe)
            except (DuckDBError, ValueError) as exc:
                raise UserError(self.env._("View %(view)s: the source cannot be read: %(error)s",
                                           view=self.display_name, error=exc)) from exc
        client = self.env["ipai.databricks"]._statement_client(ws, timeout=300)
        result = client.execute(probe, disposition="INLINE", format="JSON_ARRAY")
        return manifest_arrow_schema(result.manifest)

    # -- generated model ---------------------------------------------------------------

    def action_create_model(self):
        self._check_manager()
        for view in self:
            if view.backend == "databricks":
                # Statements never run in an HTTP worker.
                view.with_delay(channel=JOB_CHANNEL, description=self.env._(
                    "Create the model of view %s", view.name))._job_create_model()
            else:
                view._create_model(view._fetch_schema())
        return True

    def _job_create_model(self):
        self._create_model(self._fetch_schema())
        return self.env._("Model %s created.", self.model_name)

    def _create_model(self, schema):
        """(Re)build x_dbx_<code> with one typed read-only field per column."""
        self.ensure_one()
        names = list(schema.names)
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise UserError(self.env._(
                "The source returns duplicate column names: %s. Alias them.", ", ".join(dupes)))
        # sudo: building a model, its access rights, views and menu is an admin operation
        # done on behalf of a Databricks Manager (checked by the caller).
        IrModel = self.env["ir.model"].sudo()
        if self.model_id:
            self._unlink_models()
        taken, mapping, field_cmds = {"id"}, {}, []
        for field in schema:
            spec = arrow_field_spec(field.type)
            fname = _field_name(field.name, taken)
            taken.add(fname)
            mapping[field.name] = fname
            field_cmds.append({
                "name": fname, "field_description": field.name, "ttype": spec.ttype,
                "readonly": True, "store": True, "state": "manual",
                "help": self.env._("Source column %(col)s (%(type)s)%(note)s", col=field.name,
                                   type=str(field.type),
                                   note=f": {spec.note}" if spec.note else ""),
            })
        model = IrModel.create({
            "name": self.name, "model": self.model_name, "state": "manual",
            "info": self.env._("Read-only snapshot of Databricks view %s.", self.name),
            "field_id": [],  # no default x_name field: the columns follow
        })
        # Not as field_id commands: ir.model.fields refuses x2many commands under sudo
        # (Odoo checks the transaction's real user), so a Manager would be refused.
        self.env["ir.model.fields"].sudo().create(
            [dict(vals, model_id=model.id) for vals in field_cmds])
        action, menu = self._create_ui(model, schema, mapping)
        types = {field.name: str(field.type) for field in schema}
        self.write({"model_id": model.id, "column_map": json.dumps(mapping),
                    "column_types": json.dumps(types),
                    "action_id": action.id, "menu_id": menu.id,
                    "current_snapshot_id": False})
        self._sync_security()
        self.message_post(body=self.env._("Model %(m)s created with %(n)s fields.",
                                          m=self.model_name, n=len(mapping)))
        return model

    def _sync_security(self):
        """Access rights, company rule and menu groups of each generated model.

        Rows carry no company of their own: the rule follows the view's company (a view
        without one is shared). Called on create, on "Rebuild model", when the view's
        groups or workspace change, when a workspace changes company, and on upgrade.
        """
        # sudo: access rules of the generated model, on behalf of a Databricks Manager
        # (checked by the callers) or of the system (upgrade, workspace company).
        Access = self.env["ir.model.access"].sudo()
        Rule = self.env["ir.rule"].sudo()
        manager = self.env.ref(MANAGER_GROUP)
        for view in self.filtered("model_id"):
            model = view.model_id.sudo()
            readers = view.group_ids or self.env.ref(USER_GROUP)
            Access.search([("model_id", "=", model.id)]).unlink()
            # Read only: rows are written by the refresh only (SQL COPY), never the ORM.
            for group in readers | manager:
                Access.create({"name": f"{model.model}.{group.id}", "model_id": model.id,
                               "group_id": group.id, "perm_read": True, "perm_write": False,
                               "perm_create": False, "perm_unlink": False})
            company = view.company_id.id
            domain = (f"[(1 if {company} in company_ids else 0, '=', 1)]" if company
                      else "[(1, '=', 1)]")
            values = {"name": f"{model.model}: company of view {view.code}",
                      "model_id": model.id, "domain_force": domain, "global": True,
                      "perm_read": True, "perm_write": True, "perm_create": True,
                      "perm_unlink": True}
            rule = Rule.search([("model_id", "=", model.id)], limit=1)
            if rule:
                rule.write(values)
            else:
                Rule.create(values)
            if view.menu_id:
                view.menu_id.sudo().group_ids = [Command.set(readers.ids)]

    def _create_ui(self, model, schema, mapping):
        # sudo: views, action and menu of the generated model (see _create_model).
        View = self.env["ir.ui.view"].sudo()
        spec = {fname: arrow_field_spec(schema.field(col).type).ttype
                for col, fname in mapping.items()}
        measures = [f for f, t in spec.items() if t in ("integer", "float")]
        dims = [f for f, t in spec.items() if t in ("char", "date", "boolean", "datetime")]
        list_fields = "".join(f'<field name="{f}" optional="show"/>' for f in mapping.values())
        View.create({"name": f"{model.model}.list", "model": model.model, "type": "list",
                     "arch": f'<list create="0" edit="0" delete="0">{list_fields}</list>'})
        row = "".join(f'<field name="{f}" type="row"/>' for f in dims[:1])
        measure = "".join(f'<field name="{f}" type="measure"/>' for f in measures[:3])
        View.create({"name": f"{model.model}.pivot", "model": model.model, "type": "pivot",
                     "arch": f"<pivot>{row}{measure}</pivot>"})
        graph = "".join(f'<field name="{f}"/>' for f in dims[:1]) + "".join(
            f'<field name="{f}" type="measure"/>' for f in measures[:1])
        View.create({"name": f"{model.model}.graph", "model": model.model, "type": "graph",
                     "arch": f'<graph type="bar">{graph}</graph>'})
        search = "".join(f'<field name="{f}"/>' for f in dims[:8])
        groupby = "".join(
            f'<filter name="group_{f}" string={quoteattr(col)} '
            f'context="{{\'group_by\': \'{f}\'}}"/>'
            for col, f in mapping.items() if f in dims[:5])
        View.create({"name": f"{model.model}.search", "model": model.model, "type": "search",
                     "arch": f"<search>{search}<group>{groupby}</group></search>"})
        action = self.env["ir.actions.act_window"].sudo().create({
            "name": self.name, "res_model": model.model, "view_mode": "list,pivot,graph",
            "help": self.env._("Rows of Databricks view %s: refresh the view to load them.",
                               self.name),
        })
        menu = self.env["ir.ui.menu"].sudo().create({
            "name": self.name, "action": f"ir.actions.act_window,{action.id}",
            "parent_id": self.env.ref("ipai_databricks_connector.menu_databricks_data").id,
            "group_ids": [Command.set([self.env.ref(USER_GROUP).id])],
        })
        return action, menu

    def action_open_data(self):
        self.ensure_one()
        if not self.action_id:
            raise UserError(self.env._("Create the model of view %s first.", self.name))
        # sudo: the action is generated; its menu carries the group check.
        return self.action_id.sudo()._get_action_dict()

    # -- refresh -------------------------------------------------------------------------

    def _check_manager(self):
        if not (self.env.su or self.env.user.has_group(MANAGER_GROUP)):
            raise UserError(self.env._("Only Databricks Managers may configure views."))

    def action_refresh(self):
        return self._enqueue_refresh()

    def action_refresh_full(self):
        return self._enqueue_refresh(mode="full")

    def _enqueue_refresh(self, mode=None):
        """Enqueue query -> load -> quality -> publish as a chain of queue jobs."""
        Snapshot = self.env["ipai.databricks.snapshot"]
        snapshots = Snapshot
        for view in self:
            if not view.model_id:
                raise UserError(self.env._("Create the model of view %s first.", view.name))
            running = view.snapshot_ids.filtered(lambda s: s.state not in DONE_STATES)
            if running:
                raise UserError(self.env._("View %s is already refreshing.", view.name))
            # sudo: snapshots are the system's records (users only read them); whoever may
            # read the view may refresh it, and the chain then writes state only the system
            # manages (view, generated table).
            view.check_access("read")
            snap = Snapshot.sudo().create({
                "view_id": view.id, "mode": mode or view.refresh_mode,
                "requested_by": self.env.uid,
            })
            view.sudo().write({"refresh_state": "running", "last_error": False})
            desc = view.name
            steps = [
                snap.delayable(channel=JOB_CHANNEL, description=self.env._(
                    "%s: run the query", desc))._job_query(),
                snap.delayable(channel=JOB_CHANNEL, description=self.env._(
                    "%s: load", desc))._job_load(),
                snap.delayable(channel=JOB_CHANNEL, description=self.env._(
                    "%s: data quality", desc))._job_quality(),
                snap.delayable(channel=JOB_CHANNEL, description=self.env._(
                    "%s: publish", desc))._job_publish(),
            ]
            chain(*steps).delay()
            snapshots |= snap
        return snapshots

    def action_cancel_refresh(self):
        """Stop a refresh: its remaining jobs skip, and a running statement is canceled."""
        for view in self:
            running = view.snapshot_ids.filtered(lambda s: s.state not in DONE_STATES)
            message = self.env._("Canceled by %s.", self.env.user.name)
            # sudo: as for action_refresh, the refresh state is the system's.
            for snap in running.sudo():
                if snap.statement_id and view.backend == "databricks":
                    snap.with_delay(channel=JOB_CHANNEL, description=self.env._(
                        "Cancel statement %s", snap.statement_id))._job_cancel_statement()
                snap._drop_staging()
                snap.write({"state": "failed", "message": message})
            view.sudo().write({"refresh_state": "idle", "last_error": False})
            view.sudo().message_post(body=message)
        return True

    def _refresh_now(self, mode=None):
        """Run the whole chain in this transaction (demo loader, benchmarks)."""
        snaps = self.env["ipai.databricks.snapshot"]
        for view in self:
            snap = snaps.create({"view_id": view.id, "mode": mode or view.refresh_mode,
                                 "requested_by": self.env.uid})
            view.refresh_state = "running"
            for step in (snap._job_query, snap._job_load, snap._job_quality, snap._job_publish):
                step()
            snaps |= snap
        return snaps

    @api.model
    def _cron_refresh_due(self):
        now = fields.Datetime.now()
        views = self.search([("schedule", "!=", "manual"), ("model_id", "!=", False),
                             "|", ("next_refresh_at", "=", False), ("next_refresh_at", "<=", now)])
        for view in views:
            view.next_refresh_at = now + SCHEDULES[view.schedule]
            if view.refresh_state == "running":
                continue
            try:
                with self.env.cr.savepoint():
                    view._enqueue_refresh()
            except (UserError, errors.DatabricksError) as exc:
                # One bad view never stops the scheduled refresh of the others.
                _logger.warning("Scheduled refresh of view %s skipped: %s", view.code, exc)
                view.message_post(body=self.env._("Scheduled refresh skipped: %s", exc))

    @api.model
    def _cron_check_freshness(self):
        """A stale or failed view gets one open activity for its responsible user."""
        activity_type = self.env.ref("mail.mail_activity_data_todo")
        for view in self.search([("model_id", "!=", False)]):
            if view.freshness_status == "fresh" or not view.user_id:
                continue
            if view.activity_ids.filtered(lambda a, v=view: a.activity_type_id == activity_type
                                          and a.user_id == v.user_id):
                continue
            view.activity_schedule(
                activity_type_id=activity_type.id, user_id=view.user_id.id,
                summary=self.env._(
                    "Databricks view %(view)s is %(status)s", view=view.name,
                    status=dict(view._fields["freshness_status"].selection)[
                        view.freshness_status].lower()),
                note=self.env._(
                    "Data age %(age).1f h, SLO %(slo).1f h. %(error)s", age=view.data_age_hours,
                    slo=view.freshness_slo_hours, error=view.last_error or ""),
            )


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
    refreshed_at = fields.Datetime(readonly=True)
    duration_seconds = fields.Float(readonly=True)
    quality_pass_rate = fields.Float(readonly=True, string="Quality pass rate (%)")
    quality_result_ids = fields.One2many("ipai.databricks.quality.result", "snapshot_id")
    message = fields.Text(readonly=True)
    started_at = fields.Datetime(default=fields.Datetime.now, readonly=True)

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
            raise RetryableJobError(str(exc), seconds=int(getattr(exc, "retry_after", 0) or 10))
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
                    vals["delta_version"] = history[0]["version"]
                    ts = history[0].get("timestamp")
                    if ts:
                        vals["source_committed_at"] = datetime.fromtimestamp(
                            ts / 1000, UTC).replace(tzinfo=None)
            else:
                client = self.env["ipai.databricks"]._statement_client(ws)
                response = client.submit(sql_text, parameters=params,
                                         row_limit=view.row_limit or None)
                response = client.wait(response)
                manifest = response.get("manifest") or {}
                vals.update(statement_id=response["statement_id"],
                            truncated=bool(manifest.get("truncated")))
        except (errors.DatabricksError, UserError, OSError, ValueError, DuckDBError) as exc:
            return self._handle(exc)
        self.write(vals)
        return self.env._("Query done.")

    def _query(self):
        view = self.view_id
        sql_text, params = view._source_sql(), {}
        if self.mode == "incremental":
            column = view._columns().get(view.watermark_column)
            if not column:
                raise UserError(self.env._("The watermark column %s is not in the view.",
                                           view.watermark_column))
            # The largest value, compared as the source type: a BIGINT kept as text
            # compares as a number ("12" > "9"), a timestamp as naive UTC.
            numeric = view._watermark_is_number()
            # As text: Odoo's cursor would turn numeric into a float (exact only to 2**53).
            template = "SELECT max({}::numeric)::text FROM {}" if numeric else \
                "SELECT max({}) FROM {}"
            self.env.cr.execute(pgsql.SQL(template).format(
                pgsql.Identifier(column), pgsql.Identifier(view.model_name)))
            last = self.env.cr.fetchone()[0]
            if last is not None and numeric:
                last = Decimal(last)
                last = int(last) if last == last.to_integral_value() else last
            if last is not None:
                # The watermark column is a validated identifier, quoted in the source's
                # dialect (it may be a reserved word); its value is bound.
                quote = "`" if view.backend == "databricks" else '"'
                sql_text = (f"SELECT * FROM ({sql_text}) AS src "  # noqa: S608
                            f"WHERE {quote}{view.watermark_column}{quote} > :ipai_watermark")
                params = {"ipai_watermark": last}
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
            reader = ws._lakehouse().execute(sql_text, params)
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
                self._swap_in(live, staging)
        except psycopg2.Error as exc:
            return self._fail(self.env._("Publishing failed: %s", str(exc).strip()))
        cr.execute(pgsql.SQL("SELECT count(*) FROM {}").format(pgsql.Identifier(live)))
        count = cr.fetchone()[0]
        self.env[live].invalidate_model()
        self.write({"state": "published", "row_count": count,
                    "refreshed_at": fields.Datetime.now()})
        view.write({"current_snapshot_id": self.id, "refresh_state": "idle", "last_error": False,
                    "last_quality_pass_rate": self.quality_pass_rate})
        return self.env._("Published %s rows.", count)

    def _swap_in(self, live, staging):
        cr = self.env.cr
        if self.mode == "incremental":
            cr.execute(pgsql.SQL("INSERT INTO {l} SELECT * FROM {s}; DROP TABLE {s}").format(
                l=pgsql.Identifier(live), s=pgsql.Identifier(staging)))
        else:
            old = f"{live}__old{self.id}"
            # Named explicitly: PostgreSQL would truncate a long generated name.
            cr.execute(pgsql.SQL(
                "ALTER TABLE {s} ADD CONSTRAINT {spk} PRIMARY KEY (id);"
                "ALTER TABLE {l} RENAME TO {o};"
                "ALTER TABLE {s} RENAME TO {l};"
                "DROP TABLE {o};"
                "ALTER TABLE {l} RENAME CONSTRAINT {spk} TO {lpk};"
            ).format(s=pgsql.Identifier(staging), l=pgsql.Identifier(live), o=pgsql.Identifier(old),
                     spk=pgsql.Identifier(f"{staging}_pk"),
                     lpk=pgsql.Identifier(f"{live}_pkey")))
