# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
import json
import logging

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from ..engine.vocabulary import STATUSES

_logger = logging.getLogger(__name__)


class IpaiWafFinding(models.Model):
    _name = "ipai.waf.finding"
    # Comments and evidence files in the chatter; the guard lets mail's own writes through.
    _inherit = ["ipai.waf.frozen.guard", "mail.thread.main.attachment", "mail.activity.mixin"]
    _description = "Well-Architected Finding"
    _order = "pillar_id, control_id, id"

    assessment_id = fields.Many2one(
        "ipai.waf.assessment", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="assessment_id.company_id", store=True)
    frozen = fields.Boolean(related="assessment_id.frozen", string="Frozen milestone")
    control_id = fields.Many2one("ipai.waf.control", required=True, ondelete="restrict")
    pillar_id = fields.Many2one(related="control_id.pillar_id", store=True)
    severity = fields.Selection(related="control_id.severity", store=True)
    status = fields.Selection(STATUSES, required=True, default="unknown", tracking=True)
    na_reason = fields.Selection([
        ("out_of_scope", "Out of scope"),
        ("business_priorities", "Business priorities"),
        ("architecture_constraints", "Architecture constraints"),
        ("other", "Other"),
    ], string="Not-applicable reason", tracking=True)
    evidence = fields.Text(tracking=True)
    evidence_url = fields.Char(string="Evidence link", tracking=True)
    source = fields.Selection(
        [("manual", "Manual"), ("automated", "Automated"), ("imported", "Imported")],
        default="manual", required=True,
    )
    carried_over = fields.Boolean(readonly=True)
    checked_at = fields.Datetime()

    _assessment_control_uniq = models.UniqueIndex("(assessment_id, control_id)")

    @api.model_create_multi
    def create(self, vals_list):
        # Findings come by the hundred from one import or check run: no creation message
        # and no follower per finding. Comments and tracked changes start after creation.
        records = super(IpaiWafFinding, self.with_context(tracking_disable=True)).create(
            vals_list)
        return records.with_env(self.env)

    @api.depends("assessment_id.name", "control_id.code", "control_id.name")
    def _compute_display_name(self):
        # The chatter, activities and notifications name a finding by its control.
        for rec in self:
            rec.display_name = " / ".join(
                part for part in (rec.assessment_id.name, rec.control_id.code,
                                  rec.control_id.name) if part)

    @api.constrains("status", "na_reason")
    def _check_na_reason(self):
        for rec in self:
            if rec.status == "not_applicable" and not rec.na_reason:
                raise ValidationError(self.env._("A not-applicable finding needs a reason."))

    @api.model
    def _create_bulk(self, vals_list):
        """Create many findings in one INSERT; returns them.

        An import writes thousands of findings at once, and the ORM's create cost
        several times the parse. The INSERT reads the related fields (company,
        pillar, severity) in the same statement. What create would enforce is
        enforced here: access rights and record rules, the frozen guard, the
        not-applicable reason, and the unique (assessment, control) index.
        """
        if not vals_list:
            return self.browse()
        self.check_access("create")
        columns = {"assessment_id", "control_id", "status", "na_reason", "evidence",
                   "evidence_url", "source", "checked_at"}
        for vals in vals_list:
            if set(vals) - columns:
                raise ValueError(f"_create_bulk takes {sorted(columns)}, not {sorted(vals)}")
            if vals.get("status") == "not_applicable" and not vals.get("na_reason"):
                raise ValidationError(self.env._("A not-applicable finding needs a reason."))
        self._check_not_frozen(self.env["ipai.waf.assessment"].browse(
            {vals["assessment_id"] for vals in vals_list}))
        def text(value):
            # jsonb refuses NUL, and PostgreSQL text cannot hold it either.
            return value.replace("\x00", "") if value else None

        stamps = {}  # an import stamps its rows with one moment: formatted once

        def stamp(value):
            if value not in stamps:
                stamps[value] = fields.Datetime.to_string(value) if value else None
            return stamps[value]

        rows = [{
            "assessment_id": vals["assessment_id"], "control_id": vals["control_id"],
            "status": vals.get("status") or "unknown", "na_reason": vals.get("na_reason") or None,
            "evidence": text(vals.get("evidence")), "evidence_url": text(vals.get("evidence_url")),
            "source": vals.get("source") or "manual", "checked_at": stamp(vals.get("checked_at")),
        } for vals in vals_list]
        self.env["ipai.waf.assessment"].flush_model(["company_id"])
        self.env["ipai.waf.control"].flush_model(["pillar_id", "severity"])
        ids = [row[0] for row in self.env.execute_query(SQL(
            """INSERT INTO ipai_waf_finding
                   (assessment_id, control_id, company_id, pillar_id, severity, status,
                    na_reason, evidence, evidence_url, source, checked_at, carried_over,
                    create_uid, create_date, write_uid, write_date)
               SELECT v.assessment_id, v.control_id, a.company_id, c.pillar_id, c.severity,
                      v.status, v.na_reason, v.evidence, v.evidence_url, v.source,
                      v.checked_at, FALSE, %(uid)s, now() AT TIME ZONE 'UTC', %(uid)s,
                      now() AT TIME ZONE 'UTC'
                 FROM jsonb_to_recordset(%(rows)s::jsonb) AS v(
                          assessment_id int, control_id int, status varchar,
                          na_reason varchar, evidence text, evidence_url varchar,
                          source varchar, checked_at timestamp)
                 JOIN ipai_waf_assessment a ON a.id = v.assessment_id
                 JOIN ipai_waf_control c ON c.id = v.control_id
            RETURNING id""", uid=self.env.uid, rows=json.dumps(rows)))]
        if len(ids) != len(rows):
            raise ValidationError(self.env._("A finding names an unknown assessment or control."))
        records = self.browse(sorted(ids))
        # The cache knows nothing of the new rows: drop what depends on them.
        self.env["ipai.waf.assessment"].browse(
            {r["assessment_id"] for r in rows}).invalidate_recordset(["finding_ids"])
        # Dependents recompute, but not the related fields the INSERT just wrote.
        related = [self._fields[f] for f in ("company_id", "pillar_id", "severity")]
        with self.env.protecting(related, records):
            records.modified(sorted(columns), create=True)
        records.check_access("create")  # record rules, now that the rows exist
        return records

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
