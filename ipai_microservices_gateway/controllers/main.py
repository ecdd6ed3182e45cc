from odoo import http
from odoo.http import request


class GatewayHealthController(http.Controller):
    @http.route("/ipai/health", type="http", auth="none", methods=["GET"], save_session=False)
    def ipai_health(self):
        """Public health summary for load balancers and monitors: no secret, no URL."""
        # auth="none" has no database environment of its own: use the one of the
        # request's database (dbfilter), as superuser, for a read-only summary.
        summary, http_status = request.env["ipai.gateway"].sudo()._health_summary()
        return request.make_json_response(summary, status=http_status)
