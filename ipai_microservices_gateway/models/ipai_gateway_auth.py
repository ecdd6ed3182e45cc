"""How a call authenticates: one method per auth type, dispatched by name."""

import base64
import json as jsonlib
import threading
import time

from odoo import models

from ..exceptions import (
    GatewayAuthUnsupported,
    GatewayHostRefused,
    GatewaySecretMissing,
    GatewayUnavailable,
)
from ..resilience import client
from ..resilience.policy import RetryPolicy
from .ipai_gateway_request import _session
from .ipai_gateway_service_credentials import AUTH_SECRETS

_oauth_tokens = {}  # (db, service id, hash of the client secret) -> (access token, expires at)
_oauth_lock = threading.Lock()
# (db, service id, secret name, ciphertext) -> (cached at, decrypted secret)
_auth_cache = {}
AUTH_CACHE_SECONDS = 300.0  # how long a decrypted credential stays in a process's memory


class IpaiGatewayAuth(models.AbstractModel):
    """Each auth type ``<type>`` of ``ipai.gateway.service.auth_type`` is one method,
    ``_get_auth_headers_<type>(config, secret)``, as in OCA ``webservice``. It gets
    the decrypted secret the type needs (its ``AUTH_SECRETS`` entry; None for a type
    that needs none) and returns ``(headers, values to redact)``. A module adds an
    auth type with ``selection_add`` and that method."""

    _name = "ipai.gateway.auth"
    _description = "Gateway authentication"

    def _auth_headers(self, config):
        """Headers for the service's auth type, and the secret values (to redact).

        :raises GatewayAuthUnsupported: no method implements the service's auth type
        :raises GatewaySecretMissing: the secret the type needs is not set
        """
        handler = getattr(self, f"_get_auth_headers_{config.auth_type}", None)
        if handler is None:
            raise GatewayAuthUnsupported(
                self.env._(
                    "Service %(service)s uses the authentication type %(auth_type)s, which "
                    "no installed module implements: the call was not sent. A Gateway "
                    "Manager can choose another type on the service form.",
                    service=config.code, auth_type=config.auth_type,
                ),
                service_code=config.code,
            )
        needed = AUTH_SECRETS.get(config.auth_type, ())
        secret = self._auth_secret(config, needed[0]) if needed else None
        return handler(config, secret)

    def _auth_secret(self, config, name):
        """The decrypted secret ``name`` of the service, kept in this process for
        ``AUTH_CACHE_SECONDS`` per ciphertext: a new secret is a new ciphertext, so
        it applies at once."""
        ciphertext = dict(config.ciphertexts).get(name)
        key = (self.env.cr.dbname, config.id, name, ciphertext)
        now = time.monotonic()
        cached = _auth_cache.get(key)
        if ciphertext and cached and now - cached[0] < AUTH_CACHE_SECONDS:
            return cached[1]
        service = self.env["ipai.gateway.service"].sudo().browse(config.id)
        # sudo: the caller was allowed to call the service; decrypting its secret
        # for this request is the gateway's job, not the caller's.
        secret = ciphertext and self.env["ipai.gateway.secret"].sudo()._reveal(
            service, name, ciphertext
        )
        if not secret:
            raise GatewaySecretMissing(
                self.env._(
                    "Service %(service)s needs a %(secret)s and none is set: the call was not "
                    "sent. A Gateway Manager can set it on the service form.",
                    service=config.code, secret=name.replace("_", " "),
                ),
                service_code=config.code,
            )
        if len(_auth_cache) > 256:
            _auth_cache.clear()
        _auth_cache[key] = (now, secret)
        return secret

    # -- one method per auth type ------------------------------------------

    def _get_auth_headers_none(self, config, secret):
        return {}, ()

    def _get_auth_headers_bearer(self, config, secret):
        return {"Authorization": f"Bearer {secret}"}, (secret,)

    def _get_auth_headers_api_key(self, config, secret):
        return {config.api_key_header: secret}, (secret,)

    def _get_auth_headers_basic(self, config, secret):
        raw = base64.b64encode(f"{config.username}:{secret}".encode()).decode()
        return {"Authorization": f"Basic {raw}"}, (secret, raw)

    def _get_auth_headers_oauth2(self, config, secret):
        token = self._oauth_token(config, secret)
        return {"Authorization": f"Bearer {token}"}, (secret, token)

    def _oauth_token(self, config, client_secret):
        """OAuth2 client credentials (RFC 6749 §4.4), cached until shortly before expiry."""
        key = (self.env.cr.dbname, config.id, hash(client_secret))
        with _oauth_lock:
            cached = _oauth_tokens.get(key)
        if cached and cached[1] > time.time() + 30:
            return cached[0]
        try:
            response = client.send(
                _session(), "POST", config.token_url, allowed_hosts=config.allowed_hosts,
                base_url=config.base_url, timeout=config.timeout,
                policy=RetryPolicy(max_attempts=2, backoff_initial=0.2),
                data={"grant_type": "client_credentials", "scope": config.oauth_scope or None},
                headers={"Authorization": "Basic " + base64.b64encode(
                    f"{config.client_id}:{client_secret}".encode()).decode()},
                idempotency_key="oauth-token",
            )
        except client.HostRefused as exc:
            raise GatewayHostRefused(
                self.env._("The OAuth2 token URL host %(host)s is not allowed for service "
                           "%(service)s.", host=exc.host, service=config.code),
                host=exc.host, service_code=config.code,
            ) from None
        except client.TransportError:
            raise GatewayUnavailable(
                self.env._("The OAuth2 token endpoint of service %(service)s is unreachable.",
                           service=config.code),
                service_code=config.code,
            ) from None
        try:
            body = jsonlib.loads(response.content)
            token = body["access_token"]
        except (ValueError, KeyError, TypeError):
            raise GatewaySecretMissing(
                self.env._("The OAuth2 token endpoint of service %(service)s answered HTTP "
                           "%(status)s without an access token: check the client id and secret.",
                           service=config.code, status=response.status),
                service_code=config.code,
            ) from None
        expires = time.time() + float(body.get("expires_in") or 3600)
        with _oauth_lock:
            _oauth_tokens[key] = (token, expires)
        return token
