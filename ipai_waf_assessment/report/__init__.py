from . import ipai_waf_assessment_report
