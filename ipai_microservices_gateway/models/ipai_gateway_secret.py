import functools
import logging

from odoo import api, fields, models
from odoo.tools import config

from ..exceptions import GatewaySecretMissing
from ..resilience import vault as vault_lib

_logger = logging.getLogger(__name__)

@functools.lru_cache(maxsize=8)
def _vault_for(keys):
    # Keys are re-read from their source on every use; only the parsed Fernet
    # objects are kept, so a key change takes effect at once.
    return vault_lib.Vault(list(keys))


SECRET_NAMES = [
    ("token", "Bearer token"),
    ("api_key", "API key"),
    ("password", "Password"),
    ("client_secret", "OAuth2 client secret"),
]


class IpaiGatewaySecret(models.Model):
    """Encrypted credentials. No group may read this model: only the gateway's
    own code, under sudo, decrypts a secret at the moment of a call."""

    _name = "ipai.gateway.secret"
    _description = "Gateway encrypted secret"

    service_id = fields.Many2one("ipai.gateway.service", required=True, ondelete="cascade",
                                 index=True)
    name = fields.Selection(SECRET_NAMES, required=True)
    ciphertext = fields.Text(required=True, copy=False)

    _service_name_unique = models.Constraint(
        "unique(service_id, name)", "A service holds each kind of secret once."
    )

    @api.model
    def _vault(self):
        """The vault built from keys outside the database, or a clear error."""
        try:
            keys, _source = vault_lib.load_keys(config)
            return _vault_for(tuple(keys))
        except vault_lib.VaultKeyMissing as exc:
            raise GatewaySecretMissing(
                self.env._(
                    "No credential-vault key is configured (%(detail)s). Set the environment "
                    "variable IPAI_VAULT_KEYS, or keys / keys_file in the [ipai_vault] section "
                    "of the Odoo configuration file, to one or more Fernet keys, then "
                    "restart Odoo.",
                    detail=str(exc),
                )
            ) from exc
        except vault_lib.VaultKeyInvalid as exc:
            raise GatewaySecretMissing(
                self.env._(
                    "A configured credential-vault key is invalid: each key must be 32 "
                    "url-safe base64-encoded bytes, as Fernet.generate_key() prints."
                )
            ) from exc

    @api.model
    def _set(self, service, name, value):
        """Encrypt and store ``value`` (an empty value deletes the secret)."""
        existing = self.sudo().search([("service_id", "=", service.id), ("name", "=", name)])
        if not value:
            existing.unlink()
            return
        ciphertext = self._vault().encrypt(value)
        # sudo: nobody has access rights on secrets; the caller's right to
        # change the service was checked on the service's own write.
        if existing:
            existing.write({"ciphertext": ciphertext})
        else:
            self.sudo().create({"service_id": service.id, "name": name, "ciphertext": ciphertext})

    @api.model
    def _reveal(self, service, name, ciphertext=None):
        """The plaintext, or None when the secret is not set."""
        if ciphertext is None:
            secret = self.sudo().search([("service_id", "=", service.id), ("name", "=", name)])
            if not secret:
                return None
            ciphertext = secret.ciphertext
        try:
            return self._vault().decrypt(ciphertext)
        except vault_lib.VaultDecryptError as exc:
            raise self._undecryptable(name, service.code) from exc

    @api.model
    def _undecryptable(self, name, service_code):
        return GatewaySecretMissing(
            self.env._(
                "The secret '%(name)s' of service %(service)s cannot be decrypted with the "
                "configured vault keys. Add the key it was encrypted with (after the current "
                "one) to the vault keys, or set the secret again.",
                name=name, service=service_code,
            )
        )

    @api.model
    def _rotate_all(self):
        """Re-encrypt every secret with the first key; returns how many changed."""
        vault = self._vault()
        count = 0
        # Rotation must reach every secret, whatever its service or company.
        for secret in self.sudo().search([]):  # pylint: disable=no-search-all
            if vault.is_current(secret.ciphertext):
                continue
            try:
                secret.ciphertext = vault.rotate(secret.ciphertext)
            except vault_lib.VaultDecryptError as exc:
                # The caller's transaction rolls back: nothing is re-encrypted.
                raise self._undecryptable(secret.name, secret.service_id.code) from exc
            count += 1
        return count
