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
