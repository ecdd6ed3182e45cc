from . import test_project_tasks
