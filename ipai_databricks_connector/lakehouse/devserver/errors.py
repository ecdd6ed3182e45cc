"""Errors as the Databricks REST API answers them, and SQL failures in its terms."""

import duckdb

from .. import dialect

DEFAULT_CODES = {400: "INVALID_PARAMETER_VALUE", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                 404: "RESOURCE_DOES_NOT_EXIST", 409: "RESOURCE_CONFLICT",
                 429: "REQUEST_LIMIT_EXCEEDED", 500: "INTERNAL_ERROR",
                 503: "TEMPORARILY_UNAVAILABLE"}
# duckdb exception -> (Databricks error class, SQLSTATE)
SQL_ERRORS = [(duckdb.ParserException, "PARSE_SYNTAX_ERROR", "42601"),
              (duckdb.CatalogException, "TABLE_OR_VIEW_NOT_FOUND", "42P01"),
              (duckdb.BinderException, "UNRESOLVED_COLUMN", "42703"),
              (duckdb.ConversionException, "CAST_INVALID_INPUT", "22018"),
              (duckdb.OutOfRangeException, "ARITHMETIC_OVERFLOW", "22003"),
              (duckdb.Error, "INVALID_QUERY", "42000")]


class InlineLimit(Exception):
    def __init__(self, limit):
        super().__init__(
            "Inline byte limit exceeded. Statements executed with disposition=INLINE can "
            "have a result size of at most %d bytes. Please use disposition=EXTERNAL_LINKS "
            "to fetch larger result sets. SQLSTATE: 54000" % limit)


class ApiError(Exception):
    def __init__(self, status, message, error_code=None, retry_after=None):
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after
        self.error_code = error_code or DEFAULT_CODES.get(status, "INTERNAL_ERROR")


def sql_failure(exc):
    """A backend exception -> (error object, SQLSTATE) of a FAILED statement."""
    if isinstance(exc, dialect.LocalSQLError):  # already in Databricks' terms
        return {"error_code": exc.error_code, "message": exc.message}, exc.sql_state
    klass, state = next(((k, s) for kind, k, s in SQL_ERRORS if isinstance(exc, kind)),
                        ("INTERNAL_ERROR", "XX000"))
    text = str(exc).strip().replace("\n\n", "\n")
    if "not provided for the following parameters" in text:
        klass, state = "UNBOUND_SQL_PARAMETER", "42P02"
    elif isinstance(exc, duckdb.CatalogException) and "Function with name" in text:
        klass, state = "UNRESOLVED_ROUTINE", "42883"
    code = "BAD_REQUEST" if state[:2] in ("42", "22") else "INTERNAL_ERROR"
    return {"error_code": code, "message": "[%s] %s SQLSTATE: %s" % (klass, text, state)}, state
