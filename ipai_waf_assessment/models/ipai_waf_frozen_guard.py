# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import api, models
from odoo.exceptions import UserError

# Fields of mail.thread, mail.thread.main.attachment and mail.activity.mixin.
MAIL_FIELD_PREFIXES = ("message_", "activity_")


class IpaiWafFrozenGuard(models.AbstractModel):
    """Records of a frozen milestone are immutable: findings, pillar scores and their
    overrides, risks and recommendations. Only a manager's "Unfreeze" reopens them.

    Comments, attachments and activities are review, not data: the fields mail writes on
    the record itself (``message_main_attachment_id``, followers, activities) stay
    writable, as they do on the assessment."""

    _name = "ipai.waf.frozen.guard"
    _description = "Well-Architected Frozen Milestone Guard"

    def _check_not_frozen(self, assessments):
        # sudo: the frozen flag decides, whoever may read the assessment or not.
        if any(assessments.sudo().mapped("frozen")):
            raise UserError(self.env._(
                "Assessment %s is a frozen milestone: its findings, scores, risks and "
                "recommendations cannot change. A manager can unfreeze it.",
                ", ".join(assessments.sudo().filtered("frozen").mapped("display_name"))))

    @api.model_create_multi
    def create(self, vals_list):
        ids = {vals.get("assessment_id") for vals in vals_list} - {None, False}
        self._check_not_frozen(self.env["ipai.waf.assessment"].browse(ids))
        return super().create(vals_list)

    def write(self, vals):
        if all(key.startswith(MAIL_FIELD_PREFIXES) for key in vals):
            return super().write(vals)
        targets = self.mapped("assessment_id")
        if vals.get("assessment_id"):
            targets |= self.env["ipai.waf.assessment"].browse(vals["assessment_id"])
        self._check_not_frozen(targets)
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_frozen(self):
        self._check_not_frozen(self.mapped("assessment_id"))
