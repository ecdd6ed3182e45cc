import importlib.util
import pathlib

import pyarrow as pa

_PATH = pathlib.Path(__file__).parents[1] / "lakehouse" / "types.py"
_spec = importlib.util.spec_from_file_location("lake_types", _PATH)
lt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lt)


def test_decimal_and_bigint_rules():
    assert lt.field_spec("DECIMAL(12,2)") == lt.FieldSpec("float", "numeric(12,2)", (12, 2))
    assert lt.field_spec("DECIMAL(38,10)").ttype == "char"
    assert lt.field_spec("BIGINT").ttype == "char"
    assert lt.field_spec("INT").ttype == "integer"
    assert lt.arrow_field_spec(pa.timestamp("us", tz="UTC")).ttype == "datetime"
    assert lt.arrow_field_spec(pa.list_(pa.int32())).ttype == "char"


def test_copy_batches_are_csv_per_batch():
    table = pa.table({"id": [1, 2, 3], "name": ["a", 'b,"q"', None]})
    chunks = list(lt.arrow_to_pg_copy_batches(table.to_reader(max_chunksize=2)))
    assert len(chunks) == 2
    assert b"".join(chunks).decode() == '1,"a"\n2,"b,""q"""\n3,\n'
