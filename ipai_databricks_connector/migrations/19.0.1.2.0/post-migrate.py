"""19.0.1.2.0: the column mapping is a model (ipai.databricks.view.column), not the JSON
text of ``column_map`` / ``column_types``; every generated field gets an index.

The fields of models built before keep their type (a BIGINT stays text) until the
manager presses "Rebuild model"; their columns are listed, labelled from the field.
"""

import json

from odoo import SUPERUSER_ID, api
from odoo.addons.ipai_databricks_connector.lakehouse.types import humanize


def migrate(cr, version):
    cr.execute("SELECT column_name FROM information_schema.columns "
               "WHERE table_name = 'ipai_databricks_view' AND column_name = 'column_map'")
    if not cr.fetchone():
        return
    cr.execute("SELECT id, column_map, column_types FROM ipai_databricks_view "
               "WHERE model_id IS NOT NULL AND column_map IS NOT NULL")
    rows = cr.fetchall()
    env = api.Environment(cr, SUPERUSER_ID, {})
    View = env["ipai.databricks.view"].with_context(active_test=False)
    for view_id, column_map, column_types in rows:
        view = View.browse(view_id)
        mapping = json.loads(column_map or "{}")
        types = json.loads(column_types or "{}")
        fields = {f.name: f for f in env["ir.model.fields"].search(
            [("model", "=", view.model_name), ("name", "in", list(mapping.values()))])}
        vals = []
        for seq, (column, fname) in enumerate(mapping.items()):
            field = fields.get(fname)
            vals.append({"view_id": view_id, "sequence": seq, "name": column,
                         "field_name": fname, "databricks_type": types.get(column) or False,
                         "ttype": field.ttype if field else "char",
                         "label": (field.field_description if field else "") or humanize(column),
                         "indexed": True})
            if field and not field.index:
                field.index = True
        env["ipai.databricks.view.column"].create(vals)
    cr.execute("ALTER TABLE ipai_databricks_view DROP COLUMN column_map, DROP COLUMN column_types")
