# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import api, fields, models


class IpaiWafAssessmentWizardMixin(models.AbstractModel):
    """A wizard about one assessment, opened from its form (button or Action menu)."""

    _name = "ipai.waf.assessment.wizard.mixin"
    _description = "Well-Architected Assessment Wizard"

    assessment_id = fields.Many2one("ipai.waf.assessment", required=True, ondelete="cascade")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if "assessment_id" in fields_list and not values.get("assessment_id") and \
                self.env.context.get("active_model") == "ipai.waf.assessment":
            values["assessment_id"] = self.env.context.get("active_id")
        return values
