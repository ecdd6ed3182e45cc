from . import ipai_waf_frozen_guard  # noqa: I001 - first: the models below inherit it
from . import (
    ipai_waf_framework,
    ipai_waf_pillar,
    ipai_waf_control,
    ipai_waf_grade_band,
    ipai_waf_owner_activity_mixin,
    ipai_waf_assessment_scoring,
    ipai_waf_assessment_import,
    ipai_waf_assessment_bulk,
    ipai_waf_assessment_review,
    ipai_waf_assessment,
    ipai_waf_assessment_dashboard,
    ipai_waf_finding,
    ipai_waf_pillar_score,
    ipai_waf_risk,
    ipai_waf_recommendation,
    ipai_waf_check_registry,
)
