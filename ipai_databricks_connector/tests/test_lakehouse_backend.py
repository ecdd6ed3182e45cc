import importlib.util
import pathlib

import pyarrow as pa

_PATH = pathlib.Path(__file__).parents[1] / "lakehouse" / "local_backend.py"
_spec = importlib.util.spec_from_file_location("lake_local_backend", _PATH)
lb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lb)


def test_write_read_version_history(tmp_path):
    lake = lb.LocalLakehouse(str(tmp_path))
    t = pa.table({"id": [1, 2, 3], "name": ["a", "b", "c"]})
    assert lake.write_table("demo.gold.t", t) == 0
    assert lake.write_table("demo.gold.t", t, mode="append") == 1
    rows = lake.execute("SELECT count(*) AS n FROM demo.gold.t").read_all()
    assert rows.column("n")[0].as_py() == 6
    assert [h["version"] for h in lake.history("demo.gold.t")] == [1, 0]
    assert lake.list_tables() == ["demo.gold.t"]


def test_injection_stays_literal(tmp_path):
    lake = lb.LocalLakehouse(str(tmp_path))
    lake.write_table("demo.gold.t", pa.table({"name": ["a", "x' OR '1'='1"]}))
    out = lake.execute("SELECT name FROM demo.gold.t WHERE name = :n AND ':n' = ':n'",
                       {"n": "x' OR '1'='1"}).read_all()
    assert out.column("name").to_pylist() == ["x' OR '1'='1"]
