from . import (
    ipai_waf_assessment,
    ipai_waf_recommendation,
    project_milestone,
    project_project,
    project_task,
)
