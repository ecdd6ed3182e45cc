"""Request bodies and answers: what a call sends and what it returns."""

import base64
import json as jsonlib
from urllib.parse import urlsplit

import requests

from odoo import api, models

from ..exceptions import GatewayError
from ..resilience.redact import is_sensitive_name, redact_headers, redact_url

TEXT_TYPES = ("text/", "xml", "javascript", "x-www-form-urlencoded", "csv", "yaml")


def _textual(content_type, content):
    """Is an answer of this type text? Without a type: when it is valid UTF-8."""
    content_type = content_type.lower()
    if content_type:
        return any(t in content_type for t in TEXT_TYPES)
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _file_part(name, value):
    """One multipart part as requests takes it: ``(filename, bytes, content type)``."""
    if isinstance(value, dict):
        raw = value.get("content")
        if raw is None:
            raw = base64.b64decode(value.get("content_b64") or "", validate=True)
        elif isinstance(raw, str):
            raw = raw.encode()
        return (value.get("filename") or name, raw,
                value.get("content_type") or "application/octet-stream")
    if isinstance(value, (bytes, str)):
        return (name, value)
    return tuple(value)




class IpaiGatewayMessage(models.AbstractModel):
    _name = "ipai.gateway.message"
    _description = "Gateway request bodies and answers"

    @api.model
    def _log_path(self, url, params=None):
        if params:
            url = requests.Request("GET", url, params=params).prepare().url
        try:
            parts = urlsplit(url)
            if parts.query:
                parts = urlsplit(redact_url(url))
        except ValueError:  # malformed: the host check refuses it
            return "(malformed URL)"
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def _result(self, response):
        content_type = response.headers.get("Content-Type", "")
        result = {
            "status": response.status,
            "headers": redact_headers(response.headers),
            "elapsed_ms": round(response.elapsed_ms, 3),
            "attempts": response.attempts,
            "correlation_id": response.correlation_id,
        }
        if "json" in content_type:
            text = response.content.decode("utf-8", errors="replace")
            try:
                result["json"] = jsonlib.loads(text) if text else None
            except ValueError:
                # Malformed JSON is returned as text, never guessed at.
                result["text"] = text
                result["json_error"] = True
            return result
        # Anything else keeps its exact bytes; textual answers are also decoded.
        result["content"] = response.content
        if _textual(content_type, response.content):
            result["text"] = response.content.decode("utf-8", errors="replace")
        return result

    @api.model
    def _body(self, config, json=None, data=None, files=None, content=None, content_b64=None):
        """The request body as ``client.send`` takes it, plus the values to redact.

        One of: ``json``; ``data`` (form fields, or a string) with optional
        ``files`` (multipart); ``content`` (bytes) or ``content_b64`` (its base64,
        for JSON-RPC). ``files`` maps a field name to bytes, to a requests-style
        tuple ``(filename, bytes[, content type])``, or to a dict ``{filename,
        content_b64 | content, content_type}``.
        """
        raw = content
        if content_b64 is not None:
            if content is not None:
                raise self._bad_body(config, "content and content_b64")
            try:
                raw = base64.b64decode(content_b64, validate=True)
            except (ValueError, TypeError):
                raise GatewayError(self.env._(
                    "content_b64 is not valid base64: nothing was sent."),
                    service_code=config.code) from None
        given = [name for name, value in (("json", json), ("data", data), ("files", files),
                                          ("content", raw)) if value is not None]
        if "json" in given and len(given) > 1:
            raise self._bad_body(config, " and ".join(given))
        if raw is not None:
            if len(given) > 1:
                raise self._bad_body(config, " and ".join(given))
            return {"data": bytes(raw)}
        body = {"json": json} if json is not None else {}
        if data is not None:
            body["data"] = data
        if files:
            body["files"] = [(name, _file_part(name, value)) for name, value in files.items()]
        if isinstance(data, dict):
            body["redact"] = tuple(str(v) for k, v in data.items()
                                   if is_sensitive_name(k) and v)
        return body

    def _bad_body(self, config, names):
        return GatewayError(self.env._(
            "A call has one body: json, form data (with files), or raw content; "
            "%(names)s were given. Nothing was sent.", names=names), service_code=config.code)

    def _llm_usage(self, config, result):
        """Tokens, model and cost from an OpenAI-compatible answer (``usage`` and
        ``model``), for the call log; nothing when the answer has no usage."""
        body = result.get("json")
        usage = body.get("usage") if isinstance(body, dict) else None
        if not isinstance(usage, dict):
            return {}

        def count(name):
            value = usage.get(name)
            return value if isinstance(value, int) and value >= 0 else 0

        prompt, completion = count("prompt_tokens"), count("completion_tokens")
        model = str(body.get("model") or "")[:100]
        return {
            "llm_model": model or None, "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": count("total_tokens") or prompt + completion,
            "cost": self.env["ipai.gateway.llm.price"]._cost(config.prices, model, prompt,
                                                             completion),
        }

    def _status_hint(self, status):
        if status in (401, 403):
            return " " + self.env._("Check the service's credentials.")
        if status == 429:
            return " " + self.env._("The service is rate-limiting: try again later.")
        if status == 404:
            return " " + self.env._("Check the path and the service's base URL.")
        return ""
