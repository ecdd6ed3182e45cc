import pyarrow as pa

from odoo.tests import BaseCase

from ..lakehouse import types as lt


class TestLakehouseTypes(BaseCase):
    def test_decimal_and_bigint_rules(self):
        self.assertEqual(lt.field_spec("DECIMAL(12,2)"),
                         lt.FieldSpec("float", "numeric(12,2)", (12, 2)))
        self.assertEqual(lt.field_spec("DECIMAL(38,10)").ttype, "char")
        self.assertEqual(lt.field_spec("BIGINT").ttype, "char")
        self.assertEqual(lt.field_spec("INT").ttype, "integer")
        self.assertEqual(lt.arrow_field_spec(pa.timestamp("us", tz="UTC")).ttype, "datetime")
        self.assertEqual(lt.arrow_field_spec(pa.list_(pa.int32())).ttype, "char")

    def test_copy_batches_are_csv_per_batch(self):
        table = pa.table({"id": [1, 2, 3], "name": ["a", 'b,"q"', None]})
        chunks = list(lt.arrow_to_pg_copy_batches(table.to_reader(max_chunksize=2)))
        self.assertEqual(len(chunks), 2)
        self.assertEqual(b"".join(chunks).decode(), '1,"a"\n2,"b,""q"""\n3,\n')
