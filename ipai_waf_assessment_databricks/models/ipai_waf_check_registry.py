# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import api, models

QUALITY_TARGET = 98.0  # percent of rows passing the view's last quality run


class IpaiWafCheckRegistry(models.AbstractModel):
    """The Databricks checks: ``databricks_freshness`` (every active view within its
    freshness SLO) and ``databricks_quality`` (every active view's last quality run at or
    above QUALITY_TARGET)."""

    _inherit = "ipai.waf.check.registry"

    @api.model
    def _checks(self):
        return dict(
            super()._checks(),
            databricks_freshness=self._check_databricks_freshness,
            databricks_quality=self._check_databricks_quality,
        )

    def _databricks_views(self):
        # sudo: freshness is assessed over every view of the company.
        return self.env["ipai.databricks.view"].sudo().search(
            [("active", "=", True)] + self._company_domain())

    @api.model
    def _check_databricks_freshness(self):
        views = self._databricks_views()
        if not views:
            return "not_applicable", self.env._("No active Databricks view.")
        late = views.filtered(lambda v: v.freshness_status != "fresh")
        if not late:
            return "implemented", self.env._("All %s views are fresh.", len(views))
        return "partial", self.env._(
            "Views outside their SLO: %s",
            ", ".join(f"{v.display_name} ({v.freshness_status})" for v in late),
        )

    @api.model
    def _check_databricks_quality(self):
        views = self._databricks_views()
        if not views:
            return "not_applicable", self.env._("No active Databricks view.")
        low = views.filtered(lambda v: (v.last_quality_pass_rate or 0.0) < QUALITY_TARGET)
        if not low:
            return "implemented", self.env._(
                "All %(n)s views pass data quality at >= %(t)s%%.", n=len(views), t=QUALITY_TARGET
            )
        return "partial", self.env._(
            "Views below %(t)s%% quality: %(v)s", t=QUALITY_TARGET,
            v=", ".join(f"{v.display_name} ({v.last_quality_pass_rate}%)" for v in low),
        )
