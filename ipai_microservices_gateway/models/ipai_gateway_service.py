from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from odoo import api, fields, models, tools
from odoo.exceptions import ValidationError

from ..resilience import breaker as bk
from ..resilience import client, ratelimit
from ..resilience.policy import RetryPolicy
from .ipai_gateway_service_credentials import AUTH_SECRETS, MANAGER, SECRET_FIELDS  # noqa: F401


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
    _inherit = [
        "mail.thread",
        "mail.activity.mixin",
        "ipai.gateway.service.credentials",
        "ipai.gateway.service.health",
    ]
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

    # -- actions -------------------------------------------------------------

    def action_reset_breaker(self):
        """Close the breaker by hand (managers)."""
        self.check_access("write")
        for service in self:
            self.env["ipai.gateway.breaker"]._reset(service.id)
        self.invalidate_recordset(["breaker_state", "breaker_since", "breaker_open_until"])
        return True

    def action_view_call_logs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "ipai_microservices_gateway.ipai_gateway_call_log_action"
        )
        action["domain"] = [("service_id", "=", self.id)]
        return action
