from . import (
    test_api_server,
    test_databricks_backend,
    test_databricks_bucket,
    test_databricks_job,
    test_databricks_tour,
    test_databricks_view,
    test_lakehouse_backend,
    test_lakehouse_types,
    test_quality_demo,
    test_statement_client,
)
