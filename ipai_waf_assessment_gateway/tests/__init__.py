from . import test_gateway_checks
