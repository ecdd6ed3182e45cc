from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from odoo import api, fields, models, tools
from odoo.exceptions import AccessError, ValidationError

from ..resilience import breaker as bk
from ..resilience import client, ratelimit
from ..resilience.policy import RetryPolicy
from .ipai_gateway_secret import SECRET_NAMES

MANAGER = "ipai_microservices_gateway.gateway_group_manager"
SECRET_FIELDS = [name for name, _label in SECRET_NAMES]
# Which secrets each auth type needs; a type not listed needs none. Each type's
# headers are made by its method in ipai.gateway.auth.
AUTH_SECRETS = {
    "none": (),
    "bearer": ("token",),
    "api_key": ("api_key",),
    "basic": ("password",),
    "oauth2": ("client_secret",),
}


@dataclass(frozen=True)
class ServiceConfig:
    """What a call needs, as plain values, cached per process (ormcache)."""

    id: int
    code: str
    name: str
    base_url: str
    allowed_hosts: tuple
    auth_type: str
    api_key_header: str
    username: str
    client_id: str
    token_url: str
    oauth_scope: str
    timeout: tuple
    retry: RetryPolicy
    breaker: bk.BreakerPolicy
    channel: str
    concurrency: int
    max_bytes: int
    rate: object  # ratelimit.RatePolicy, or None when the service has no rate limit
    kind: str
    prices: tuple  # LLM/agent: ((model, prompt price, completion price) per 1M tokens)
    health_path: str
    health_degraded_ms: int
    # Ciphertexts only (never plaintext): decrypted at the moment of a call.
    ciphertexts: tuple = ()


