from . import test_databricks_tour
