"""ipai_databricks_connector over real HTTP (/json/2 with API keys), with the server's
queue_job runner.

The server runs in its own process with workers; this process writes the Delta tables
(LocalLakehouse, the same code the server reads them with) in a directory both can see,
then drives Odoo only through public methods, as an external client would:
refresh a view and read its rows, check who may touch the rows, run a job.
"""

import datetime as dt
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import OdooServer, RpcError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "ipai_databricks_connector"))
from lakehouse.local_backend import LocalLakehouse

V = "ipai.databricks.view"
ROWS = "x_dbx_rpc_sales"
USER = {"login": "dbxuser"}  # json2 calls with that user's API key
PLAIN = {"login": "dbxplain"}
TIMEOUT = 60  # seconds for the job runner to finish a chain


def _sales(first_day, days):
    days = range(first_day, first_day + days)
    return pa.table({
        "sale_date": pa.array([dt.date(2026, 3, d) for d in days], pa.date32()),
        "store_id": pa.array([d % 3 + 1 for d in days], pa.int32()),
        "region": pa.array(["NCR" if d % 2 else "Visayas" for d in days]),
        "peso_total": pa.array([Decimal(f"{100 * d}.50") for d in days], pa.decimal128(15, 2)),
        "transactions": pa.array([10 * d for d in days], pa.int32()),
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
    lakehouse = LocalLakehouse(root)
    lakehouse.write_table("rpc.gold.sales", _sales(1, 4), mode="overwrite")
    lakehouse.write_table("rpc.silver.sales", _sales(1, 4), mode="overwrite")
    (ws,) = srv.json2("ipai.databricks.workspace", "create",
                      vals_list=[{"name": "RPC lake", "backend": "local",
                                  "local_root": str(root)}])
    return lakehouse, ws


def _wait(srv, model, rid, field, values, timeout=TIMEOUT):
    """Poll one record (as admin) until ``field`` takes one of ``values``."""
    deadline = time.monotonic() + timeout
    while True:
        rec = srv.json2(model, "read", ids=[rid], fields=[field])[0]
        if rec[field] in values:
            return rec
        if time.monotonic() > deadline:
            jobs = srv.json2("queue.job", "search_read", domain=[],
                             fields=["name", "state", "exc_info"], order="id desc", limit=6)
            raise AssertionError(f"{model}({rid}).{field} is {rec[field]!r}, never {values} "
                                 f"within {timeout} s; last jobs: {jobs}")
        time.sleep(0.5)


def _refresh(srv, vid):
    """Refresh as the Databricks User; wait for the chain; return what the form shows."""
    srv.json2(V, "action_refresh", ids=[vid], **USER)
    _wait(srv, V, vid, "refresh_state", ("idle", "failed", "blocked"))
    return srv.json2(V, "read", ids=[vid], fields=["snapshot_label", "row_count",
                                                   "refresh_state", "freshness_status",
                                                   "last_error"], **USER)[0]


def _access_error(call):
    """What the client sees of a refusal over /json/2: 403 and an AccessError."""
    with pytest.raises(RpcError) as err:
        call()
    assert (err.value.status, err.value.name) == (403, "odoo.exceptions.AccessError"), (
        err.value.data)
    return err.value


@pytest.fixture(scope="module")
def view(srv, lake):
    """A view on rpc.gold.sales with its model, published once (Delta version 0)."""
    _, ws = lake
    (vid,) = srv.json2(V, "create", vals_list=[{"name": "RPC sales", "code": "rpc_sales",
                                                "workspace_id": ws, "source": "rpc.gold.sales",
                                                "schedule": "manual"}])
    srv.json2(V, "action_create_model", ids=[vid])
    first = _refresh(srv, vid)
    return vid, first


def test_refresh_a_view_and_read_its_rows(srv, lake, view):
    lakehouse, _ = lake
    vid, first = view
    # What the form shows after the runner has executed query -> load -> quality -> publish.
    assert first["refresh_state"] == "idle", first["last_error"]
    assert first["row_count"] == 4
    assert first["snapshot_label"].startswith("As of version 0, refreshed at "), first
    assert first["freshness_status"] == "fresh"
    rows = srv.json2(ROWS, "search_read", domain=[],
                     fields=["x_sale_date", "x_store_id", "x_region", "x_peso_total",
                             "x_transactions"], order="x_sale_date", **USER)
    assert [{k: v for k, v in r.items() if k != "id"} for r in rows] == [
        {"x_sale_date": "2026-03-01", "x_store_id": 2, "x_region": "NCR",
         "x_peso_total": 100.5, "x_transactions": 10},
        {"x_sale_date": "2026-03-02", "x_store_id": 3, "x_region": "Visayas",
         "x_peso_total": 200.5, "x_transactions": 20},
        {"x_sale_date": "2026-03-03", "x_store_id": 1, "x_region": "NCR",
         "x_peso_total": 300.5, "x_transactions": 30},
        {"x_sale_date": "2026-03-04", "x_store_id": 2, "x_region": "Visayas",
         "x_peso_total": 400.5, "x_transactions": 40},
    ]
    # A new Delta version (an append), refreshed again: the user sees the new snapshot.
    lakehouse.write_table("rpc.gold.sales", _sales(5, 2), mode="append")
    assert lakehouse.table_version("rpc.gold.sales") == 1
    second = _refresh(srv, vid)
    assert second["refresh_state"] == "idle", second["last_error"]
    assert second["snapshot_label"].startswith("As of version 1, refreshed at "), second
    assert second["row_count"] == 6
    assert second["freshness_status"] == "fresh"
    # The aggregation the pivot view asks for.
    groups = srv.json2(ROWS, "formatted_read_group", domain=[], groupby=["x_region"],
                       aggregates=["x_peso_total:sum", "__count"], order="x_region", **USER)
    assert [(g["x_region"], g["x_peso_total:sum"], g["__count"]) for g in groups] == [
        ("NCR", 100.5 + 300.5 + 500.5, 3), ("Visayas", 200.5 + 400.5 + 600.5, 3)]


def test_rows_are_read_only_and_hidden_from_others(srv, lake, view):
    ids = srv.json2(ROWS, "search", domain=[], **USER)
    assert ids
    _access_error(lambda: srv.json2(ROWS, "write", ids=ids[:1], vals={"x_region": "tampered"},
                                    **USER))
    _access_error(lambda: srv.json2(ROWS, "create", vals_list=[{"x_region": "new"}], **USER))
    _access_error(lambda: srv.json2(ROWS, "unlink", ids=ids[:1], **USER))
    assert srv.json2(ROWS, "search_count", domain=[], **USER) == len(ids)
    assert "tampered" not in {r["x_region"] for r in srv.json2(
        ROWS, "search_read", domain=[], fields=["x_region"], **USER)}
    # A plain internal user sees neither the rows nor the view.
    _access_error(lambda: srv.json2(ROWS, "search_read", domain=[], fields=["x_region"],
                                    **PLAIN))
    _access_error(lambda: srv.json2(V, "search_read", domain=[], fields=["name"], **PLAIN))
    # Snapshots and job runs are the system's: a user cannot forge one over RPC.
    _access_error(lambda: srv.json2("ipai.databricks.snapshot", "create",
                                    vals_list=[{"view_id": view[0], "mode": "full"}], **USER))
    _access_error(lambda: srv.json2("ipai.databricks.job.run", "create",
                                    vals_list=[{"job_id": 1, "state": "failed", "run_id": "7"}],
                                    **USER))
    snaps = srv.json2("ipai.databricks.snapshot", "search", domain=[("view_id", "=", view[0])],
                      **USER)
    assert snaps
    _access_error(lambda: srv.json2("ipai.databricks.snapshot", "write", ids=snaps[:1],
                                    vals={"state": "queued"}, **USER))
    # Configuring views is for Databricks Managers.
    _access_error(lambda: srv.json2(V, "create", vals_list=[{
        "name": "x", "code": "x", "workspace_id": lake[1], "source": "rpc.gold.sales"}],
        **USER))


def test_rows_follow_the_views_company_even_after_an_upgrade(srv, lake, view):
    other = {"login": "dbxotherco"}
    srv.shell(
        "co = env['res.company'].create({'name': 'RPC Other Company'})\n"
        "env['res.users'].with_context(no_reset_password=True).create({\n"
        "    'name': 'Other Co User', 'login': 'dbxotherco', 'password': 'dbxotherco',\n"
        "    'company_id': co.id, 'company_ids': [(6, 0, [co.id])],\n"
        "    'group_ids': [(6, 0, [env.ref('base.group_user').id,\n"
        "        env.ref('ipai_databricks_connector.databricks_group_user').id])]})\n")

    def seen(creds):
        rows = srv.json2(ROWS, "search_read", domain=[], fields=["x_region"], **creds)
        groups = srv.json2(ROWS, "formatted_read_group", domain=[], groupby=["x_region"],
                           aggregates=["__count"], **creds)
        return len(rows), sum(g["__count"] for g in groups)

    total = srv.json2(V, "read", ids=[view[0]], fields=["row_count"], **USER)[0]["row_count"]
    assert total and seen(USER) == (total, total)
    assert seen(other) == (0, 0), "another company's user reads none of the view's rows"
    srv.upgrade("ipai_databricks_connector")
    assert seen(USER) == (total, total)
    assert seen(other) == (0, 0), "the company rule survives an upgrade"


def test_a_manager_who_is_not_admin_sets_up_a_view(srv, lake):
    """Every button of the forms, over RPC, as a Databricks Manager (not an administrator)."""
    srv.create_user("dbxmanager", ["ipai_databricks_connector.databricks_group_manager"])
    manager = {"login": "dbxmanager"}
    lakehouse, ws = lake
    srv.json2("ipai.databricks.workspace", "action_test_connection", ids=[ws], **manager)
    state = srv.json2("ipai.databricks.workspace", "read", ids=[ws],
                      fields=["connection_state"], **manager)[0]["connection_state"]
    assert state == "ok"
    (vid,) = srv.json2(V, "create", vals_list=[{"name": "Mgr sales", "code": "mgr_sales",
                                                "workspace_id": ws, "source": "rpc.gold.sales",
                                                "schedule": "manual"}], **manager)
    srv.json2(V, "action_create_model", ids=[vid], **manager)
    assert _refresh(srv, vid)["refresh_state"] == "idle"
    srv.json2(V, "action_create_model", ids=[vid], **manager)  # "Rebuild model"
    assert _refresh(srv, vid)["row_count"] >= 4
    assert srv.json2("x_dbx_mgr_sales", "search_count", domain=[], **manager) >= 4
    srv.json2(V, "unlink", ids=[vid], **manager)
    assert not srv.json2("ir.model", "search", domain=[("model", "=", "x_dbx_mgr_sales")])


def test_run_a_job(srv, lake):
    lakehouse, ws = lake
    (jid,) = srv.json2("ipai.databricks.job", "create", vals_list=[{
        "name": "RPC regions", "workspace_id": ws, "layer": "gold",
        "sql": "SELECT region, count(*)::INT AS days, sum(peso_total) AS peso_total "
               "FROM rpc.silver.sales GROUP BY region ORDER BY region",
        "target_table": "rpc.gold.regions"}])

    def run_once():
        run_ids = srv.json2("ipai.databricks.job", "action_run_now", ids=[jid], **USER)
        assert len(run_ids) == 1
        _wait(srv, "ipai.databricks.job.run", run_ids[0], "state",
              ("success", "failed", "canceled"))
        return srv.json2("ipai.databricks.job.run", "read", ids=run_ids,
                         fields=["state", "delta_version", "message", "life_cycle_state"],
                         **USER)[0]

    run = run_once()
    assert run["state"] == "success", run["message"]
    assert run["life_cycle_state"] == "TERMINATED"
    assert run["delta_version"] == lakehouse.table_version("rpc.gold.regions") == 0
    # New silver data, run again: the job writes a new version of its target.
    lakehouse.write_table("rpc.silver.sales", _sales(5, 2), mode="append")
    run = run_once()
    assert run["state"] == "success", run["message"]
    assert run["delta_version"] == lakehouse.table_version("rpc.gold.regions") == 1
    result = lakehouse.execute(
        "SELECT region, days FROM rpc.gold.regions ORDER BY region").read_all()
    assert result.to_pylist() == [{"region": "NCR", "days": 3}, {"region": "Visayas", "days": 3}]
    job = srv.json2("ipai.databricks.job", "read", ids=[jid], fields=["last_run_state"],
                    **USER)[0]
    assert job["last_run_state"] == "success"


def test_uninstall_leaves_no_generated_model_table_or_menu(lake):
    """On its own server (the others keep the connector): uninstall, as from the Apps menu."""
    srv = OdooServer(name="uninstall", workers=0).start()
    try:
        root = Path(os.environ["IPAI_TEST_WORKDIR"]) / "rpc_lake"
        (ws,) = srv.json2("ipai.databricks.workspace", "create",
                          vals_list=[{"name": "Lake", "backend": "local",
                                      "local_root": str(root)}])
        (vid,) = srv.json2(V, "create", vals_list=[{"name": "Gone", "code": "gone",
                                                    "workspace_id": ws,
                                                    "source": "rpc.gold.sales",
                                                    "schedule": "manual"}])
        srv.json2(V, "action_create_model", ids=[vid])
        srv.shell("env.cr.execute('CREATE TABLE x_dbx_gone__stg99 (LIKE x_dbx_gone)')")
        module = srv.json2("ir.module.module", "search",
                           domain=[("name", "=", "ipai_databricks_connector")])
        srv.json2("ir.module.module", "button_immediate_uninstall", ids=module)
        left = srv.shell_json(
            "import json\n"
            "env.cr.execute(\"SELECT tablename FROM pg_tables WHERE tablename LIKE 'x_dbx%'\")\n"
            "tables = [r[0] for r in env.cr.fetchall()]\n"
            "models = env['ir.model'].search([('model', '=like', 'x_dbx_%')]).mapped('model')\n"
            "menus = env['ir.ui.menu'].search([('name', '=', 'Gone')]).ids\n"
            "groups = [x for x in ('databricks_group_user', 'databricks_group_manager')\n"
            "          if env.ref('ipai_databricks_connector.' + x, False)]\n"
            "state = env['ir.module.module'].search([('name', '=', "
            "'ipai_databricks_connector')]).state\n"
            "print(json.dumps([tables, models, menus, groups, state]))\n")
        assert left == [[], [], [], [], "uninstalled"], left
    finally:
        srv.stop()

