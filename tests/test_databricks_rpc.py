"""ipai_databricks_connector over real HTTP, with the server's queue_job runner:
refresh a view, run a job, read a view's rows with search_read."""

import datetime as dt
import os
import time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import RpcError
from deltalake import DeltaTable, write_deltalake

V = "ipai.databricks.view"


def _table(root, name):
    return str(Path(root, *name.split(".")))


def _sales(days):
    return pa.table({
        "sale_date": pa.array([dt.date(2026, 3, d) for d in range(1, days + 1)], pa.date32()),
        "region": pa.array(["NCR" if d % 2 else "Visayas" for d in range(days)]),
        "peso_total": pa.array([Decimal(f"{100 * d}.50") for d in range(1, days + 1)],
                               pa.decimal128(15, 2)),
    })


@pytest.fixture(scope="module")
def srv(odoo_server):
    odoo_server.create_user("dbxuser", ["ipai_databricks_connector.databricks_group_user"])
    odoo_server.create_user("dbxplain", [])
    return odoo_server


@pytest.fixture(scope="module")
def lake(srv):
    root = Path(os.environ["IPAI_TEST_WORKDIR"]) / "rpc_lake"
    root.mkdir(parents=True, exist_ok=True)
    write_deltalake(_table(root, "rpc.gold.sales"), _sales(4), mode="overwrite")
    ws = srv.jsonrpc("ipai.databricks.workspace", "create",
                     [{"name": "RPC lake", "backend": "local", "local_root": str(root)}])[0]
    return root, ws


def _wait(srv, model, rid, field, values, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rec = srv.jsonrpc(model, "read", [rid], [field])[0]
        if rec[field] in values:
            return rec
        time.sleep(0.5)
    raise AssertionError(f"{model}({rid}).{field} never reached {values}: {rec}")


def test_refresh_a_view_and_read_its_rows(srv, lake):
    root, ws = lake
    vid = srv.jsonrpc(V, "create", [{"name": "RPC sales", "code": "rpc_sales",
                                     "workspace_id": ws, "source": "rpc.gold.sales",
                                     "schedule": "manual"}])[0]
    srv.jsonrpc(V, "action_create_model", [vid])
    srv.jsonrpc(V, "action_refresh", [vid], login="dbxuser", password="dbxuser")
    _wait(srv, V, vid, "refresh_state", ("idle", "failed", "blocked"))
    view = srv.jsonrpc(V, "read", [vid], ["snapshot_label", "row_count", "refresh_state",
                                          "freshness_status", "last_error"])[0]
    assert view["refresh_state"] == "idle", view["last_error"]
    assert view["row_count"] == 4
    assert "As of version 0" in view["snapshot_label"]
    assert view["freshness_status"] == "fresh"
    rows = srv.jsonrpc("x_dbx_rpc_sales", "search_read", [], ["x_region", "x_peso_total"],
                       order="id", login="dbxuser", password="dbxuser")
    assert [r["x_peso_total"] for r in rows] == [100.5, 200.5, 300.5, 400.5]
    # A new Delta version, refreshed again: the user sees the new snapshot.
    write_deltalake(_table(root, "rpc.gold.sales"), _sales(6), mode="overwrite")
    srv.jsonrpc(V, "action_refresh", [vid], login="dbxuser", password="dbxuser")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        view = srv.jsonrpc(V, "read", [vid], ["snapshot_label", "row_count"])[0]
        if "As of version 1" in view["snapshot_label"]:
            break
        time.sleep(0.5)
    assert view["row_count"] == 6, view
    assert srv.jsonrpc("x_dbx_rpc_sales", "search_count", [],
                       login="dbxuser", password="dbxuser") == 6


def test_rows_are_read_only_and_hidden_from_others(srv, lake):
    ids = srv.jsonrpc("x_dbx_rpc_sales", "search", [], login="dbxuser", password="dbxuser")
    assert ids
    with pytest.raises(RpcError):
        srv.jsonrpc("x_dbx_rpc_sales", "write", ids[:1], {"x_region": "tampered"},
                    login="dbxuser", password="dbxuser")
    with pytest.raises(RpcError):
        srv.jsonrpc("x_dbx_rpc_sales", "create", [{"x_region": "new"}],
                    login="dbxuser", password="dbxuser")
    with pytest.raises(RpcError):
        srv.jsonrpc("x_dbx_rpc_sales", "search_read", [], ["x_region"],
                    login="dbxplain", password="dbxplain")
    with pytest.raises(RpcError):
        srv.jsonrpc(V, "create", [{"name": "x", "code": "x", "workspace_id": lake[1],
                                   "source": "rpc.gold.sales"}],
                    login="dbxuser", password="dbxuser")


def test_run_a_job(srv, lake):
    root, ws = lake
    jid = srv.jsonrpc("ipai.databricks.job", "create", [{
        "name": "RPC regions", "workspace_id": ws, "layer": "platinum",
        "sql": "SELECT region, count(*)::INT AS days FROM rpc.gold.sales GROUP BY region",
        "target_table": "rpc.platinum.regions"}])[0]
    run_ids = srv.jsonrpc("ipai.databricks.job", "action_run_now", [jid],
                          login="dbxuser", password="dbxuser")
    run = _wait(srv, "ipai.databricks.job.run", run_ids[0], "state",
                ("success", "failed", "canceled"))
    assert run["state"] == "success", srv.jsonrpc(
        "ipai.databricks.job.run", "read", run_ids, ["message"])
    table = DeltaTable(_table(root, "rpc.platinum.regions"))
    assert table.version() == 0
    assert sorted(table.to_pyarrow_table().column("region").to_pylist()) == ["NCR", "Visayas"]
