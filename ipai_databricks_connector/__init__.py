from . import models, wizard


def uninstall_hook(env):
    """Drop what the views generated (models, tables, menus, actions, rules), as OCA's
    bi_sql_editor does: Odoo would leave the x_dbx_* models behind, owned by nobody."""
    views = env["ipai.databricks.view"].with_context(active_test=False).search([])
    views._unlink_models()
