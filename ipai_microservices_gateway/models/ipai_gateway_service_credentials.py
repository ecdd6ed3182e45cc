# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""The credentials of a service: its authentication and its write-only secrets."""


from odoo import api, fields, models
from odoo.exceptions import AccessError

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


class IpaiGatewayServiceCredentials(models.AbstractModel):
    """Authentication of ``ipai.gateway.service``, which inherits it: the auth type,
    its plain settings, and secrets that are written, never read back."""

    _name = "ipai.gateway.service.credentials"
    _description = "External service: credentials"

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
