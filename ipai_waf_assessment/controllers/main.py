# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import http
from odoo.http import request


class IpaiWafAssessmentController(http.Controller):
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
