# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
import base64
import json

from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.exceptions import UserError

PHASES = {"0_30": "0-30 days", "30_60": "30-60 days", "60_90": "60-90 days", "later": "Later"}


class IpaiWafImportWizard(models.TransientModel):
    _name = "ipai.waf.import.wizard"
    _description = "Import a Well-Architected Report"

    name = fields.Char(string="Assessment name", required=True)
    fmt = fields.Selection(
        [("markdown", "Markdown report"), ("aws_lens", "AWS custom lens (JSON)"),
         ("azure_checklist", "Azure review checklist (JSON)")],
        string="Format", default="markdown", required=True,
    )
    file = fields.Binary()
    filename = fields.Char()
    content = fields.Text(help="Paste the report here instead of uploading a file.")
    state = fields.Selection(
        [("draft", "Document"), ("preview", "Preview"), ("done", "Imported")],
        default="draft", required=True,
    )
    plan = fields.Text(readonly=True, help="The preview's plan (JSON).")
    preview_html = fields.Html(compute="_compute_preview_html", sanitize=False)
    line_ids = fields.One2many("ipai.waf.import.wizard.line", "wizard_id", string="Findings")
    warnings = fields.Text(readonly=True)
    assessment_id = fields.Many2one("ipai.waf.assessment", readonly=True)

    def _get_content(self):
        self.ensure_one()
        if self.file:
            # bytes: the importer detects the encoding (UTF-8, UTF-16, cp1252, Latin-1)
            return base64.b64decode(self.file)
        if self.content:
            return self.content
        raise UserError(self.env._("Upload a file or paste the report."))

    def _reopen(self):
        return {
            "type": "ir.actions.act_window", "res_model": self._name, "res_id": self.id,
            "view_mode": "form", "target": "new",
        }

    def action_preview(self):
        """Read the document and show what the import would create (writes nothing)."""
        self.ensure_one()
        plan = self.env["ipai.waf.assessment"].preview_report(self._get_content(), self.fmt)
        self.line_ids.unlink()
        self.write({
            "plan": json.dumps(plan), "state": "preview",
            "line_ids": [fields.Command.create({
                "key": row["key"], "line_no": row["line"] or 0,
                "pillar": row["pillar"] or "", "component": row["component"],
                "status": row["status"], "confidence": row["confidence"],
                "control_id": row["control_id"] or False,
                "proposed_control_id": row["control_id"] or False,
                "action": row["action"], "reason": row["reason"] or row["note"] or "",
            }) for row in plan["findings"]],
        })
        return self._reopen()

    def _changes(self):
        """The assessor's changes to the preview, in ``import_report``'s plan shape."""
        changes = []
        for line in self.line_ids:
            action = line.action
            if line.control_id and line.control_id != line.proposed_control_id \
                    and action != "skip":
                action = "match"
            change = {"key": line.key, "action": action}
            if action == "match":
                change["control_id"] = line.control_id.id
            changes.append(change)
        return {"findings": changes}

    def action_import(self):
        self.ensure_one()
        result = self.env["ipai.waf.assessment"].import_report(
            self.name, self._get_content(), self.fmt,
            plan=self._changes() if self.state == "preview" else None,
        )
        self.write({
            "assessment_id": result["id"], "state": "done",
            "warnings": "\n".join(result["warnings"]) or self.env._("No warnings."),
        })
        return self._reopen()

    def action_back(self):
        self.ensure_one()
        self.line_ids.unlink()
        self.write({"state": "draft", "plan": False})
        return self._reopen()

    def action_open_assessment(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window", "res_model": "ipai.waf.assessment",
            "res_id": self.assessment_id.id, "view_mode": "form", "target": "current",
        }

    @api.depends("plan")
    def _compute_preview_html(self):
        for wizard in self:
            wizard.preview_html = wizard._render_preview(json.loads(wizard.plan)) \
                if wizard.plan else False

    def _render_preview(self, plan):
        out = []

        def table(headers, rows):
            head = Markup("").join(Markup("<th>%s</th>") % h for h in headers)
            body = Markup("").join(
                Markup("<tr>%s</tr>") % Markup("").join(
                    Markup("<td>%s</td>") % ("" if c is None else c) for c in row)
                for row in rows)
            return Markup('<table class="table table-sm o_waf_preview_table"><thead><tr>%s'
                          "</tr></thead><tbody>%s</tbody></table>") % (head, body)

        env = self.env
        stated = plan["stated"]
        out.append(Markup("<h4>%s</h4>") % env._("Stated scores"))
        rows = [(env._("Overall"), stated["overall"], "", "")] \
            if stated["overall"] is not None else []
        rows += [(f["name"], f["score"], f["grade"], f["status"]) for f in stated["frameworks"]]
        rows += [(p["pillar"], p["score"], "", env._("line %s", p["line"]))
                 for p in stated["pillars"]]
        out.append(table([env._("Name"), env._("Score"), env._("Grade"), env._("Status")],
                         rows))
        if plan["decision"]:
            out.append(Markup("<p><b>%s</b> %s</p>") % (env._("Decision:"), plan["decision"]))
        by_pillar = {}
        for row in plan["findings"]:
            by_pillar.setdefault(row["pillar"] or env._("(no pillar)"), []).append(row)
        out.append(Markup("<h4>%s</h4>") % env._("Findings per pillar"))
        for pillar, rows_ in by_pillar.items():
            out.append(Markup('<h5 class="o_waf_preview_pillar">%s (%s)</h5>')
                       % (pillar, len(rows_)))
            out.append(table(
                [env._("Line"), env._("Component"), env._("Status"), env._("Control"),
                 env._("Confidence"), env._("Action")],
                [(r["line"], r["component"], r["status"], r["control_name"] or "",
                  f"{r['confidence']:g}", r["action"]) for r in rows_]))
        out.append(Markup("<h4>%s</h4>") % env._("Recommendations"))
        out.append(table(
            [env._("Line"), env._("Title"), env._("Phase"), env._("Expected gain")],
            [(r["line"], r["title"], PHASES.get(r["phase"], env._("not stated")),
              r["gain"] or "") for r in plan["recommendations"]]))
        out.append(Markup("<h4>%s</h4>") % env._("Risks"))
        out.append(table(
            [env._("Line"), env._("Risk"), env._("Severity"), env._("Likelihood"),
             env._("Impact")],
            [(r["line"], r["title"], r["severity"] or "", r["likelihood"] or "",
              r["impact"] or "") for r in plan["risks"]]))
        out.append(Markup("<h4>%s</h4>") % env._("Lines that could not be read"))
        out.append(table([env._("Line"), env._("Reason")], [
            (u["line"] or "", u["reason"]) for u in plan["unreadable"]]))
        return Markup("").join(escape(part) for part in out)
