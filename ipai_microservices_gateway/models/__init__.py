# ruff: noqa: I001 - the mixins of ipai.gateway come first: a model's parents are
# defined before it (Odoo builds a module's models in the order they are defined).
from . import (
    ipai_gateway_auth,
    ipai_gateway_health,
    ipai_gateway_message,
    ipai_gateway_request,
    ipai_gateway_service_credentials,
    ipai_gateway_service_health,
)
from . import (
    ipai_gateway,
    ipai_gateway_breaker,
    ipai_gateway_call_log,
    ipai_gateway_health_log,
    ipai_gateway_job_payload,
    ipai_gateway_llm_price,
    ipai_gateway_llm_quota,
    ipai_gateway_metrics,
    ipai_gateway_rate_bucket,
    ipai_gateway_secret,
    ipai_gateway_service,
)
