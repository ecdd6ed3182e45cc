"""Generated models made before 19.0.1.1.0 had no company rule: give each one its rule."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    views = env["ipai.databricks.view"].with_context(active_test=False).search(
        [("model_id", "!=", False)])
    views._sync_security()