class IpaiGatewayService(models.Model):
    _name = "ipai.gateway.service"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _description = "External service"
    _order = "sequence, name"

    name = fields.Char(required=True, translate=False)
    code = fields.Char(
        required=True, help="Stable identifier used by callers: env['ipai.gateway'].call(code, ...)"
    )
    sequence = fields.Integer(default=10)
    kind = fields.Selection(
        [("ocr", "OCR"), ("llm", "LLM"), ("agent", "Agent"), ("databricks", "Databricks"),
         ("generic", "Generic REST API")],
        required=True,
        default="generic",
    )
    base_url = fields.Char(string="Base URL", required=True, tracking=True)
    allowed_hosts = fields.Char(
        tracking=True,
        help="Comma-separated origins (scheme://host:port) this service may reach. Empty "
        "means the base URL's own. An entry without a scheme takes the base URL's, and an "
        "https service never sends over http. Any other target is refused before a "
        "connection is made."
    )
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company, index=True)
    description = fields.Text()

    # Authentication
    auth_type = fields.Selection(
        [("none", "None"), ("bearer", "Bearer token"), ("api_key", "API-key header"),
         ("basic", "Basic"), ("oauth2", "OAuth2 client credentials")],
        required=True,
        default="none",
        tracking=True,
    )
    api_key_header = fields.Char(string="API-key header", default="X-API-Key")
    username = fields.Char()
    client_id = fields.Char(string="OAuth2 client id")
    token_url = fields.Char(string="OAuth2 token URL", tracking=True)
    oauth_scope = fields.Char(string="OAuth2 scope")
    # Write-only secrets: they always read as empty; see _inverse_secrets.
    token = fields.Char(compute="_compute_secrets", inverse="_inverse_secrets", copy=False,
                        prefetch=False, groups=MANAGER)
    api_key = fields.Char(string="API key", compute="_compute_secrets",
                          inverse="_inverse_secrets", copy=False, prefetch=False,
                          groups=MANAGER)
    password = fields.Char(compute="_compute_secrets", inverse="_inverse_secrets", copy=False,
                           prefetch=False, groups=MANAGER)
    client_secret = fields.Char(string="OAuth2 client secret", compute="_compute_secrets",
                                inverse="_inverse_secrets", copy=False, prefetch=False,
                                groups=MANAGER)
    has_secret = fields.Boolean(
        compute="_compute_secret_status", help="The secret this authentication type needs is set."
    )
    secret_status = fields.Char(compute="_compute_secret_status", string="Credentials")

    # Timeouts (mandatory, never unbounded)
    connect_timeout = fields.Float(required=True, default=5.0, help="Seconds.")
    read_timeout = fields.Float(required=True, default=30.0, help="Seconds.")

    response_max_mb = fields.Float(
        string="Max response (MB)", required=True, default=10.0,
        help="An answer whose body is larger is refused with a typed error "
        "(GatewayResponseTooLarge) and its body is not kept.")

    # Rate limit (shared token bucket)
    rate_limit_requests = fields.Integer(
        string="Rate limit (requests)", default=0,
        help="At most this many calls per window, for all Odoo processes together "
        "(0: no limit). A 429 answer then also pauses the service until its Retry-After.")
    rate_limit_window = fields.Float(string="Rate window (s)", default=60.0)

    # Retry policy
    retry_max_attempts = fields.Integer(string="Max attempts", required=True, default=3)
    retry_backoff_initial = fields.Float(string="Initial backoff (s)", required=True, default=0.5)
    retry_backoff_max = fields.Float(string="Max backoff (s)", required=True, default=10.0)
    retry_total_budget = fields.Float(string="Total time budget (s)", required=True, default=60.0)

    # Breaker policy
    breaker_failure_threshold = fields.Integer(string="Consecutive failures", required=True,
                                               default=5)
    breaker_failure_rate = fields.Float(string="Failure rate (%)", default=50.0,
                                        help="0 disables the rule.")
    breaker_slow_call_rate = fields.Float(string="Slow-call rate (%)", default=0.0,
                                          help="0 disables the rule.")
    breaker_slow_call_ms = fields.Integer(string="Slow call (ms)", default=5000)
    breaker_window_seconds = fields.Integer(string="Window (s)", required=True, default=60)
    breaker_minimum_calls = fields.Integer(string="Minimum calls", required=True, default=10)
    breaker_open_seconds = fields.Float(string="Open duration (s)", required=True, default=30.0)

    # Breaker state (shared, see ipai.gateway.breaker)
    breaker_state = fields.Selection(
        [(bk.CLOSED, "Closed"), (bk.OPEN, "Open"), (bk.HALF_OPEN, "Half-open")],
        compute="_compute_breaker",
    )
    breaker_since = fields.Datetime(compute="_compute_breaker")
    breaker_open_until = fields.Datetime(compute="_compute_breaker", string="Next try")
    breaker_last_error = fields.Char(compute="_compute_breaker", string="Last error")
    breaker_consecutive_failures = fields.Integer(compute="_compute_breaker")

    # Health
    health_path = fields.Char(default="/health", help="Path probed by the health checks.")
    health_interval = fields.Integer(string="Health interval (min)", default=5)
    health_degraded_ms = fields.Integer(string="Degraded above (ms)", default=1000)
    availability_target = fields.Float(string="Availability target (%)", default=99.0)
    availability_24h = fields.Float(compute="_compute_health_stats", string="Availability 24 h (%)")
    availability_7d = fields.Float(compute="_compute_health_stats", string="Availability 7 d (%)")
    latency_p50_24h = fields.Float(compute="_compute_health_stats", string="p50 24 h (ms)")
    latency_p95_24h = fields.Float(compute="_compute_health_stats", string="p95 24 h (ms)")
    latency_p50_7d = fields.Float(compute="_compute_health_stats", string="p50 7 d (ms)")
    latency_p95_7d = fields.Float(compute="_compute_health_stats", string="p95 7 d (ms)")
    last_health_at = fields.Datetime(compute="_compute_health_stats")
    last_health_status = fields.Char(compute="_compute_health_stats")
    health_log_ids = fields.One2many("ipai.gateway.health.log", "service_id")
    # Generated from numbers only (no user text), hence sanitize=False for the SVG.
    health_chart = fields.Html(compute="_compute_health_chart", sanitize=False)
    alert_availability_low = fields.Boolean(
        readonly=True, copy=False,
        help="The availability over the last hour is below the target: managers were told; "
        "cleared (and noted) when it is back.")
    last_test_at = fields.Datetime(readonly=True, copy=False)
    last_test_result = fields.Char(readonly=True, copy=False)

    llm_price_ids = fields.One2many("ipai.gateway.llm.price", "service_id",
                                    string="Model prices")
    channel_id = fields.Many2one("queue.job.channel", readonly=True, copy=False,
                                 string="Job channel", ondelete="set null")
    concurrency = fields.Integer(
        string="Concurrent jobs", required=True, default=2,
        help="At most this many queued calls of this service run at once, in every "
        "worker together. The gateway enforces it in PostgreSQL (a counted semaphore "
        "released when the job ends or its worker dies); a job that finds every slot "
        "taken is postponed a few seconds without using up a retry, and frees its "
        "runner slot for other services.",
    )

    _code_company_unique = models.UniqueIndex(
        "(code, COALESCE(company_id, 0))", "The service code must be unique per company."
    )
    _timeouts_positive = models.Constraint(
        "CHECK(connect_timeout > 0 AND read_timeout > 0)",
        "Connect and read timeouts must be positive: calls are never unbounded.",
    )
    _attempts_positive = models.Constraint(
        "CHECK(retry_max_attempts >= 1 AND retry_total_budget > 0)",
        "A service needs at least one attempt and a positive time budget.",
    )
    _response_cap_positive = models.Constraint(
        "CHECK(response_max_mb > 0)", "The response-size cap must be positive.",
    )
    _rate_limit_valid = models.Constraint(
        "CHECK(rate_limit_requests >= 0 AND (rate_limit_requests = 0 OR rate_limit_window > 0))",
        "A rate limit needs a positive window.",
    )
    _concurrency_positive = models.Constraint(
        "CHECK(concurrency >= 1 AND concurrency <= 1000)",
        "A service runs between 1 and 1000 queued calls at once.",
    )
    _breaker_positive = models.Constraint(
        "CHECK(breaker_failure_threshold >= 1 AND breaker_minimum_calls >= 1 "
        "AND breaker_window_seconds >= 1 AND breaker_open_seconds > 0)",
        "Breaker thresholds, window and open duration must be positive.",
    )

    # -- constraints ---------------------------------------------------------

    @api.constrains("base_url", "token_url", "code")
    def _check_urls(self):
        for service in self:
            for url in filter(None, [service.base_url, service.token_url]):
                try:  # read as urllib3 connects, and as urlsplit does: they must agree
                    client.check_host(url, [client.format_origin(client.origin(url))], url)
                except (ValueError, client.HostRefused):
                    raise ValidationError(self.env._(
                        "%(url)s is not a plain http(s) URL (no user info, backslash or "
                        "space).", url=url)) from None
            if not service.code or not service.code.replace("_", "").replace("-", "").isalnum():
                raise ValidationError(
                    self.env._("The code may hold letters, digits, '-' and '_' only.")
                )

    # -- computes ------------------------------------------------------------

    def _compute_secrets(self):
        for service in self:
            for name in SECRET_FIELDS:
                service[name] = False

    def _inverse_secrets(self):
        Secret = self.env["ipai.gateway.secret"]
        labels = dict(SECRET_NAMES)
        for service in self:
            for name in SECRET_FIELDS:
                value = service[name]
                if value:
                    Secret._set(service, name, value)
                    # Who and when, never the value.
                    service.message_post(body=self.env._(
                        "%(secret)s changed.", secret=labels[name]),
                        subtype_xmlid="mail.mt_note")
        # Never leave the plaintext in the cache, where a later read would find it.
        self.invalidate_recordset(SECRET_FIELDS)
        self.env.registry.clear_cache()

    def _secret_names_set(self):
        # sudo: secrets are readable by no group; only their existence is shown.
        secrets = self.env["ipai.gateway.secret"].sudo().search([("service_id", "in", self.ids)])
        names = {}
        for secret in secrets:
            names.setdefault(secret.service_id.id, set()).add(secret.name)
        return names

    @api.depends("auth_type")
    def _compute_secret_status(self):
        names = self._secret_names_set()
        for service in self:
            needed = AUTH_SECRETS.get(service.auth_type or "none", ())
            present = names.get(service.id, set())
            service.has_secret = all(n in present for n in needed)
            if not needed:
                service.secret_status = self.env._("Not needed")
            elif service.has_secret:
                service.secret_status = self.env._("Set")
            else:
                service.secret_status = self.env._("Not set")

    def _compute_breaker(self):
        def to_dt(epoch):
            return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None) if epoch else False

        states = self.env["ipai.gateway.breaker"]._get_states([s.id for s in self if s.id])
        for service in self:
            state = states.get(service.id) or bk.reset(0.0)
            service.breaker_state = state.state
            service.breaker_since = to_dt(state.since)
            service.breaker_open_until = to_dt(state.open_until) if state.state != bk.CLOSED \
                else False
            service.breaker_last_error = state.last_error or False
            service.breaker_consecutive_failures = state.consecutive_failures

    def _compute_health_stats(self):
        stats = self.env["ipai.gateway.health.log"]._stats(self.ids)
        for service in self:
            values = stats.get(service.id, {})
            service.availability_24h = values.get("availability_24h", 0.0)
            service.availability_7d = values.get("availability_7d", 0.0)
            service.latency_p50_24h = values.get("p50_24h", 0.0)
            service.latency_p95_24h = values.get("p95_24h", 0.0)
            service.latency_p50_7d = values.get("p50_7d", 0.0)
            service.latency_p95_7d = values.get("p95_7d", 0.0)
            service.last_health_at = values.get("last_at", False)
            service.last_health_status = values.get("last_status", False)

    def _compute_health_chart(self):
        Log = self.env["ipai.gateway.health.log"]
        for service in self:
            logs = Log.search([("service_id", "=", service.id or 0)], limit=48)[::-1]
            service.health_chart = Log._svg_chart(logs) if logs else False

    def copy_data(self, default=None):
        vals_list = super().copy_data(default=default)
        if not (default or {}).get("code"):
            for service, vals in zip(self, vals_list, strict=True):
                vals["code"] = f"{service.code}_copy"
                vals["name"] = self.env._("%s (copy)", service.name)
        return vals_list

    # -- CRUD ----------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            vals["allowed_hosts"] = self._normalize_hosts(vals.get("allowed_hosts"),
                                                          vals.get("base_url"))
        services = super().create(vals_list)
        for service in services:
            service._ensure_channel()
        self.env.registry.clear_cache()
        return services

    def write(self, vals):
        if "base_url" in vals or "allowed_hosts" in vals:
            # Per record: a new base URL replaces only a default list, never custom hosts.
            for service in self:
                hosts = vals.get("allowed_hosts", service.allowed_hosts)
                if "base_url" in vals and "allowed_hosts" not in vals and (
                    not hosts or hosts == self._default_hosts(service.base_url)
                ):
                    hosts = False
                super(IpaiGatewayService, service).write(dict(
                    vals, allowed_hosts=self._normalize_hosts(
                        hosts, vals.get("base_url", service.base_url))))
            res = True
        else:
            res = super().write(vals)
        if "code" in vals:
            for service in self:
                service._ensure_channel()
        self.env.registry.clear_cache()
        return res

    def unlink(self):
        ids = self.ids
        res = super().unlink()
        for service_id in ids:
            self.env["ipai.gateway.breaker"]._forget(service_id)
        self.env.cr.execute("DELETE FROM ipai_gateway_breaker WHERE service_id = ANY(%s)", [ids])
        self.env.registry.clear_cache()
        return res

    @api.model
    def _default_hosts(self, base_url):
        """The base URL's own origin, ``scheme://host:port``."""
        try:
            return client.format_origin(client.origin(base_url)) if base_url else False
        except ValueError:
            return False  # _check_urls explains what is wrong with the base URL

    @api.model
    def _normalize_hosts(self, hosts, base_url):
        """Each entry as ``scheme://host:port``; the default when empty."""
        if not (hosts or "").strip():
            return self._default_hosts(base_url)
        scheme = (urlsplit(base_url or "").scheme or "https").lower()
        entries = []
        for entry in filter(None, (h.strip() for h in hosts.split(","))):
            try:
                normalized = client.normalize_origin(entry, scheme)
            except ValueError:
                raise ValidationError(self.env._(
                    "Allowed host %(entry)s is not scheme://host:port.", entry=entry)) from None
            if scheme == "https" and normalized.startswith("http://"):
                raise ValidationError(self.env._(
                    "Allowed host %(entry)s is plain http: an https service never sends its "
                    "credentials in clear text.", entry=entry))
            if normalized not in entries:
                entries.append(normalized)
        return ",".join(entries)

    def _ensure_channel(self):
        """One queue_job channel per service, so a slow service cannot starve others."""
        self.ensure_one()
        Channel = self.env["queue.job.channel"].sudo()  # sudo: channels are technical config
        parent = self.env.ref("ipai_microservices_gateway.queue_job_channel_gateway")
        name = self.code.lower().replace(".", "_")
        channel = Channel.search([("name", "=", name), ("parent_id", "=", parent.id)], limit=1)
        if not channel:
            channel = Channel.create({"name": name, "parent_id": parent.id})
        self.sudo().channel_id = channel

    # -- configuration used by calls (cached) --------------------------------

    @api.model
    @tools.ormcache("code", "tuple(self.env.companies.ids)")
    def _get_config(self, code):
        # sudo: callers may not read the service record itself (company and
        # group checks are done here and in ipai.gateway).
        service = self.sudo().search(
            [("code", "=", code), ("active", "=", True),
             ("company_id", "in", [False, *self.env.companies.ids])],
            order="company_id desc",
            limit=1,
        )
        return service._make_config() if service else None

    def _make_config(self):
        self.ensure_one()
        hosts = tuple(h.strip().lower() for h in (self.allowed_hosts or "").split(",")
                      if h.strip())
        return ServiceConfig(
            id=self.id,
            code=self.code,
            name=self.name,
            base_url=self.base_url,
            allowed_hosts=hosts,
            auth_type=self.auth_type,
            api_key_header=self.api_key_header or "X-API-Key",
            username=self.username or "",
            client_id=self.client_id or "",
            token_url=self.token_url or "",
            oauth_scope=self.oauth_scope or "",
            timeout=(self.connect_timeout, self.read_timeout),
            retry=RetryPolicy(
                max_attempts=self.retry_max_attempts,
                backoff_initial=self.retry_backoff_initial,
                backoff_max=self.retry_backoff_max,
                total_budget=self.retry_total_budget,
            ),
            breaker=bk.BreakerPolicy(
                failure_threshold=self.breaker_failure_threshold,
                failure_rate_threshold=self.breaker_failure_rate,
                slow_call_rate_threshold=self.breaker_slow_call_rate,
                slow_call_ms=self.breaker_slow_call_ms,
                window_seconds=self.breaker_window_seconds,
                minimum_calls=self.breaker_minimum_calls,
                open_seconds=self.breaker_open_seconds,
            ),
            channel=self.channel_id.complete_name or "root.ipai.gateway",
            concurrency=self.concurrency or 1,
            max_bytes=int((self.response_max_mb or 10.0) * 1024 * 1024),
            rate=ratelimit.RatePolicy(self.rate_limit_requests, self.rate_limit_window)
            if self.rate_limit_requests > 0 else None,
            kind=self.kind,
            prices=tuple((p.model, p.prompt_price, p.completion_price)
                         for p in self.llm_price_ids),
            health_path=self.health_path or "",
            health_degraded_ms=self.health_degraded_ms or 1000,
            # sudo: ciphertexts ride in the cached config so a call needs no query.
            ciphertexts=tuple(
                (s.name, s.ciphertext)
                for s in self.env["ipai.gateway.secret"].sudo().search(
                    [("service_id", "=", self.id)]
                )
            ),
        )

    # -- alerts --------------------------------------------------------------

    def _alert(self, kind, message):
        """One chatter note per episode, and on ``*_open`` kinds an activity for each
        Gateway Manager; a ``*_closed`` kind marks those activities done."""
        self.ensure_one()
        self.message_post(body=message, subtype_xmlid="mail.mt_note")
        if kind.endswith("_open"):
            managers = self.env.ref(MANAGER).sudo().all_user_ids.filtered(
                lambda user: user.active and not user.share)
            for user in managers:
                self.activity_schedule("mail.mail_activity_data_warning", user_id=user.id,
                                       summary=message[:80], note=message)
        else:
            # The recovery note says it all: no "done" message per manager.
            self.activity_unlink(["mail.mail_activity_data_warning"])

    def _check_availability(self):
        """After a health check: below its target over the last hour, tell the
        managers once; back at or above it, note the recovery."""
        for service in self:
            availability = self.env["ipai.gateway.health.log"]._availability_last_hour(
                service.id)
            if availability is None:
                continue
            low = availability < service.availability_target
            if low == service.alert_availability_low:
                continue
            service.alert_availability_low = low
            if low:
                service._alert("availability_open", self.env._(
                    "Availability of %(service)s over the last hour is %(value)s %%, below "
                    "its target of %(target)s %%.", service=service.name,
                    value=round(availability, 1), target=service.availability_target))
            else:
                service._alert("availability_closed", self.env._(
                    "Availability of %(service)s is back to %(value)s %% over the last hour.",
                    service=service.name, value=round(availability, 1)))

    # -- actions -------------------------------------------------------------

    def action_test_connection(self):
        """Probe the health path now and show the result (managers).

        A probe may close an open breaker, and it runs on inactive services too: only
        users who may change the service may do it, checked before anything is sent.
        """
        self.ensure_one()
        self.check_access("write")
        result = self.env["ipai.gateway"]._probe(self, log=True)
        self.write({"last_test_at": fields.Datetime.now(), "last_test_result": result["message"]})
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Test connection: %(service)s", service=self.name),
                "message": result["message"],
                "type": "success" if result["status"] == "up" else (
                    "warning" if result["status"] == "degraded" else "danger"),
                "sticky": False,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def action_reset_breaker(self):
        """Close the breaker by hand (managers)."""
        self.check_access("write")
        for service in self:
            self.env["ipai.gateway.breaker"]._reset(service.id)
        self.invalidate_recordset(["breaker_state", "breaker_since", "breaker_open_until"])
        return True

    @api.model
    def action_reencrypt_secrets(self):
        """Re-encrypt every stored secret with the current first vault key (managers)."""
        if not self.env.user.has_group(MANAGER):
            raise AccessError(self.env._("Only Gateway Managers may re-encrypt secrets."))
        count = self.env["ipai.gateway.secret"]._rotate_all()
        self.env.registry.clear_cache()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Secrets re-encrypted"),
                "message": self.env._(
                    "%(count)s secret(s) re-encrypted with the current first vault key.",
                    count=count,
                ),
                "type": "success",
                "sticky": True,
            },
        }

    def action_view_health_logs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "ipai_microservices_gateway.ipai_gateway_health_log_action"
        )
        action["domain"] = [("service_id", "=", self.id)]
        action["context"] = {"default_service_id": self.id}
        return action

    def action_view_call_logs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "ipai_microservices_gateway.ipai_gateway_call_log_action"
        )
        action["domain"] = [("service_id", "=", self.id)]
        return action

    # -- posture, read by the assessment module's automated checks ------------

    @api.model
    def _get_posture(self):
        Secret = self.env["ipai.gateway.secret"].sudo()  # sudo: existence and format only
        posture = []
        for service in self.sudo().search([("active", "=", True)]):
            needed = AUTH_SECRETS.get(service.auth_type, ())
            secrets = Secret.search([("service_id", "=", service.id)])
            posture.append({
                "code": service.code,
                "name": service.name,
                "auth_type": service.auth_type,
                "secret_required": bool(needed),
                "secret_set": service.has_secret,
                "secret_encrypted": all(s.ciphertext.startswith("gAAAAA") for s in secrets),
                "timeouts_ok": 0 < service.connect_timeout <= 60
                and 0 < service.read_timeout <= 600,
                "breaker_policy_ok": service.breaker_failure_threshold >= 1
                and service.breaker_open_seconds > 0,
                "last_health_at": service.last_health_at,
                "availability_24h": service.availability_24h,
                "availability_target": service.availability_target,
            })
        return posture
