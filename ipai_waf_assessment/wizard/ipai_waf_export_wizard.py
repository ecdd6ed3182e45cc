# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
import base64

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..engine import exporters
from ..engine.importers.common import slug

AWS_LENS_PREFIX = "aws_lens:"
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


class IpaiWafExportWizard(models.TransientModel):
    """Export an assessment as an AWS custom lens or an Azure review checklist.

    The formats are written by ``engine/exporters`` (plain Python); this wizard picks the
    findings, names the document so that a lens or checklist imported here comes back
    under its own name (and so to its own controls), and offers the file.
    """

    _name = "ipai.waf.export.wizard"
    _description = "Export a Well-Architected Assessment"

    assessment_id = fields.Many2one("ipai.waf.assessment", required=True, ondelete="cascade")
    fmt = fields.Selection(
        [("aws_lens", "AWS custom lens (JSON)"),
         ("azure_checklist", "Azure review checklist (JSON)")],
        string="Format", default="aws_lens", required=True,
    )
    available_framework_ids = fields.Many2many(
        "ipai.waf.framework", compute="_compute_available_framework_ids")
    framework_id = fields.Many2one(
        "ipai.waf.framework", compute="_compute_framework_id", store=True, readonly=False,
        domain="[('id', 'in', available_framework_ids)]",
        help="An AWS lens holds one framework's pillars (at most 10).",
    )
    with_answers = fields.Boolean(
        string="Include the answers", default=True,
        help="The answers (choices, notes, not-applicable reasons) go beside the lens, as "
        "AWS's API returns them. Untick for the lens alone, to import it with AWS's "
        "ImportLens.",
    )
    state = fields.Selection([("draft", "Options"), ("done", "Exported")], default="draft",
                             required=True)
    file = fields.Binary(readonly=True, attachment=False)
    filename = fields.Char(readonly=True)
    notes = fields.Text(readonly=True)

    @api.depends("assessment_id")
    def _compute_available_framework_ids(self):
        for wizard in self:
            wizard.available_framework_ids = \
                wizard.assessment_id.finding_ids.pillar_id.framework_id

    @api.depends("assessment_id")
    def _compute_framework_id(self):
        for wizard in self:
            counts = {}
            for finding in wizard.assessment_id.finding_ids:
                framework = finding.pillar_id.framework_id
                counts[framework] = counts.get(framework, 0) + 1
            wizard.framework_id = max(counts, key=lambda f: (counts[f], -f.sequence, -f.id)) \
                if counts else False

    def action_export(self):
        self.ensure_one()
        filename, result = self._build(self.assessment_id, self.fmt, self.framework_id,
                                       self.with_answers)
        self.write({
            "file": base64.b64encode(result.dumps().encode()), "filename": filename,
            "notes": "\n".join(result.notes) or self.env._("Nothing was lost on the way."),
            "state": "done",
        })
        return {
            "type": "ir.actions.act_window", "res_model": self._name, "res_id": self.id,
            "view_mode": "form", "target": "new",
        }

    @api.model
    def export_assessment(self, assessment_id, fmt, framework_id=None, answers=True):
        """The export as ``{"filename", "document", "notes"}`` (for JSON-RPC)."""
        assessment = self.env["ipai.waf.assessment"].browse(assessment_id).exists()
        if not assessment:
            raise UserError(self.env._("Assessment %s does not exist.", assessment_id))
        assessment.check_access("read")
        framework = self.env["ipai.waf.framework"].browse(framework_id or [])
        if not framework and fmt == "aws_lens":
            framework = self.new({"assessment_id": assessment.id}).framework_id
        filename, result = self._build(assessment, fmt, framework, answers)
        return {"filename": filename, "document": result.document, "notes": result.notes}

    # ------------------------------------------------------------------ helpers
    @api.model
    def _build(self, assessment, fmt, framework, answers):
        """``(filename, ExportResult)``; UserError when the format cannot hold it."""
        if fmt == "azure_checklist":
            framework = self.env.ref("ipai_waf_assessment.framework_azure_waf",
                                     raise_if_not_found=False) or \
                self.env["ipai.waf.framework"].search([("code", "=", "azure_waf")], limit=1)
        elif fmt != "aws_lens":
            raise UserError(self.env._("Unknown export format %s", fmt))
        if not framework:
            raise UserError(self.env._("Pick the framework to export."))
        mine = assessment.finding_ids.filtered(lambda f: f.pillar_id.framework_id == framework)
        findings = [self._export_finding(f) for f in mine.sorted(
            lambda f: (f.pillar_id.sequence, f.pillar_id.id, f.control_id.sequence,
                       f.control_id.id))]
        left_out = len(assessment.finding_ids) - len(mine)
        try:
            if fmt == "aws_lens":
                result = exporters.export_aws_lens(
                    findings, self._lens_name(framework, findings),
                    description=self._lens_description(assessment), answers=answers)
            else:
                today = fields.Date.context_today(self)
                result = exporters.export_azure_checklist(
                    findings, exporters.shared_source_name(findings, "azure_checklist")
                    or framework.name,
                    timestamp=f"{MONTHS[today.month - 1]} {today.day:02d}, {today.year}")
        except exporters.ExportError as exc:
            raise UserError(self.env._("%(assessment)s cannot be exported: %(reason)s",
                                       assessment=assessment.display_name,
                                       reason=str(exc))) from exc
        if left_out:
            result.notes.insert(0, self.env._(
                "%(count)s finding(s) of other frameworks left out: the file holds %(fw)s.",
                count=left_out, fw=framework.name))
        ext = "aws-lens" if fmt == "aws_lens" else "azure-checklist"
        return f"{slug(assessment.name, 60)}.{ext}.json", result

    @api.model
    def _lens_name(self, framework, findings):
        """A lens imported here comes back under its own name (so to its own controls)."""
        if framework.code.startswith(AWS_LENS_PREFIX):
            key = framework.code[len(AWS_LENS_PREFIX):]
            if slug(framework.name) == key:
                return framework.name
            return exporters.shared_source_name(findings, "aws_lens") or key
        return framework.name

    @api.model
    def _lens_description(self, assessment):
        return self.env._(
            "%(name)s: workload %(workload)s, milestone %(milestone)s of %(date)s. Exported "
            "from Odoo (IPAI Well-Architected suite).", name=assessment.name,
            workload=assessment.workload or "-", milestone=assessment.milestone,
            date=assessment.date.isoformat())

    @api.model
    def _export_finding(self, finding):
        control = finding.control_id
        return exporters.ExportFinding(
            code=control.code, name=control.name, pillar_code=finding.pillar_id.code,
            pillar_name=finding.pillar_id.name, status=finding.status,
            severity=finding.severity or None, na_reason=finding.na_reason or None,
            evidence=finding.evidence or "", evidence_url=finding.evidence_url or None,
            description=control.description or "", recommendation=control.recommendation or "",
            reference_url=control.reference_url or None, source=control.source or None,
        )
