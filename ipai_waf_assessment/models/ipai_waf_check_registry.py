# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import config

from ..engine.vocabulary import STATUS_KEYS

AVAILABILITY_TARGET = 99.0
QUALITY_TARGET = 98.0


class IpaiWafCheckRegistry(models.AbstractModel):
    """Registry of automated checks, keyed by ``ipai.waf.control.check_key``.

    Each check returns ``(status, evidence)``. Modules add a check by inheriting this
    model and extending ``_checks()``.
    """

    _name = "ipai.waf.check.registry"
    _description = "Well-Architected Check Registry"

    @api.model
    def _checks(self):
        return {
            "gateway_credentials": self._check_gateway_credentials,
            "gateway_health": self._check_gateway_health,
            "queue_job_runner": self._check_queue_job_runner,
            "admin_2fa": self._check_admin_2fa,
            "db_manager_hidden": self._check_db_manager_hidden,
            "databricks_freshness": self._check_databricks_freshness,
            "databricks_quality": self._check_databricks_quality,
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
        if not check:
            return "unknown", self.env._("No automated check is registered for %s.", check_key)
        return check()

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

    # -- gateway ---------------------------------------------------------------
    def _gateway_posture(self):
        # sudo: the check reads the posture of every service of the company.
        Service = self.env["ipai.gateway.service"].sudo()
        posture = Service._get_posture()
        items = posture if isinstance(posture, list) else posture.get("services", [])
        codes = set(Service.search(self._company_domain()).mapped("code"))
        return [item for item in items if item.get("code") in codes]

    def _gateway_absent(self):
        if "ipai.gateway.service" not in self.env:
            return "not_applicable", self.env._("The microservices gateway is not installed.")
        return None

    @api.model
    def _check_gateway_credentials(self):
        absent = self._gateway_absent()
        if absent:
            return absent
        items = self._gateway_posture()
        if not items:
            return "not_applicable", self.env._("No active gateway service.")
        bad = []
        for item in items:
            flags = []
            if item.get("secret_required") and not (
                item.get("secret_set") and item.get("secret_encrypted")
            ):
                flags.append("credentials")
            if not item.get("timeouts_ok"):
                flags.append("timeouts")
            if not item.get("breaker_policy_ok"):
                flags.append("breaker")
            if flags:
                bad.append(f"{item.get('name')}: {', '.join(flags)}")
        if bad:
            return "partial", self.env._("Services lacking safeguards: %s", "; ".join(bad))
        return "implemented", self.env._(
            "%s active services have encrypted credentials, timeouts and a breaker.", len(items)
        )

    @api.model
    def _check_gateway_health(self):
        absent = self._gateway_absent()
        if absent or "ipai.gateway.health.log" not in self.env:
            return absent or ("not_applicable", self.env._("No gateway health log."))
        posture = self._gateway_posture()
        if not posture:
            return "not_applicable", self.env._("No active gateway service.")
        since = fields.Datetime.now() - timedelta(hours=24)
        Log = self.env["ipai.gateway.health.log"].sudo()
        problems = []
        for item in posture:
            ran = Log.search_count([
                ("service_id.code", "=", item["code"]), ("checked_at", ">=", since),
            ])
            target = item.get("availability_target") or AVAILABILITY_TARGET
            availability = item.get("availability_24h") or 0.0
            if not ran:
                problems.append(self.env._("%s: no health check in 24 h", item["name"]))
            elif availability < target:
                problems.append(self.env._(
                    "%(name)s: availability %(a).2f%% < target %(t)s%%",
                    name=item["name"], a=availability, t=target,
                ))
        if not problems:
            return "implemented", self.env._(
                "%s services checked in the last 24 h and meet their availability target.",
                len(posture),
            )
        status = "missing" if len(problems) == len(posture) else "partial"
        return status, "; ".join(problems)

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

    # -- databricks ----------------------------------------------------------------
    def _databricks_views(self):
        # sudo: freshness is assessed over every view of the company.
        return self.env["ipai.databricks.view"].sudo().search(
            [("active", "=", True)] + self._company_domain())

    @api.model
    def _check_databricks_freshness(self):
        if "ipai.databricks.view" not in self.env:
            return "not_applicable", self.env._("The Databricks connector is not installed.")
        views = self._databricks_views()
        if not views:
            return "not_applicable", self.env._("No active Databricks view.")
        late = views.filtered(lambda v: v.freshness_status != "fresh")
        if not late:
            return "implemented", self.env._("All %s views are fresh.", len(views))
        return "partial", self.env._(
            "Views outside their SLO: %s",
            ", ".join(f"{v.display_name} ({v.freshness_status})" for v in late),
        )

    @api.model
    def _check_databricks_quality(self):
        if "ipai.databricks.view" not in self.env:
            return "not_applicable", self.env._("The Databricks connector is not installed.")
        views = self._databricks_views()
        if not views:
            return "not_applicable", self.env._("No active Databricks view.")
        low = views.filtered(lambda v: (v.last_quality_pass_rate or 0.0) < QUALITY_TARGET)
        if not low:
            return "implemented", self.env._(
                "All %(n)s views pass data quality at >= %(t)s%%.", n=len(views), t=QUALITY_TARGET
            )
        return "partial", self.env._(
            "Views below %(t)s%% quality: %(v)s", t=QUALITY_TARGET,
            v=", ".join(f"{v.display_name} ({v.last_quality_pass_rate}%)" for v in low),
        )
