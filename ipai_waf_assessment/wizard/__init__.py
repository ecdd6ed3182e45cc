from . import ipai_waf_assessment_wizard_mixin  # noqa: I001 - first: the wizards inherit it
from . import (
    ipai_waf_compare_wizard,
    ipai_waf_compare_wizard_line,
    ipai_waf_compare_wizard_pillar,
    ipai_waf_export_wizard,
    ipai_waf_import_wizard,
    ipai_waf_import_wizard_line,
    ipai_waf_results_wizard,
    ipai_waf_review_wizard,
    ipai_waf_unfreeze_wizard,
)
