from odoo import http
from odoo.http import request


class GatewayHealthController(http.Controller):
    @http.route("/ipai/health", type="http", auth="none", methods=["GET"], save_session=False)
    def ipai_health(self):
        """Public health summary for load balancers and monitors: no secret, no URL."""
        if not request.db:
            # No database selected (several databases and no dbfilter): say so.
            return request.make_json_response({"status": "down", "database": False}, status=503)
        # auth="none" has no user: the summary is read as superuser, read-only.
        summary, http_status = request.env["ipai.gateway"].sudo()._health_summary()
        return request.make_json_response(summary, status=http_status)
