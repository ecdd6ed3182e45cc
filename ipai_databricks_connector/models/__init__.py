from . import (
    ipai_databricks,
    ipai_databricks_demo,
    ipai_databricks_job,
    ipai_databricks_quality,
    ipai_databricks_view,
    ipai_databricks_workspace,
)
