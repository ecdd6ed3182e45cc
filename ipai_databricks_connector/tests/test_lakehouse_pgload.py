"""Index definitions moved to the staging table or made idempotent (lakehouse/pgload.py)."""

from odoo.tests import BaseCase

from ..lakehouse import pgload


class TestIndexDefinitions(BaseCase):
    def test_the_same_index_under_another_name_on_another_table(self):
        live = ("CREATE INDEX x_dbx_sales__x_region_index ON public.x_dbx_sales "
                "USING btree (x_region)")
        self.assertEqual(pgload.index_on(live, '"ipai_stg7_0"', '"x_dbx_sales__stg7"'),
                         'CREATE INDEX "ipai_stg7_0" ON "x_dbx_sales__stg7" USING btree (x_region)')
        unique = ("CREATE UNIQUE INDEX u ON ONLY public.t USING btree (lower((x_name)::text)) "
                  "WHERE (x_active IS TRUE)")
        self.assertEqual(pgload.index_body(unique),
                         (True, "USING btree (lower((x_name)::text)) WHERE (x_active IS TRUE)"))
        # Two definitions of one thing on two tables compare equal whatever their names.
        self.assertEqual(pgload.index_body(live), pgload.index_body(
            'CREATE INDEX "ipai_stg7_0" ON public."x_dbx_sales__stg7" USING btree (x_region)'))

    def test_a_definition_in_another_form_is_left_alone(self):
        self.assertIsNone(pgload.index_body('CREATE INDEX "a b" ON public.t USING btree (x)'))
        self.assertIsNone(pgload.index_on("ALTER TABLE t ADD x int", '"n"', '"t"'))
        self.assertIsNone(pgload.index_body(None))

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
