# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command


class IpaiWafCompareWizard(models.TransientModel):
    """"Compare with…" on an assessment: what changed between two milestones.

    The earlier of the two (milestone, then date) is the *before* side, whichever way the
    user picks them. The diff itself is ``ipai.waf.assessment.compare``; this wizard only
    lays it out as lines (one per control: new, resolved, changed or removed) and pillar
    scores (before, after, delta).
    """

    _name = "ipai.waf.compare.wizard"
    _description = "Compare Two Well-Architected Assessments"

    assessment_id = fields.Many2one("ipai.waf.assessment", required=True, readonly=True)
    workload = fields.Char(related="assessment_id.workload")
    company_id = fields.Many2one(related="assessment_id.company_id")
    other_id = fields.Many2one(
        "ipai.waf.assessment", string="Compare with", compute="_compute_other_id",
        store=True, readonly=False,
        domain="[('id', '!=', assessment_id), ('workload', '=', workload), "
               "('company_id', '=', company_id)]",
        help="Another assessment of the same workload and company.")
    state = fields.Selection([("draft", "Choose"), ("done", "Compared")], default="draft",
                             required=True)
    before_id = fields.Many2one("ipai.waf.assessment", readonly=True)
    after_id = fields.Many2one("ipai.waf.assessment", readonly=True)
    line_ids = fields.One2many("ipai.waf.compare.wizard.line", "wizard_id",
                               string="Findings", readonly=True)
    pillar_ids = fields.One2many("ipai.waf.compare.wizard.pillar", "wizard_id",
                                 string="Pillar scores", readonly=True)
    new_count = fields.Integer(string="New", compute="_compute_counts")
    resolved_count = fields.Integer(string="Resolved", compute="_compute_counts")
    changed_count = fields.Integer(string="Changed", compute="_compute_counts")
    removed_count = fields.Integer(string="Removed", compute="_compute_counts")
    overall_before = fields.Float(readonly=True)
    overall_after = fields.Float(readonly=True)
    overall_delta = fields.Float(string="Overall delta", readonly=True)

    @api.depends("assessment_id")
    def _compute_other_id(self):
        for wizard in self:
            current = wizard.assessment_id
            wizard.other_id = current.previous_id if current.previous_id and \
                current.previous_id.workload == current.workload else self.env[
                "ipai.waf.assessment"].search(
                    [("id", "!=", current.id), ("workload", "=", current.workload),
                     ("company_id", "=", current.company_id.id)],
                    order="milestone desc, date desc, id desc", limit=1)

    @api.depends("line_ids.kind")
    def _compute_counts(self):
        for wizard in self:
            kinds = wizard.line_ids.mapped("kind")
            wizard.new_count = kinds.count("new")
            wizard.resolved_count = kinds.count("resolved")
            wizard.changed_count = kinds.count("changed")
            wizard.removed_count = kinds.count("removed")

    @api.constrains("assessment_id", "other_id")
    def _check_other(self):
        for wizard in self.filtered("other_id"):
            current, other = wizard.assessment_id, wizard.other_id
            if other == current:
                raise ValidationError(self.env._("Pick another assessment to compare with."))
            if (other.workload or False) != (current.workload or False) \
                    or other.company_id != current.company_id:
                raise ValidationError(self.env._(
                    "%(other)s is not an assessment of the workload and company of "
                    "%(current)s.", other=other.display_name, current=current.display_name))

    def _reopen(self):
        return {
            "type": "ir.actions.act_window", "res_model": self._name, "res_id": self.id,
            "view_mode": "form", "target": "new",
        }

    def action_compare(self):
        self.ensure_one()
        if not self.other_id:
            raise UserError(self.env._(
                "There is no other assessment of this workload to compare with."))
        before, after = self.assessment_id, self.other_id
        if (after.milestone, after.date, after.id) < (before.milestone, before.date, before.id):
            before, after = after, before
        diff = after.compare(before.id)
        controls = {f.control_id.code: f for f in before.finding_ids | after.finding_ids}
        status_before = {f.control_id.code: f.status for f in before.finding_ids}
        status_after = {f.control_id.code: f.status for f in after.finding_ids}
        resolved = set(diff["resolved"])
        rows = [("new", code) for code in diff["new"]]
        rows += [("resolved", code) for code in diff["resolved"]]
        rows += [("changed", item["control_code"]) for item in diff["changed"]
                 if item["control_code"] not in resolved]
        rows += [("removed", code) for code in diff["removed"]]
        self.line_ids.unlink()
        self.pillar_ids.unlink()
        self.write({
            "state": "done", "before_id": before.id, "after_id": after.id,
            "overall_before": diff["overall_before"], "overall_after": diff["overall_after"],
            "overall_delta": diff["overall_delta"],
            "line_ids": [Command.create({
                "kind": kind, "control_id": controls[code].control_id.id,
                "before": status_before.get(code, False),
                "after": status_after.get(code, False),
            }) for kind, code in rows],
            "pillar_ids": [Command.create({
                "pillar_code": item["code"], "pillar_name": item["name"],
                "framework": item["framework"] or False,
                "before": item["before"] or 0.0, "after": item["after"] or 0.0,
                "delta": item["delta"],
            }) for item in diff["pillars"]],
        })
        return self._reopen()

    def action_back(self):
        self.ensure_one()
        self.line_ids.unlink()
        self.pillar_ids.unlink()
        self.state = "draft"
        return self._reopen()
