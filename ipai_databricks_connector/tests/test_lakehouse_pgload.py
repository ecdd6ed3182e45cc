"""Index definitions made idempotent (lakehouse/pgload.py)."""

from odoo.tests import BaseCase

from ..lakehouse import pgload


class TestIndexDefinitions(BaseCase):
    def test_a_definition_made_idempotent_keeps_its_name_and_table(self):
        unique = ("CREATE UNIQUE INDEX u ON ONLY public.t USING btree (lower((x_name)::text)) "
                  "WHERE (x_active IS TRUE)")
        self.assertEqual(pgload.idempotent(unique),
                         "CREATE UNIQUE INDEX IF NOT EXISTS u ON public.t USING btree "
                         "(lower((x_name)::text)) WHERE (x_active IS TRUE)")
        self.assertEqual(
            pgload.idempotent("CREATE INDEX x_dbx_sales__x_region_index ON public.x_dbx_sales "
                              "USING btree (x_region)"),
            "CREATE INDEX IF NOT EXISTS x_dbx_sales__x_region_index ON public.x_dbx_sales "
            "USING btree (x_region)")
        self.assertIsNone(pgload.idempotent("ALTER TABLE t ADD x int"))
        self.assertIsNone(pgload.idempotent('CREATE INDEX "a b" ON public.t USING btree (x)'))
        self.assertIsNone(pgload.idempotent(None))
