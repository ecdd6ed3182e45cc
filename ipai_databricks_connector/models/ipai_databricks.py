"""The connector's service layer: Databricks REST calls through ``ipai.gateway``."""


import requests

from odoo import api, models
from odoo.addons.ipai_microservices_gateway.exceptions import (
    GatewayCircuitOpen,
    GatewayError,
    GatewayHTTPError,
    GatewayTimeout,
    GatewayUnavailable,
)

from ..lakehouse import errors
from ..lakehouse.statement_client import JobsClient, StatementExecutionClient

JOB_CHANNEL = "root.ipai.databricks"
LINK_TIMEOUT = (5, 120)  # seconds: connect, read of one result chunk


class IpaiDatabricks(models.AbstractModel):
    _name = "ipai.databricks"
    _description = "Databricks service layer"

    # -- transports ------------------------------------------------------------

    @api.model
    def _transport(self, workspace):
        """A Databricks REST transport (see lakehouse/statement_client.py) over the gateway,
        so every call gets the vault credentials, breaker, retry and call log."""
        service = workspace.service_id
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

        def transport(method, path, json=None, params=None):
            try:
                result = gateway.call(code, method, path, json=json, params=params)
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
    def _fetch_link(self, url, headers=None):
        """Download one EXTERNAL_LINKS chunk.

        Presigned cloud-storage URLs must be fetched WITHOUT the workspace token
        (Databricks documents this), so they bypass the gateway, which would add it.
        """
        response = requests.get(url, headers=headers or {}, timeout=LINK_TIMEOUT)
        if response.status_code in (403, 404, 410):
            raise errors.LinkExpired(
                self.env._("The result link expired (HTTP %s).", response.status_code),
                status=response.status_code,
            )
        if response.status_code >= 400:
            raise errors.DatabricksHTTPError(
                self.env._("Downloading a result chunk failed (HTTP %s).", response.status_code),
                status=response.status_code,
                retryable=errors.is_retryable(None, None, response.status_code),
            )
        return response.content

    @api.model
    def _statement_client(self, workspace, timeout=3600):
        return StatementExecutionClient(
            self._transport(workspace), self._fetch_link, workspace.warehouse_id,
            catalog=workspace.catalog or None, schema=workspace.schema_name or None,
            timeout=timeout,
        )

    @api.model
    def _jobs_client(self, workspace, timeout=6 * 3600):
        return JobsClient(self._transport(workspace), timeout=timeout)
