# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
import logging

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .ipai_waf_assessment import STATUSES

_logger = logging.getLogger(__name__)


class IpaiWafFinding(models.Model):
    _name = "ipai.waf.finding"
    _inherit = ["ipai.waf.frozen.guard"]
    _description = "Well-Architected Finding"
    _order = "pillar_id, control_id, id"

    assessment_id = fields.Many2one(
        "ipai.waf.assessment", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="assessment_id.company_id", store=True)
    control_id = fields.Many2one("ipai.waf.control", required=True, ondelete="restrict")
    pillar_id = fields.Many2one(related="control_id.pillar_id", store=True)
    severity = fields.Selection(related="control_id.severity", store=True)
    status = fields.Selection(STATUSES, required=True, default="unknown")
    na_reason = fields.Selection([
        ("out_of_scope", "Out of scope"),
        ("business_priorities", "Business priorities"),
        ("architecture_constraints", "Architecture constraints"),
        ("other", "Other"),
    ], string="Not-applicable reason")
    evidence = fields.Text()
    evidence_url = fields.Char(string="Evidence link")
    source = fields.Selection(
        [("manual", "Manual"), ("automated", "Automated"), ("imported", "Imported")],
        default="manual", required=True,
    )
    carried_over = fields.Boolean(readonly=True)
    checked_at = fields.Datetime()

    _assessment_control_uniq = models.UniqueIndex("(assessment_id, control_id)")

    @api.constrains("status", "na_reason")
    def _check_na_reason(self):
        for rec in self:
            if rec.status == "not_applicable" and not rec.na_reason:
                raise ValidationError(self.env._("A not-applicable finding needs a reason."))

    def _scorecard_dict(self):
        self.ensure_one()
        return {
            "control_code": self.control_id.code, "control_name": self.control_id.name,
            "framework": self.pillar_id.framework_id.code, "pillar": self.pillar_id.code,
            "severity": self.severity, "status": self.status,
            "na_reason": self.na_reason or None, "evidence": self.evidence or "",
            "evidence_url": self.evidence_url or None, "source": self.source,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "recommendation": self.control_id.recommendation or "",
        }

    def _job_run_check(self):
        """Queue job: run the automated check of this finding's control."""
        self.ensure_one()
        registry = self.env["ipai.waf.check.registry"].with_context(
            ipai_waf_company_id=self.assessment_id.company_id.id)
        try:
            status, evidence = registry._run(self.control_id.check_key)
        except Exception as exc:  # process boundary: a crashing check must not block
            _logger.exception("Assessment check %s crashed", self.control_id.check_key)
            status, evidence = "unknown", self.env._("Check crashed: %s", repr(exc))
        vals = {"status": status, "evidence": evidence, "source": "automated",
                "checked_at": fields.Datetime.now()}
        if status == "not_applicable":
            vals["na_reason"] = "out_of_scope"
        self.write(vals)
        self.assessment_id._check_finished()
        return status
