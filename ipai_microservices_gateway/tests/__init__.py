from . import (
    test_gateway_breaker,
    test_gateway_call,
    test_gateway_security,
    test_gateway_tour,
    test_resilience,
)
