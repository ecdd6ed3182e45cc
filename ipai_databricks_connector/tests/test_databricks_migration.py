"""The 19.0.1.2.0 migration: a view's JSON column mapping becomes column records."""

import importlib.util
import json
from pathlib import Path

from odoo.tests import tagged

from .common import GOLD, LakeCase, sales_table

SCRIPT = Path(__file__).parent.parent / "migrations" / "19.0.1.2.0" / "post-migrate.py"


@tagged("post_install", "-at_install")
class TestDatabricksMigration(LakeCase):
    def test_json_column_mapping_becomes_column_records(self):
        self.lake.write_table(GOLD, sales_table())
        view = self.make_view()
        fields = {c.name: c.field_name for c in view.column_ids}
        # The 19.0.1.1.0 state: JSON text on the view, no column records, a field unindexed
        # whose label an administrator had changed.
        self.cr.execute("ALTER TABLE ipai_databricks_view ADD COLUMN column_map text, "
                        "ADD COLUMN column_types text")
        self.cr.execute("UPDATE ipai_databricks_view SET column_map = %s, column_types = %s "
                        "WHERE id = %s", [json.dumps(fields), json.dumps(
                            {"sale_date": "date32[day]", "peso_total": "decimal128(15, 2)"}),
                                          view.id])
        view.column_ids.sudo().unlink()
        field = self.env["ir.model.fields"].search([("model", "=", view.model_name),
                                                    ("name", "=", "x_store_id")])
        field.write({"index": False, "field_description": "Branch"})
        spec = importlib.util.spec_from_file_location("dbx_migrate_1_2", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.migrate(self.cr, "19.0.1.1.0")
        view.invalidate_recordset()
        columns = view.column_ids.sorted("sequence")
        self.assertEqual(columns.mapped("name"), list(fields))
        self.assertEqual(view._columns(), fields)
        by_name = {c.name: c for c in columns}
        self.assertEqual(by_name["store_id"].label, "Branch", "a changed label is kept")
        self.assertEqual(by_name["peso_total"].ttype, "float")
        self.assertEqual(by_name["peso_total"].databricks_type, "decimal128(15, 2)")
        self.assertTrue(field.index)
        self.cr.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                        "'ipai_databricks_view' AND column_name IN ('column_map', "
                        "'column_types')")
        self.assertEqual(self.cr.fetchone()[0], 0, "the JSON columns are dropped")
        self.assertEqual(view._refresh_now().state, "published", "and the view refreshes")
