# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
import json

from odoo import http
from odoo.http import request


class IpaiWafAssessmentController(http.Controller):
    """Downloads of an assessment, as the logged-in user: record rules decide (another
    company's assessment is refused with 403), the model builds the document."""

    @http.route("/ipai_waf_assessment/<int:assessment_id>/gaps.md", type="http", auth="user")
    def gaps_markdown(self, assessment_id):
        assessment = request.env["ipai.waf.assessment"].browse(assessment_id)
        assessment.check_access("read")
        body = assessment.export_gaps_markdown()
        filename = f"gaps-{assessment_id}.md"
        return request.make_response(body, headers=[
            ("Content-Type", "text/markdown; charset=utf-8"),
            ("Content-Disposition", f'attachment; filename="{filename}"'),
        ])

    @http.route("/ipai_waf_assessment/<int:assessment_id>/scorecard.json", type="http",
                auth="user")
    def scorecard_json(self, assessment_id):
        assessment = request.env["ipai.waf.assessment"].browse(assessment_id)
        assessment.check_access("read")
        # export_scorecard validates the document against engine/scorecard.schema.json.
        body = json.dumps(assessment.export_scorecard(), ensure_ascii=False, indent=2)
        filename = f"scorecard-{assessment_id}.json"
        return request.make_response(body, headers=[
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Disposition", f'attachment; filename="{filename}"'),
        ])
