# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import config

from ..engine.vocabulary import STATUS_KEYS

# Checks of the shipped catalog that read another module's records live in a bridge
# module (installed automatically with both ends): check_key -> (bridge, other module).
# Without the bridge the control is not applicable, and its evidence says what to install.
BRIDGE_CHECKS = {
    "gateway_credentials": ("ipai_waf_assessment_gateway", "ipai_microservices_gateway"),
    "gateway_health": ("ipai_waf_assessment_gateway", "ipai_microservices_gateway"),
    "databricks_freshness": ("ipai_waf_assessment_databricks", "ipai_databricks_connector"),
    "databricks_quality": ("ipai_waf_assessment_databricks", "ipai_databricks_connector"),
}


class IpaiWafCheckRegistry(models.AbstractModel):
    """Registry of automated checks, keyed by ``ipai.waf.control.check_key``.

    Each check is a method that takes no argument and returns ``(status, evidence)``:
    ``status`` is a finding status, ``evidence`` a translated sentence. A module adds
    checks by inheriting this model and extending ``_checks()``::

        class IpaiWafCheckRegistry(models.AbstractModel):
            _inherit = "ipai.waf.check.registry"

            @api.model
            def _checks(self):
                return dict(super()._checks(), my_key=self._check_my_key)

    Checks read under sudo: ``_company_domain()`` keeps them to the assessment's company.
    A check_key listed in ``BRIDGE_CHECKS`` whose bridge is not installed answers
    *not applicable*, naming the module to install; any other unregistered key answers
    *unknown*.
    """

    _name = "ipai.waf.check.registry"
    _description = "Well-Architected Check Registry"

    @api.model
    def _checks(self):
        return {
            "queue_job_runner": self._check_queue_job_runner,
            "admin_2fa": self._check_admin_2fa,
            "db_manager_hidden": self._check_db_manager_hidden,
        }

    def _company_domain(self, field="company_id"):
        """Evidence covers the assessment's company only (and shared records): the
        checks read under sudo, so without this an assessment of one company would show
        another company's services, views and administrators."""
        company = self.env.context.get("ipai_waf_company_id")
        return [(field, "in", [False, company])] if company else []

    @api.model
    def _run(self, check_key):
        if check_key and check_key.startswith("action:"):
            return self._run_server_action(check_key.split(":", 1)[1])
        check = self._checks().get(check_key)
        if check:
            return check()
        if check_key in BRIDGE_CHECKS:
            return self._bridge_not_installed(check_key)
        return "unknown", self.env._("No automated check is registered for %s.", check_key)

    @api.model
    def _bridge_not_installed(self, check_key):
        bridge, other = BRIDGE_CHECKS[check_key]
        return "not_applicable", self.env._(
            "The check %(check)s comes with the module %(bridge)s, which is not installed: "
            "it installs itself with %(other)s.", check=check_key, bridge=bridge, other=other)

    @api.model
    def _run_server_action(self, xmlid):
        """Managers extend the registry without code: ``action:<xmlid>`` runs a server
        action whose Python code sets ``action = {"status": ..., "evidence": ...}``."""
        server_action = self.env.ref(xmlid, raise_if_not_found=False)
        if not server_action or server_action._name != "ir.actions.server":
            return "unknown", self.env._("Server action %s does not exist.", xmlid)
        result = server_action.run() or {}
        status = result.get("status")
        if status not in STATUS_KEYS:
            return "unknown", self.env._("Server action %s returned no valid status.", xmlid)
        return status, str(result.get("evidence") or "")

    # -- platform ----------------------------------------------------------------
    @api.model
    def _check_queue_job_runner(self):
        # sudo: job statistics are global.
        Job = self.env["queue.job"].sudo()
        since = fields.Datetime.now() - timedelta(hours=24)
        done = Job.search_count([("state", "=", "done"), ("date_done", ">=", since)])
        failed = Job.search_count([("state", "=", "failed")])
        evidence = self.env._(
            "%(done)s jobs done in the last 24 h; %(failed)s failed jobs.", done=done, failed=failed
        )
        if not done:
            return "missing", evidence
        return ("implemented" if not failed else "partial"), evidence

    @api.model
    def _check_admin_2fa(self):
        Users = self.env["res.users"].sudo()  # sudo: inspects every administrator
        if "totp_enabled" not in Users._fields:
            return "missing", self.env._(
                "Two-factor authentication (auth_totp) is not installed."
            )
        company = self.env.context.get("ipai_waf_company_id")
        admins = Users.search([("group_ids", "in", self.env.ref("base.group_system").id),
                               ("share", "=", False)]
                              + ([("company_ids", "in", [company])] if company else []))
        without = admins.filtered(lambda u: not u.totp_enabled)
        if not without:
            return "implemented", self.env._("All %s administrators use 2FA.", len(admins))
        return ("partial" if len(without) < len(admins) else "missing"), self.env._(
            "Administrators without 2FA: %s", ", ".join(without.mapped("login"))
        )

    @api.model
    def _check_db_manager_hidden(self):
        if config.get("list_db"):
            return "missing", self.env._("list_db is enabled: the database manager is exposed.")
        return "implemented", self.env._("list_db is disabled: the database manager is hidden.")
