from . import (
    ipai_databricks,
    ipai_databricks_demo,
    ipai_databricks_job,
    ipai_databricks_job_run,
    ipai_databricks_quality_result,
    ipai_databricks_quality_rule,
    ipai_databricks_snapshot,
    ipai_databricks_view,
    ipai_databricks_view_column,
    ipai_databricks_view_parameter,
    ipai_databricks_workspace,
    ir_model_fields,
)
