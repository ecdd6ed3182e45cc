from . import (
    ipai_waf_assessment,
    ipai_waf_check_registry,
)
