"""The connector's service layer: Databricks REST calls through ``ipai.gateway``."""

import fnmatch
import ipaddress

import requests

from odoo import api, models
from odoo.addons.ipai_microservices_gateway.exceptions import (
    GatewayCircuitOpen,
    GatewayError,
    GatewayHTTPError,
    GatewayTimeout,
    GatewayUnavailable,
)
from odoo.addons.ipai_microservices_gateway.resilience import client as http_client

from ..lakehouse import errors
from ..lakehouse.statement_client import JobsClient, StatementExecutionClient

JOB_CHANNEL = "root.ipai.databricks"
LINK_TIMEOUT = (5, 120)  # seconds: connect, read of one result chunk
# The headers Databricks documents for external links: the clouds' server-side
# encryption headers (S3 SSE-C, Azure customer-provided keys, GCS CSEK). Any other
# header the endpoint names is not sent.
LINK_HEADER_PREFIXES = ("x-amz-server-side-encryption-customer-", "x-ms-encryption-",
                        "x-goog-encryption-")


class IpaiDatabricks(models.AbstractModel):
    _name = "ipai.databricks"
    _description = "Databricks service layer"

    # -- transports ------------------------------------------------------------

    @api.model
    def _transport(self, workspace):
        """A Databricks REST transport (see lakehouse/statement_client.py) over the gateway,
        so every call gets the vault credentials, breaker, retry and call log."""
        # sudo: Databricks Users and Managers need not be Gateway Users; the workspace
        # (which they may read) names the one service its calls go through.
        service = workspace.service_id.sudo()
        if not service:
            raise errors.DatabricksError(
                self.env._("Workspace %s has no gateway service.", workspace.display_name)
            )
        # sudo: Databricks Users run views and jobs without being Gateway Users;
        # the workspace (which they may read) names the one service they may use.
        gateway = self.env["ipai.gateway"].sudo().with_context(
            allowed_company_ids=service.company_id.ids or self.env.companies.ids
        )
        code = service.code
        connect, read = service.connect_timeout, service.read_timeout

        def transport(method, path, json=None, params=None, timeout=None):
            # A statement the warehouse may hold for its wait_timeout needs a longer read
            # timeout than the service's own; never a shorter one.
            pair = (connect, max(read, timeout)) if timeout else None
            try:
                result = gateway.call(code, method, path, json=json, params=params,
                                      timeout=pair)
            except GatewayHTTPError as exc:
                body = exc.json if isinstance(exc.json, dict) else {}
                raise errors.DatabricksHTTPError(
                    body.get("message") or str(exc), error_code=body.get("error_code"),
                    status=exc.status, retry_after=exc.retry_after,
                    retryable=errors.is_retryable(body.get("error_code"), None, exc.status),
                ) from exc
            except GatewayCircuitOpen as exc:
                raise errors.DatabricksHTTPError(
                    str(exc), error_code="TEMPORARILY_UNAVAILABLE", status=503,
                    retry_after=exc.retry_in, retryable=True,
                ) from exc
            except (GatewayUnavailable, GatewayTimeout) as exc:
                raise errors.DatabricksHTTPError(
                    str(exc), error_code="TEMPORARILY_UNAVAILABLE",
                    status=getattr(exc, "status", None) or 503,
                    retry_after=getattr(exc, "retry_after", None), retryable=True,
                ) from exc
            except GatewayError as exc:
                raise errors.DatabricksHTTPError(str(exc), retryable=False) from exc
            return result.get("json") or {}

        return transport

    @api.model
    def _fetch_link(self, workspace, url, headers=None):
        """Download one EXTERNAL_LINKS chunk.

        Presigned cloud-storage URLs must be fetched WITHOUT the workspace token
        (Databricks documents this), so they bypass the gateway, which would add it.
        The endpoint names the URL, so it is held to the workspace's link policy:
        https only, its cloud-storage host patterns, no redirect, no cookie, only the
        documented headers and a byte cap. The URL is signed: no message names it.
        """
        host = self._check_link(workspace, url)
        sent = {k: v for k, v in (headers or {}).items()
                if str(k).lower().startswith(LINK_HEADER_PREFIXES)}
        cap = max(1, workspace.link_max_mb or 1) * 1024 * 1024
        try:
            with requests.Session() as session:  # a fresh session: no cookie carried over
                session.trust_env = False  # no .netrc credentials, no proxy from the env
                response = session.get(url, headers=sent, timeout=LINK_TIMEOUT,
                                       allow_redirects=False, stream=True)
                with response:
                    if response.status_code in (403, 404, 410):
                        raise errors.LinkExpired(
                            self.env._("The result link expired (HTTP %s).",
                                       response.status_code),
                            status=response.status_code)
                    if response.status_code >= 300:
                        raise errors.DatabricksHTTPError(
                            self.env._("Downloading a result chunk from %(host)s failed "
                                       "(HTTP %(status)s).", host=host,
                                       status=response.status_code),
                            status=response.status_code,
                            retryable=errors.is_retryable(None, None, response.status_code))
                    body = bytearray()
                    for part in response.iter_content(1024 * 1024):
                        body += part
                        if len(body) > cap:
                            raise errors.DatabricksHTTPError(self.env._(
                                "A result chunk from %(host)s is larger than the workspace's "
                                "cap of %(mb)s MB.", host=host, mb=workspace.link_max_mb),
                                retryable=False)
                    return bytes(body)
        except requests.RequestException as exc:
            # The exception's text holds the signed URL: only its class is kept.
            raise errors.DatabricksHTTPError(
                self.env._("Downloading a result chunk from %(host)s failed (%(error)s).",
                           host=host, error=type(exc).__name__),
                status=503, retryable=True) from None

    @api.model
    def _check_link(self, workspace, url):
        """The link's host when the workspace's link policy allows it; raise otherwise."""
        try:
            scheme, host, port = http_client.read_origin(url)
        except http_client.HostRefused:
            raise errors.DatabricksHTTPError(
                self.env._("Workspace %s received a malformed result link: not fetched.",
                           workspace.display_name), retryable=False) from None
        shown = f"{host}:{port}"
        if scheme != "https" and not (workspace.allow_http_links and _is_loopback(host)):
            raise errors.DatabricksHTTPError(self.env._(
                "Workspace %(ws)s received a plain http result link to %(host)s: only https "
                "links are fetched.", ws=workspace.display_name, host=shown), retryable=False)
        patterns = [p.strip().lower() for p in (workspace.link_hosts or "").split(",")
                    if p.strip()]
        default = port == http_client.DEFAULT_PORTS[scheme]
        if not any(fnmatch.fnmatchcase(shown, p) if ":" in p
                   else default and fnmatch.fnmatchcase(host, p) for p in patterns):
            raise errors.DatabricksHTTPError(self.env._(
                "Workspace %(ws)s received a result link to %(host)s, which is not among its "
                "result-link hosts: not fetched.", ws=workspace.display_name, host=shown),
                retryable=False)
        return shown

    @api.model
    def _statement_client(self, workspace, timeout=3600):
        return StatementExecutionClient(
            self._transport(workspace),
            lambda url, headers=None: self._fetch_link(workspace, url, headers),
            workspace.warehouse_id,
            catalog=workspace.catalog or None, schema=workspace.schema_name or None,
            timeout=timeout,
        )

    @api.model
    def _jobs_client(self, workspace, timeout=6 * 3600):
        return JobsClient(self._transport(workspace), timeout=timeout)


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
