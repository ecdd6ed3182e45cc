from odoo import fields, models


class IpaiDatabricksQualityResult(models.Model):
    _name = "ipai.databricks.quality.result"
    _description = "Data-quality result"
    _order = "checked_at desc, id desc"

    rule_id = fields.Many2one("ipai.databricks.quality.rule", required=True, ondelete="cascade",
                              index=True)
    view_id = fields.Many2one("ipai.databricks.view", ondelete="cascade", index=True)
    snapshot_id = fields.Many2one("ipai.databricks.snapshot", ondelete="cascade")
    job_run_id = fields.Many2one("ipai.databricks.job.run", ondelete="cascade")
    company_id = fields.Many2one("res.company", index=True)
    layer = fields.Selection(related="rule_id.layer", store=True)
    checked_at = fields.Datetime(default=fields.Datetime.now, required=True)
    checked_rows = fields.Integer()
    failing_rows = fields.Integer()
    pass_rate = fields.Float(string="Pass rate (%)", aggregator="avg")
    passed = fields.Boolean()
    severity = fields.Selection([("warn", "Warn"), ("fail", "Fail")])
    message = fields.Char()
