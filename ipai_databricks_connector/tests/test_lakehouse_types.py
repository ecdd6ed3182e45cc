import pyarrow as pa

from odoo.tests import BaseCase

from ..lakehouse import types as lt


class TestLakehouseTypes(BaseCase):
    def test_decimal_and_bigint_rules(self):
        self.assertEqual(lt.field_spec("DECIMAL(12,2)"),
                         lt.FieldSpec("float", "numeric(12,2)", (12, 2)))
        # Measures: summable, and exact in PostgreSQL.
        self.assertEqual(lt.field_spec("DECIMAL(38,10)")[:2], ("float", "numeric(38,10)"))
        self.assertEqual(lt.field_spec("BIGINT")[:2], ("integer", "int8"))
        # Where Odoo stops showing values exactly.
        self.assertEqual(lt.exact_limit(lt.field_spec("BIGINT")), 2 ** 53)
        self.assertEqual(lt.exact_limit(lt.field_spec("DECIMAL(38,2)")), 10 ** 13)
        self.assertIsNone(lt.exact_limit(lt.field_spec("DECIMAL(15,2)")))
        self.assertIsNone(lt.exact_limit(lt.field_spec("INT")))
        self.assertEqual(lt.field_spec("INT").ttype, "integer")
        self.assertEqual(lt.arrow_field_spec(pa.timestamp("us", tz="UTC")).ttype, "datetime")
        self.assertEqual(lt.arrow_field_spec(pa.list_(pa.int32())).ttype, "char")

    def test_labels_and_keys(self):
        self.assertEqual(lt.humanize("sale_date"), "Sale Date")
        self.assertEqual(lt.humanize("store_id"), "Store ID")
        self.assertEqual(lt.humanize("dateKey"), "Date Key")
        self.assertEqual(lt.humanize("__"), "__")
        big = lt.field_spec("BIGINT")
        self.assertTrue(lt.is_key("date_key", big))
        self.assertTrue(lt.is_key("store_id", lt.field_spec("INT")))
        self.assertFalse(lt.is_key("paid", big), "a word ending in 'id' is no key")
        self.assertFalse(lt.is_key("transactions", big))
        self.assertFalse(lt.is_key("order_id", lt.field_spec("STRING")))
        self.assertEqual(lt.type_text(pa.decimal128(38, 2)), "DECIMAL(38,2)")
        self.assertEqual(lt.type_text(pa.list_(pa.int32())), "ARRAY<INT>")

    def test_copy_batches_are_csv_per_batch(self):
        table = pa.table({"id": [1, 2, 3], "name": ["a", 'b,"q"', None]})
        chunks = list(lt.arrow_to_pg_copy_batches(table.to_reader(max_chunksize=2)))
        self.assertEqual(len(chunks), 2)
        self.assertEqual(b"".join(chunks).decode(), '1,"a"\n2,"b,""q"""\n3,\n')
