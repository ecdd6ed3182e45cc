"""Databricks views: gold tables as read-only Odoo models, refreshed by a queue-job chain."""

import json
import logging
import re
from datetime import timedelta
from xml.sax.saxutils import quoteattr

from duckdb import Error as DuckDBError
from psycopg2 import sql as pgsql

from odoo import Command, api, fields, models
from odoo.addons.queue_job.delay import chain
from odoo.exceptions import AccessError, UserError, ValidationError

from ..lakehouse import dialect, errors, sandbox
from ..lakehouse.local_backend import split_name
from ..lakehouse.sql import is_identifier
from ..lakehouse.statement_client import manifest_arrow_schema
from ..lakehouse.types import arrow_field_spec, exact_limit, humanize, is_key, type_text
from .ipai_databricks import JOB_CHANNEL

_logger = logging.getLogger(__name__)
USER_GROUP = "ipai_databricks_connector.databricks_group_user"
MANAGER_GROUP = "ipai_databricks_connector.databricks_group_manager"
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
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
    column_ids = fields.One2many("ipai.databricks.view.column", "view_id", string="Columns",
                                 copy=False)
    parameter_ids = fields.One2many(
        "ipai.databricks.view.parameter", "view_id", string="Parameters", copy=True,
        help="The :name markers of the source, with their Databricks type and default.")
    inexact_column_names = fields.Char(
        compute="_compute_inexact_columns", string="Columns not shown exactly",
        help="Columns whose published values Odoo shows rounded: BIGINT beyond ±2^53, or "
        "DECIMAL values with more than 15 significant digits. The database keeps them exact.")
    # Snapshots
    snapshot_ids = fields.One2many("ipai.databricks.snapshot", "view_id")
    current_snapshot_id = fields.Many2one("ipai.databricks.snapshot", readonly=True, copy=False)
    row_count = fields.Integer(related="current_snapshot_id.row_count")
    index_state = fields.Selection(related="current_snapshot_id.index_state")
    index_seconds = fields.Float(related="current_snapshot_id.index_seconds")
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
    _row_limit_positive = models.Constraint(
        "CHECK(row_limit IS NULL OR row_limit >= 0)",
        "The row limit is a number of rows (0: no limit).")

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
            if view.refresh_mode == "incremental" and not is_identifier(view.watermark_column):
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
            # Custom fields of other models pointing at this one (a many2one on res.partner)
            # go first: ir.model would also find their reflections on the models inheriting
            # them (res.users), not custom ones, and refuse to drop the model.
            self.env["ir.model.fields"].sudo().search([
                ("relation", "=", view.model_name), ("model", "!=", view.model_name),
                ("state", "=", "manual")]).unlink()
            if not self.env.context.get("ipai_dbx_rebuild"):
                # Saved favourites of the rows: the model is gone for good (a rebuild
                # keeps its name, so they stay).
                self.env["ir.filters"].sudo().with_context(active_test=False).search(
                    [("model_id", "=", view.model_name)]).unlink()
            view.model_id.sudo().unlink()  # drops the model's table and its record rules

    @api.depends("column_ids.exact", "column_ids.label")
    def _compute_inexact_columns(self):
        for view in self:
            names = view.column_ids.filtered(lambda c: not c.exact).mapped("name")
            view.inexact_column_names = ", ".join(names) or False

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
            # Databricks SQL, transpiled for DuckDB on the Odoo host: it must transpile,
            # and the sandbox's parser must see one SELECT.
            try:
                dialect.check_select(src)
            except (sandbox.SQLRefused, DuckDBError) as exc:
                raise ValidationError(self.env._(
                    "View %(view)s: the source is refused: %(reason)s",
                    view=self.display_name, reason=exc)) from exc
        return src

    def _watermark_is_number(self):
        """True when the watermark column is numeric (compared as a number, read as text:
        Odoo's cursor would turn numeric into a float, exact only to 2**53)."""
        self.ensure_one()
        column = self.column_ids.filtered(lambda c: c.name == self.watermark_column)[:1]
        # A model built before 19.0.1.2.0 keeps BIGINT and wide DECIMAL as text until it is
        # rebuilt; its column records carry the Arrow type it was read with.
        return column.ttype in ("integer", "float") or bool(
            re.match(r"^(u?int(8|16|32|64)|decimal)", column.databricks_type or ""))

    def _parameters(self, values=None):
        """The bound values of the source's parameters: ``values`` (name -> text) over the
        declared defaults. Returns ({name: Python value}, {name: text}); refuses a marker
        that is not declared, a value that does not read, or an unknown name."""
        self.ensure_one()
        declared = {p.name: p for p in self.parameter_ids}
        values = dict(values or {})
        unknown = set(values) - set(declared)
        if unknown:
            raise UserError(self.env._("View %(view)s has no parameter %(names)s.",
                                       view=self.name, names=", ".join(sorted(unknown))))
        used = dialect.parameter_names(self._source_sql())
        missing = [name for name in used if name not in declared]
        if missing:
            raise UserError(self.env._(
                "View %(view)s: the source uses %(names)s; declare each parameter (its "
                "Databricks type and default) on the Parameters tab.", view=self.name,
                names=", ".join(":" + n for n in missing)))
        bound, texts = {}, {}
        for name in used:
            param = declared[name]
            text = values.get(name, param.default_value)
            texts[name] = text if text not in (None, "") else None
            try:
                bound[name] = param._value(texts[name])
            except ValidationError as exc:
                raise UserError(exc.args[0]) from exc
        return bound, texts

    def action_refresh_with(self):
        """Open the wizard that refreshes the view with other parameter values."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window", "res_model": "ipai.databricks.refresh.wizard",
            "view_mode": "form", "target": "new",
            "name": self.env._("Refresh with values or a version"),
            "context": {"default_view_id": self.id},
        }

    def _columns(self):
        """Source column -> Odoo field name, in the source's order."""
        return {col.name: col.field_name for col in self.column_ids.sorted("sequence")}

    def _fetch_schema(self):
        """The pyarrow schema of the source (no rows are read)."""
        ws = self.workspace_id
        # The source is SQL by design (written by a Databricks Manager).
        probe = f"SELECT * FROM ({self._source_sql()}) AS src LIMIT 0"  # noqa: S608
        params, _texts = self._parameters()  # the defaults: a parameter changes no column
        if ws.backend == "local":
            try:
                return ws._lakehouse().schema(probe, params, ws.catalog, ws.schema_name)
            except (DuckDBError, ValueError) as exc:
                raise UserError(self.env._("View %(view)s: the source cannot be read: %(error)s",
                                           view=self.display_name, error=exc)) from exc
        client = self.env["ipai.databricks"]._statement_client(ws, timeout=300)
        result = client.execute(probe, params, disposition="INLINE", format="JSON_ARRAY")
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
        labels = {col.name: col.label for col in self.column_ids}  # kept across rebuilds
        if self.model_id:
            self.with_context(ipai_dbx_rebuild=True)._unlink_models()
        taken, field_vals, column_vals = {"id"}, [], []
        for seq, field in enumerate(schema):
            spec = arrow_field_spec(field.type)
            fname = _field_name(field.name, taken)
            taken.add(fname)
            dbx_type = type_text(field.type)
            label = labels.get(field.name) or humanize(field.name)
            limit = exact_limit(spec)
            field_vals.append({
                "name": fname, "field_description": label, "ttype": spec.ttype,
                "readonly": True, "store": True, "state": "manual", "index": True,
                "ipai_dbx_column_type": spec.pg_type if spec.pg_type == "int8"
                or (spec.pg_type or "").startswith("numeric") else False,
                "help": self.env._("Source column %(col)s (%(type)s)%(note)s", col=field.name,
                                   type=dbx_type,
                                   note=f": {spec.note}" if spec.note else ""),
            })
            column_vals.append({
                "sequence": seq, "name": field.name, "field_name": fname,
                "databricks_type": dbx_type, "ttype": spec.ttype, "pg_type": spec.pg_type,
                "label": label, "is_key": is_key(field.name, spec), "indexed": True,
                "exact_limit": (str(limit) if isinstance(limit, int) else format(limit, "f"))
                if limit else False, "exact": True,
                "note": spec.note or False,
            })
        model = IrModel.create({
            "name": self.name, "model": self.model_name, "state": "manual",
            "info": self.env._("Read-only snapshot of Databricks view %s.", self.name),
            "field_id": [],  # no default x_name field: the columns follow
        })
        # Not as field_id commands: ir.model.fields refuses x2many commands under sudo
        # (Odoo checks the transaction's real user), so a Manager would be refused.
        self.env["ir.model.fields"].sudo().create(
            [dict(vals, model_id=model.id) for vals in field_vals])
        for vals in column_vals:
            if (vals["pg_type"] or "").startswith("numeric("):
                # Odoo makes an unbounded numeric; the source's precision and scale are
                # kept (same udt_name, so Odoo never converts it back).
                self.env.cr.execute(pgsql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE {}").format(
                    pgsql.Identifier(self.model_name), pgsql.Identifier(vals["field_name"]),
                    pgsql.SQL(vals["pg_type"])))  # numeric(p,s) from the type mapping
        # sudo: the column mapping is the system's record of the model just built (a
        # Manager edits labels only).
        self.column_ids.sudo().unlink()
        self.env["ipai.databricks.view.column"].sudo().create(
            [dict(vals, view_id=self.id) for vals in column_vals])
        self.write({"model_id": model.id, "current_snapshot_id": False})
        action, menu = self._create_ui(model)
        self.write({"action_id": action.id, "menu_id": menu.id})
        self._sync_security()
        self.message_post(body=self.env._("Model %(m)s created with %(n)s fields.",
                                          m=self.model_name, n=len(column_vals)))
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

    def _create_ui(self, model):
        # sudo: views, action and menu of the generated model (see _create_model).
        View = self.env["ir.ui.view"].sudo()
        columns = self.column_ids.sorted("sequence")
        measures = [c.field_name for c in columns
                    if c.ttype in ("integer", "float") and not c.is_key]
        dims = [c.field_name for c in columns
                if c.ttype in ("char", "date", "boolean", "datetime") or c.is_key]

        def key_options(col):
            # Keys (store_id, date_key) read as codes, not amounts: no grouping separator.
            return (' widget="integer" options="{\'enable_formatting\': false}"'
                    if col.is_key else "")

        list_fields = "".join(f'<field name="{c.field_name}" optional="show"{key_options(c)}/>'
                              for c in columns)
        View.create({"name": f"{model.model}.list", "model": model.model, "type": "list",
                     "arch": f'<list create="0" edit="0" delete="0">{list_fields}</list>'})
        form_fields = "".join(f'<field name="{c.field_name}"{key_options(c)}/>' for c in columns)
        View.create({"name": f"{model.model}.form", "model": model.model, "type": "form",
                     "arch": f'<form create="0" edit="0" delete="0"><sheet><group>'
                             f'{form_fields}</group></sheet></form>'})
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
            f'<filter name="group_{c.field_name}" string={quoteattr(c.label)} '
            f'context="{{\'group_by\': \'{c.field_name}\'}}"/>'
            for c in columns if c.field_name in dims[:5])
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
            raise AccessError(self.env._("Only Databricks Managers may configure views."))

    def action_refresh(self):
        return self._enqueue_refresh()

    def action_refresh_full(self):
        return self._enqueue_refresh(mode="full")

    def _check_as_of(self, as_of_version):
        if as_of_version is not None and as_of_version < -1:  # -1: the latest version
            raise UserError(self.env._("A Delta version is 0 or more, not %s.", as_of_version))
        if as_of_version is not None and as_of_version >= 0 and not self._is_table_source():
            raise UserError(self.env._(
                "View %s: only a table source can be refreshed as of a Delta version.",
                self.name))

    def _enqueue_refresh(self, mode=None, values=None, as_of_version=None, republish=None):
        """Enqueue query -> load -> quality -> publish as a chain of queue jobs.

        ``values`` (name -> text) bind the parameters; the defaults otherwise.
        ``as_of_version`` reads that Delta version; ``republish`` is the snapshot rolled
        back to."""
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
            _bound, texts = view._parameters(values)  # refused now, not in the job
            view._check_as_of(as_of_version)
            pinned = as_of_version is not None and as_of_version >= 0
            snap = Snapshot.sudo().create({
                "view_id": view.id, "mode": "full" if pinned else mode or view.refresh_mode,
                "requested_by": self.env.uid, "parameter_values": json.dumps(texts),
                "as_of_version": as_of_version if pinned else -1,
                "republished_from_id": republish.id if republish else False,
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
                # after the publish: the data is readable while its indexes are built
                snap.delayable(channel=JOB_CHANNEL, description=self.env._(
                    "%s: build the indexes", desc))._job_index(),
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

    def _refresh_now(self, mode=None, values=None, as_of_version=None, index=True):
        """Run the whole chain in this transaction (demo loader, benchmarks); ``index``
        False stops after the publish (the indexes stay pending: ``_job_index``)."""
        snaps = self.env["ipai.databricks.snapshot"]
        for view in self:
            _bound, texts = view._parameters(values)
            view._check_as_of(as_of_version)
            pinned = as_of_version is not None and as_of_version >= 0
            snap = snaps.create({"view_id": view.id,
                                 "mode": "full" if pinned else mode or view.refresh_mode,
                                 "requested_by": self.env.uid,
                                 "as_of_version": as_of_version if pinned else -1,
                                 "parameter_values": json.dumps(texts)})
            view.refresh_state = "running"
            for step in (snap._job_query, snap._job_load, snap._job_quality, snap._job_publish):
                step()
            if index:
                snap._job_index()
            snaps |= snap
        return snaps

    @api.model
    def _cron_progress(self, done=1, remaining=None):
        """Commit one step of a scheduled run and report it to the scheduler, which
        reschedules a run out of time at once. Called directly (a shell, a test), it
        commits nothing: the work stays in its caller's transaction."""
        if not self.env.context.get("ir_cron_progress_id"):
            return True
        return self.env["ir.cron"]._commit_progress(done, remaining=remaining)

    def _cron_refresh_due(self):
        now = fields.Datetime.now()
        views = self.search([("schedule", "!=", "manual"), ("model_id", "!=", False),
                             "|", ("next_refresh_at", "=", False), ("next_refresh_at", "<=", now)])
        self._cron_progress(0, remaining=len(views))
        for view in views:
            # a view another transaction is writing (a refresh publishing, an edit) is
            # left to the next run rather than waited for
            if view.try_lock_for_update(allow_referencing=True):
                view.next_refresh_at = now + SCHEDULES[view.schedule]
                if view.refresh_state != "running":
                    try:
                        with self.env.cr.savepoint():
                            view._enqueue_refresh()
                    except (UserError, errors.DatabricksError) as exc:
                        # One bad view never stops the scheduled refresh of the others.
                        _logger.warning("Scheduled refresh of view %s skipped: %s",
                                        view.code, exc)
                        view.message_post(body=self.env._("Scheduled refresh skipped: %s",
                                                          exc))
            if not self._cron_progress(1):
                break

    @api.model
    def _cron_check_freshness(self):
        """A stale or failed view gets one open activity for its responsible user."""
        activity_type = self.env.ref("mail.mail_activity_data_todo")
        views = self.search([("model_id", "!=", False)])
        self._cron_progress(0, remaining=len(views))
        for view in views:
            view._schedule_freshness_activity(activity_type)
            if not self._cron_progress(1):
                break

    def _schedule_freshness_activity(self, activity_type):
        self.ensure_one()
        if self.freshness_status == "fresh" or not self.user_id:
            return
        if self.activity_ids.filtered(lambda a: a.activity_type_id == activity_type
                                      and a.user_id == self.user_id):
            return
        self.activity_schedule(
            activity_type_id=activity_type.id, user_id=self.user_id.id,
            summary=self.env._(
                "Databricks view %(view)s is %(status)s", view=self.name,
                status=dict(self._fields["freshness_status"].selection)[
                    self.freshness_status].lower()),
            note=self.env._(
                "Data age %(age).1f h, SLO %(slo).1f h. %(error)s", age=self.data_age_hours,
                slo=self.freshness_slo_hours, error=self.last_error or ""),
        )
