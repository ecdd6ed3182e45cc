from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..lakehouse import quality, regex

LAYERS = [("bronze", "Bronze"), ("silver", "Silver"), ("gold", "Gold"), ("platinum", "Platinum")]
RULE_KINDS = [
    ("not_null", "Not null"), ("unique", "Unique"), ("between", "Between"),
    ("accepted_values", "Accepted values"), ("regex", "Matches pattern"),
    ("min_row_count", "Minimum row count"), ("freshness", "Freshness"),
]
NEEDS_COLUMN = {"not_null", "unique", "between", "accepted_values", "regex", "freshness"}


class IpaiDatabricksQualityRule(models.Model):
    _name = "ipai.databricks.quality.rule"
    _description = "Data-quality rule"
    _order = "layer, sequence, id"

    name = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    view_id = fields.Many2one("ipai.databricks.view", ondelete="cascade", index=True,
                              help="Checked on each refresh of this view, before it is published.")
    table_name = fields.Char(
        help="catalog.schema.table checked after each run of the job that writes it.")
    workspace_id = fields.Many2one("ipai.databricks.workspace", ondelete="cascade")
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company, index=True)
    layer = fields.Selection(LAYERS, required=True, default="gold")
    kind = fields.Selection(RULE_KINDS, required=True)
    column = fields.Char(help="Source column name, as in the result schema.")
    min_value = fields.Float(string="Minimum")
    max_value = fields.Float(string="Maximum")
    accepted_values = fields.Char(help="Comma-separated.")
    pattern = fields.Char(
        help="Java regular expression (as in Databricks' RLIKE) found in every value.")
    min_rows = fields.Integer(string="Minimum rows", default=1)
    max_age_hours = fields.Float(string="Maximum age (h)", default=24.0)
    severity = fields.Selection([("warn", "Warn"), ("fail", "Fail")], required=True,
                                default="fail",
                                help="A failing 'fail' rule blocks the view's publication.")
    result_ids = fields.One2many("ipai.databricks.quality.result", "rule_id")
    last_pass_rate = fields.Float(compute="_compute_last", string="Last pass rate (%)")
    last_passed = fields.Boolean(compute="_compute_last")

    @api.constrains("view_id", "table_name", "kind", "column")
    def _check_target(self):
        for rule in self:
            if not rule.view_id and not rule.table_name:
                raise ValidationError(self.env._(
                    "Rule %s needs a view or a table.", rule.name))
            if rule.kind in NEEDS_COLUMN and not rule.column:
                raise ValidationError(self.env._(
                    "Rule %s needs a column.", rule.name))

    @api.constrains("kind", "pattern")
    def _check_pattern(self):
        """A regex rule must mean on a view (PostgreSQL) and a table (DuckDB) what its Java
        pattern means on Databricks: refused when it cannot, naming the construct."""
        for rule in self.filtered(lambda r: r.kind == "regex"):
            if not rule.pattern:
                raise ValidationError(self.env._("Rule %s needs a pattern.", rule.name))
            try:
                regex.check(rule.pattern)
            except regex.UnsupportedRegex as exc:
                raise ValidationError(self.env._(
                    "Rule %(rule)s: %(construct)s '%(text)s' at position %(position)s of the "
                    "pattern is not supported: %(reason)s. Patterns are Java regular "
                    "expressions, as on Databricks, and must mean the same on PostgreSQL "
                    "and DuckDB.",
                    rule=rule.name, construct=exc.construct, text=exc.text,
                    position=exc.position, reason=exc.reason)) from exc

    def _compute_last(self):
        for rule in self:
            last = rule.result_ids[:1]
            rule.last_pass_rate = last.pass_rate
            rule.last_passed = last.passed

    def _to_engine(self, column_map=None):
        """The plain-Python rules; ``column_map`` renames source columns (Odoo's x_ names)."""
        rules = []
        for rule in self:
            params = {}
            if rule.kind == "between":
                params = {"min": rule.min_value, "max": rule.max_value}
            elif rule.kind == "accepted_values":
                params = {"values": [v.strip() for v in (rule.accepted_values or "").split(",")
                                     if v.strip()]}
            elif rule.kind == "regex":
                params = {"pattern": rule.pattern or ""}
            elif rule.kind == "min_row_count":
                params = {"min": rule.min_rows}
            elif rule.kind == "freshness":
                params = {"max_age_hours": rule.max_age_hours}
            column = rule.column
            if column and column_map is not None:
                column = column_map.get(column, column)
            rules.append(quality.Rule(code=str(rule.id), kind=rule.kind, column=column,
                                      params=params, severity=rule.severity))
        return rules

    def _record_results(self, results, **links):
        """Store engine results; returns the created result records."""
        by_id = {str(r.id): r for r in self}
        vals = []
        for res in results:
            rule = by_id[res.code]
            vals.append(dict(
                links, rule_id=rule.id, checked_rows=res.checked_rows,
                failing_rows=res.failing_rows, pass_rate=res.pass_rate, passed=res.passed,
                severity=rule.severity, message=res.message, company_id=rule.company_id.id,
            ))
        return self.env["ipai.databricks.quality.result"].create(vals)
