# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import api, fields, models

from ..engine.vocabulary import SEVERITIES


class IpaiWafControl(models.Model):
    _name = "ipai.waf.control"
    _description = "Well-Architected Control"
    _order = "pillar_id, sequence, id"

    pillar_id = fields.Many2one("ipai.waf.pillar", required=True, ondelete="cascade", index=True)
    framework_id = fields.Many2one(related="pillar_id.framework_id", store=True)
    code = fields.Char(required=True, help="Stable code that survives re-imports.")
    name = fields.Char(required=True, translate=True)
    description = fields.Text(translate=True)
    severity = fields.Selection(SEVERITIES, required=True, default="medium")
    weight = fields.Float(default=1.0)
    recommendation = fields.Text(translate=True)
    reference_url = fields.Char(string="Reference URL")
    check_key = fields.Char(help="Key of the automated check that gathers evidence.")
    extra_pillar_ids = fields.Many2many(
        "ipai.waf.pillar", "ipai_waf_control_extra_pillar_rel", "control_id", "pillar_id",
        string="Also counts for",
    )
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", index=True,
        help="Empty for the shared catalog; set on the controls an import created for "
        "one company.",
    )
    aliases = fields.Char(
        help="Other names reports use for this control, separated by ';' (matched by "
        "the importer before fuzzy matching)."
    )
    shipped_aliases = fields.Char(
        readonly=True, help="Aliases the module ships, refreshed at every module update; "
        "your own go in Aliases.")
    source = fields.Char(
        help="Where an imported control comes from (aws_lens:<lens>, "
        "azure_checklist:<checklist>, markdown)."
    )
    answer_choices = fields.Json(
        readonly=True, help="An AWS lens question's choices, kept so that an answers file "
        "applied later is read as the lens reads it.")

    # a company may hold its own control with a code of the shared catalog
    _code_uniq = models.UniqueIndex("(code, company_id) NULLS NOT DISTINCT")

    @api.model
    def _set_shipped_aliases(self, by_xmlid):
        """Write the shipped aliases (data file, at every install and update)."""
        for xmlid, aliases in by_xmlid.items():
            control = self.env.ref(xmlid, raise_if_not_found=False)
            if control and control.shipped_aliases != aliases:
                control.shipped_aliases = aliases


def split_aliases(*texts):
    """The aliases of ';'-separated texts, once each (case aside), in order."""
    seen = {}
    for text in texts:
        for alias in (text or "").split(";"):
            if alias.strip():
                seen.setdefault(alias.strip().lower(), alias.strip())
    return list(seen.values())
