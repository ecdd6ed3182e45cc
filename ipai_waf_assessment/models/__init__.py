from . import ipai_waf_frozen_guard  # noqa: I001 - first: the models below inherit it
from . import ipai_waf_assessment, ipai_waf_catalog, ipai_waf_check_registry
