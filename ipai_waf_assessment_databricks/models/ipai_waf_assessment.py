# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import api, models

WORST = 5  # views named on the panel; the counts cover them all


class IpaiWafAssessment(models.Model):
    _inherit = "ipai.waf.assessment"

    @api.model
    def _dashboard_panels(self):
        """The freshness of the active Databricks views of the user's companies: how many
        are fresh, stale (older than their SLO, or never refreshed) and failed (last
        refresh failed or blocked by data quality), and the worst ones: failed first,
        then never refreshed, then the oldest data."""
        panels = super()._dashboard_panels()
        # sudo: assessors see the freshness the Databricks checks give as evidence,
        # without being Databricks users; the domain keeps them to their companies.
        views = self.env["ipai.databricks.view"].sudo().search(
            [("active", "=", True), ("company_id", "in", [False, *self.env.companies.ids])],
            order="name, id")
        labels = dict(views._fields["freshness_status"]._description_selection(self.env))
        colour = {"fresh": "success", "stale": "warning", "failed": "danger"}
        rows = []
        for status in ("fresh", "stale", "failed"):
            count = len(views.filtered(lambda v, s=status: v.freshness_status == s))
            rows.append({"label": labels[status], "value": count,
                         "state": colour[status] if count else False})
        late = views.filtered(lambda v: v.freshness_status != "fresh").sorted(
            lambda v: (v.freshness_status != "failed", bool(v.current_snapshot_id),
                       -v.data_age_hours))
        for view in late[:WORST]:
            if view.freshness_status == "failed":
                value = labels["failed"]
            elif not view.current_snapshot_id:
                value = self.env._("never refreshed")
            else:
                value = self.env._("%(age)s h old (SLO %(slo)s h)",
                                   age=round(view.data_age_hours, 1),
                                   slo=round(view.freshness_slo_hours, 1))
            rows.append({"label": view.display_name, "value": value,
                         "state": colour[view.freshness_status]})
        panels.append({
            "key": "databricks_freshness",
            "title": self.env._("Databricks views freshness"),
            "sequence": 30,
            "rows": rows,
            "action": self._dashboard_action(
                "ipai_databricks_connector.ipai_databricks_view_action",
                "ipai.databricks.view"),
        })
        return panels
