# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""What the first screen of the app needs: the latest milestone of each workload, the
figure panels other modules add to the dashboard, and the demo assessment "This Odoo"
that ``./suite run`` and ``./suite demo`` create.

Kept beside the assessment model (same model, ``_inherit``) so the dashboard and the
first run read as one piece.
"""

import datetime

from odoo import api, fields, models
from odoo.fields import Command
from odoo.tools import file_open

DEMO_REPORT = "ipai_waf_assessment/data/demo/this_odoo_milestone_1.md"
DEMO_XMLID = "demo_this_odoo"
DEMO_EARLIER_XMLID = "demo_this_odoo_milestone_1"
DEMO_FRAMEWORKS = ("framework_azure_waf", "framework_databricks_lakehouse", "framework_medallion")
DEMO_EARLIER_DATE = datetime.date(2025, 6, 12)  # the date the report states
# What the team did with milestone 1's roadmap since then (the report's own states are
# all "to do": it was written at the read-out).
DEMO_PROGRESS = {
    "Enforce MFA for administrators": "doing",
    "Hide the database manager": "done",
    "Alert on failed queue jobs": "done",
    "Restore drill, documented": "doing",
    "Second availability zone": "dropped",
}


class IpaiWafAssessment(models.Model):
    _inherit = "ipai.waf.assessment"

    next_milestone_ids = fields.One2many(
        "ipai.waf.assessment", "previous_id", string="Next milestones")
    is_latest = fields.Boolean(
        string="Latest milestone", compute="_compute_is_latest", store=True, index=True,
        help="No later milestone of this workload exists: its risks and roadmap are the "
        "open ones.")

    @api.depends("next_milestone_ids")
    def _compute_is_latest(self):
        for rec in self:
            rec.is_latest = not rec.next_milestone_ids

    # ------------------------------------------------------------------ dashboard
    @api.model
    def get_dashboard_data(self):
        """What the dashboard shows beside its views (the client action's params.panels).

        ``panels``: figure panels, each ``{"key", "title", "sequence", "rows",
        "action"}``; a row is ``{"label", "value", "state"}`` with ``state`` one of
        ``success``, ``warning``, ``danger`` or False (no colour); ``action`` is an
        action xmlid that the panel's title opens, or False. Modules add panels by
        extending ``_dashboard_panels()`` (the bridges add the gateway's breakers and the
        Databricks views' freshness)."""
        self.check_access("read")
        panels = sorted(self._dashboard_panels(), key=lambda p: (p.get("sequence", 10),
                                                                  p["key"]))
        return {"panels": panels}

    @api.model
    def _dashboard_panels(self):
        return []

    @api.model
    def _dashboard_action(self, xmlid, model):
        """The xmlid for a panel's title when the user may open that model, else False."""
        return xmlid if self.env[model].has_access("read") else False

    # ------------------------------------------------------------------ first run
    @api.model
    def _create_demo_this_odoo(self):
        """The assessment "This Odoo" of this database, milestone 2, with the earlier
        milestone 1 imported from a Markdown report; its checks are queued for the job
        runner. Idempotent: a second call returns the same assessment and queues nothing.
        """
        current = self.env.ref(f"ipai_waf_assessment.{DEMO_XMLID}", raise_if_not_found=False)
        if current:
            return current
        frameworks = self.env["ipai.waf.framework"]
        for xmlid in DEMO_FRAMEWORKS:
            frameworks |= self.env.ref(f"ipai_waf_assessment.{xmlid}")
        admin = self.env.ref("base.user_admin", raise_if_not_found=False) or self.env.user
        common = {
            "name": "This Odoo", "workload": self.env.cr.dbname, "assessor_id": admin.id,
            "framework_ids": [Command.set(frameworks.ids)],
        }
        earlier = self.env.ref(
            f"ipai_waf_assessment.{DEMO_EARLIER_XMLID}", raise_if_not_found=False)
        if not earlier:
            with file_open(DEMO_REPORT, "rb") as fh:
                content = fh.read()
            earlier = self.browse(self.import_report("This Odoo", content, "markdown")["id"])
            earlier.write(dict(common, milestone=1, date=DEMO_EARLIER_DATE))
            earlier.action_freeze()
            self._demo_xmlid(earlier, DEMO_EARLIER_XMLID)
        current = self.create(dict(
            common, milestone=earlier.milestone + 1, previous_id=earlier.id))
        current._demo_carry_over(earlier)
        current._recompute_scores()
        self._demo_xmlid(current, DEMO_XMLID)
        current.action_run_checks()
        return current

    def _demo_carry_over(self, earlier):
        """Findings, risks and the roadmap of the earlier milestone, as the start of this
        one (the checks then update what they can see)."""
        self.ensure_one()
        self.env["ipai.waf.finding"].create([{
            "assessment_id": self.id, "control_id": f.control_id.id, "status": f.status,
            "na_reason": f.na_reason, "evidence": f.evidence, "evidence_url": f.evidence_url,
            "source": f.source, "carried_over": True, "checked_at": f.checked_at,
        } for f in earlier.finding_ids])
        self.env["ipai.waf.risk"].create([{
            "assessment_id": self.id, "title": r.title, "pillar_id": r.pillar_id.id,
            "severity": r.severity, "likelihood": r.likelihood, "impact": r.impact,
            "residual_likelihood": r.residual_likelihood,
            "residual_impact": r.residual_impact, "mitigation": r.mitigation,
            "owner_id": r.owner_id.id, "due_date": r.due_date,
        } for r in earlier.risk_ids])
        olds = earlier.recommendation_ids
        news = self.env["ipai.waf.recommendation"].create([{
            "assessment_id": self.id, "title": r.title, "phase": r.phase,
            "priority": r.priority, "effort_days": r.effort_days,
            "expected_gain": r.expected_gain, "pillar_ids": [Command.set(r.pillar_ids.ids)],
            "owner_id": r.owner_id.id, "state": DEMO_PROGRESS.get(r.title, r.state),
        } for r in olds])
        new_of = dict(zip(olds, news, strict=True))
        for old, new in new_of.items():
            if old.depends_on_ids:
                new.depends_on_ids = [Command.set([new_of[d].id for d in old.depends_on_ids
                                                   if d in new_of])]

    @api.model
    def _demo_xmlid(self, record, name):
        # noupdate: a module update keeps the demo records (and their xmlids).
        self.env["ir.model.data"].create({
            "module": "ipai_waf_assessment", "name": name, "model": record._name,
            "res_id": record.id, "noupdate": True,
        })
