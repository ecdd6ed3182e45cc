from . import (
    test_gateway_alerts,
    test_gateway_async,
    test_gateway_breaker,
    test_gateway_call,
    test_gateway_files,
    test_gateway_health,
    test_gateway_llm,
    test_gateway_metrics,
    test_gateway_ratelimit,
    test_gateway_security,
    test_gateway_tour,
    test_resilience,
)
