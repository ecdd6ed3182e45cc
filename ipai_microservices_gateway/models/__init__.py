from . import (
    ipai_gateway,
    ipai_gateway_breaker,
    ipai_gateway_call_log,
    ipai_gateway_health_log,
    ipai_gateway_secret,
    ipai_gateway_service,
)
