from . import (
    ipai_waf_compare_wizard,
    ipai_waf_compare_wizard_line,
    ipai_waf_compare_wizard_pillar,
    ipai_waf_import_wizard,
    ipai_waf_import_wizard_line,
)
