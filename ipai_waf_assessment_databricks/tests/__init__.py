from . import test_databricks_checks
