from . import (
    test_dashboard_tour,
    test_gateway_checks,
)
