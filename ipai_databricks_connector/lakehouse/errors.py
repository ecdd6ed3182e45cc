"""Databricks errors and the retry decision. Plain Python (no Odoo import).

Retry table (``is_retryable``): retry only what a later identical request can fix.

=====================  ==========================================================  =========
source                 values                                                      retryable
=====================  ==========================================================  =========
HTTP status            429, 502, 503, 504                                          yes
error_code             TEMPORARILY_UNAVAILABLE, REQUEST_LIMIT_EXCEEDED,            yes
                       RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, ABORTED, UNAVAILABLE,
                       SERVICE_UNDER_MAINTENANCE, WORKSPACE_TEMPORARILY_UNAVAILABLE
SQLSTATE class         08 (connection), 40 (transaction rollback),                 yes
                       53 (insufficient resources), 57 (operator intervention)
anything else          42xxx, 22xxx, BAD_REQUEST, INVALID_PARAMETER_VALUE,         no
                       PERMISSION_DENIED, UNAUTHENTICATED, NOT_FOUND, 4xx, 500 ...
=====================  ==========================================================  =========
"""

import re

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
RETRYABLE_CODES = frozenset({
    "TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED", "RESOURCE_EXHAUSTED",
    "DEADLINE_EXCEEDED", "ABORTED", "UNAVAILABLE", "SERVICE_UNDER_MAINTENANCE",
    "WORKSPACE_TEMPORARILY_UNAVAILABLE",
})
RETRYABLE_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57"})

_SQLSTATE = re.compile(r"SQLSTATE:\s*([0-9A-Z]{5})\b")


class DatabricksError(Exception):
    def __init__(self, message, error_code=None, sql_state=None, status=None, retryable=False,
                 retry_after=None):
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        self.sql_state = sql_state
        self.status = status
        self.retryable = bool(retryable)
        self.retry_after = retry_after  # seconds, from a Retry-After header

    def __str__(self):
        tags = [t for t in (self.status and "HTTP %s" % self.status, self.error_code,
                            self.sql_state and "SQLSTATE %s" % self.sql_state) if t]
        return "%s (%s)" % (self.message, ", ".join(tags)) if tags else str(self.message)


class DatabricksHTTPError(DatabricksError):
    """A non-2xx answer from the workspace REST API."""


class StatementFailed(DatabricksError):
    """The statement ended FAILED."""


class StatementCanceled(DatabricksError):
    """The statement ended CANCELED or CLOSED."""


class LinkExpired(DatabricksError):
    """A presigned EXTERNAL_LINKS URL is past its expiration (403/404/410)."""


def parse_sql_state(message):
    """Return the SQLSTATE Databricks embeds in error messages ("... SQLSTATE: 42703"), or None."""
    match = _SQLSTATE.search(message or "")
    return match.group(1) if match else None


def is_retryable(error_code=None, sql_state=None, status=None):
    """True when the same request may succeed later (see the module table)."""
    if status is not None and int(status) in RETRYABLE_STATUS:
        return True
    if error_code and error_code.upper() in RETRYABLE_CODES:
        return True
    return bool(sql_state) and sql_state[:2] in RETRYABLE_SQLSTATE_CLASSES
