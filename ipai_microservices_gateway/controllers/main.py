from odoo import http
from odoo.http import request


class GatewayHealthController(http.Controller):
    @http.route("/ipai/health", type="http", auth="none", methods=["GET"], save_session=False,
                readonly=True)
    def ipai_health(self):
        """Health for load balancers and monitors: anonymous callers get the status
        only; the details need the configured token or a Gateway Manager's session
        (see ``ipai.gateway._health_answer``)."""
        if not request.db:
            # No database selected (several databases and no dbfilter): say so.
            return request.make_json_response({"status": "down"}, status=503)
        token = _bearer(request)
        # auth="none" has no user: the answer is computed as superuser, read-only;
        # Odoo has already validated the session whose user id is passed.
        body, status = request.env["ipai.gateway"].sudo()._health_answer(
            token=token, session_uid=request.session.uid)
        return request.make_json_response(body, status=status)

    @http.route("/metrics", type="http", auth="none", methods=["GET"], save_session=False,
                readonly=True)
    def ipai_metrics(self):
        """Prometheus scrape endpoint: needs ``Authorization: Bearer <token>``, the token
        configured in ``IPAI_METRICS_TOKEN`` / ``ipai_metrics_token``."""
        if not request.db:
            return request.make_response("no database selected\n", status=503)
        # auth="none": read as superuser, after the token check, read-only.
        metrics = request.env["ipai.gateway.metrics"].sudo()
        if not metrics._token_ok(_bearer(request)):
            return request.make_response(
                "a valid bearer token is required\n", status=401,
                headers=[("WWW-Authenticate", "Bearer"), ("Content-Type", "text/plain")])
        return request.make_response(metrics._render(), headers=[
            ("Content-Type", "text/plain; version=0.0.4; charset=utf-8")])


def _bearer(req):
    auth = req.httprequest.headers.get("Authorization", "")
    return auth[7:].strip() if auth[:7].lower() == "bearer " else None
