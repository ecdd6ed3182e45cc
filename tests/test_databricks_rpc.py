"""ipai_databricks_connector over real HTTP (/json/2 with API keys), with the server's
queue_job runner.

The server runs in its own process with workers; this process writes the Delta tables
(LocalLakehouse, the same code the server reads them with) in a directory both can see,
then drives Odoo only through public methods, as an external client would:
refresh a view and read its rows, check who may touch the rows, run a job.
"""

import datetime as dt
import os
import re
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
WS = "ipai.databricks.workspace"
JOB = "ipai.databricks.job"
RUN = "ipai.databricks.job.run"
SNAP = "ipai.databricks.snapshot"
WIZARD = "ipai.databricks.refresh.wizard"
ROWS = "x_dbx_rpc_sales"
USER = {"login": "dbxuser"}  # json2 calls with that user's API key
PLAIN = {"login": "dbxplain"}
MANAGER = {"login": "dbxmanager"}
TOKEN = "dapi-rpc-test"  # of the local Databricks API server
DONE = ("success", "failed", "canceled")
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
def manager(srv):
    """A Databricks Manager who is not an administrator: the buttons must work for them."""
    uid = srv.create_user("dbxmanager", ["ipai_databricks_connector.databricks_group_manager"])
    assert not srv.json2("res.users", "has_group", ids=[uid], group_ext_id="base.group_system")
    assert not srv.json2("res.users", "has_group", ids=[uid],
                         group_ext_id="base.group_erp_manager")
    return MANAGER


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


def _refresh(srv, vid, creds=USER, method="action_refresh"):
    """Press a refresh button (the Databricks User's "Refresh" by default); wait for the
    chain; return what the form shows."""
    snaps = srv.json2(V, method, ids=[vid], **creds)
    assert len(snaps) == 1, snaps  # the snapshot the chain fills
    return _form_after_refresh(srv, vid, creds)


def _form_after_refresh(srv, vid, creds):
    _wait(srv, V, vid, "refresh_state", ("idle", "failed", "blocked"))
    return srv.json2(V, "read", ids=[vid], fields=["snapshot_label", "row_count",
                                                   "refresh_state", "freshness_status",
                                                   "last_error", "current_snapshot_id"],
                     **creds)[0]


def _runs(srv, run_ids, creds):
    """Wait for job runs to end; return what their form shows to ``creds``."""
    for rid in run_ids:
        _wait(srv, RUN, rid, "state", DONE)
    return srv.json2(RUN, "read", ids=run_ids, fields=[
        "state", "trigger", "repair_count", "delta_version", "message", "job_id"], **creds)


def _user_error(call, text):
    """A UserError as the client sees it: 422 and the message the dialog shows."""
    with pytest.raises(RpcError) as err:
        call()
    assert (err.value.status, err.value.name) == (422, "odoo.exceptions.UserError"), (
        err.value.data)
    assert text in str(err.value), err.value


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


def test_a_manager_who_is_not_admin_sets_up_a_view(srv, lake, manager):
    """Create, "Create model", "Refresh", "Rebuild model", delete: as a Databricks Manager."""
    lakehouse, ws = lake
    action = srv.json2(WS, "action_test_connection", ids=[ws], **manager)
    assert (action["tag"], action["params"]["type"]) == ("display_notification", "success"), (
        action)
    state = srv.json2(WS, "read", ids=[ws], fields=["connection_state"],
                      **manager)[0]["connection_state"]
    assert state == "ok"
    (vid,) = srv.json2(V, "create", vals_list=[{"name": "Mgr sales", "code": "mgr_sales",
                                                "workspace_id": ws, "source": "rpc.gold.sales",
                                                "schedule": "manual"}], **manager)
    assert srv.json2(V, "action_create_model", ids=[vid], **manager) is True
    assert _refresh(srv, vid, manager)["refresh_state"] == "idle"
    srv.json2(V, "action_create_model", ids=[vid], **manager)  # "Rebuild model"
    assert srv.json2("x_dbx_mgr_sales", "search_count", domain=[], **manager) == 0, (
        "a rebuilt model has no rows until the next refresh")
    assert _refresh(srv, vid, manager)["row_count"] >= 4
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


# -- every other button, as the Databricks Manager (not admin) and the Databricks User ------


@pytest.fixture(scope="module")
def ops_view(srv, lake, manager):
    """A Manager's incremental view (so its form shows "Full refresh") of a table with two
    Delta versions: 4 rows at version 0, 6 at version 1."""
    lakehouse, ws = lake
    lakehouse.write_table("rpc.gold.ops", _sales(1, 4), mode="overwrite")
    lakehouse.write_table("rpc.gold.ops", _sales(5, 2), mode="append")
    (vid,) = srv.json2(V, "create", vals_list=[{
        "name": "Mgr ops", "code": "mgr_ops", "workspace_id": ws, "source": "rpc.gold.ops",
        "schedule": "manual", "refresh_mode": "incremental", "watermark_column": "sale_date"}],
        **manager)
    assert srv.json2(V, "action_create_model", ids=[vid], **manager) is True
    return vid


def _snapshot(srv, sid, creds):
    return srv.json2(SNAP, "read", ids=[sid], fields=[
        "state", "mode", "delta_version", "row_count", "republished_from_id",
        "as_of_version", "message"], **creds)[0]


def _refresh_with(srv, vid, creds, **values):
    """"Refresh with…": the wizard the button opens, filled in and its "Refresh" pressed."""
    action = srv.json2(V, "action_refresh_with", ids=[vid], **creds)
    assert (action["type"], action["res_model"], action["target"]) == (
        "ir.actions.act_window", WIZARD, "new"), action
    assert action["context"] == {"default_view_id": vid}
    (wid,) = srv.json2(WIZARD, "create", vals_list=[values], context=action["context"], **creds)
    wizard = srv.json2(WIZARD, "read", ids=[wid], fields=["view_id", "table_source"],
                       **creds)[0]
    assert (wizard["view_id"][0], wizard["table_source"]) == (vid, True), wizard
    close = srv.json2(WIZARD, "action_refresh", ids=[wid], context=action["context"], **creds)
    assert close == {"type": "ir.actions.act_window_close"}
    return _form_after_refresh(srv, vid, creds)


def test_a_manager_presses_every_refresh_button_of_a_view(srv, lake, manager, ops_view):
    """Refresh, Full refresh, Refresh with… (a Delta version), Republish, the Rows button
    and Cancel refresh with nothing running: as a Databricks Manager."""
    vid = ops_view
    form = _refresh(srv, vid, manager)
    assert (form["refresh_state"], form["row_count"]) == ("idle", 6), form
    # "Full refresh": a full snapshot of the latest version.
    form = _refresh(srv, vid, manager, "action_refresh_full")
    assert (form["refresh_state"], form["row_count"]) == ("idle", 6), form
    full = form["current_snapshot_id"][0]
    assert _snapshot(srv, full, manager)["mode"] == "full"
    assert _snapshot(srv, full, manager)["delta_version"] == 1
    # "Refresh with…", as of version 0: the 4 rows of that version.
    form = _refresh_with(srv, vid, manager, pin_version=True, as_of_version=0)
    assert (form["refresh_state"], form["row_count"]) == ("idle", 4), form
    assert form["snapshot_label"].startswith("As of version 0, "), form
    assert srv.json2("x_dbx_mgr_ops", "search_count", domain=[], **manager) == 4
    # "Republish" the full snapshot (version 1): its 6 rows again, in a new snapshot.
    snaps = srv.json2(SNAP, "action_republish", ids=[full], **manager)
    assert len(snaps) == 1 and snaps[0] != full
    form = _form_after_refresh(srv, vid, manager)
    assert (form["refresh_state"], form["row_count"]) == ("idle", 6), form
    assert form["snapshot_label"].startswith("As of version 1, "), form
    again = _snapshot(srv, snaps[0], manager)
    assert (again["state"], again["republished_from_id"][0], again["delta_version"]) == (
        "published", full, 1), again
    # The "Rows" button opens the generated model's rows.
    action = srv.json2(V, "action_open_data", ids=[vid], **manager)
    assert (action["type"], action["res_model"]) == ("ir.actions.act_window", "x_dbx_mgr_ops")
    assert srv.json2("x_dbx_mgr_ops", "search_count", domain=[], **manager) == 6
    # "Cancel refresh" on an idle view changes nothing.
    assert srv.json2(V, "action_cancel_refresh", ids=[vid], **manager) is True
    assert _form_after_refresh(srv, vid, manager)["row_count"] == 6


def test_a_user_presses_the_buttons_they_see_and_no_manager_button(srv, lake, manager,
                                                                     ops_view):
    """The view form's buttons for a Databricks User; the Manager's ones are refused."""
    vid = ops_view
    form = _refresh(srv, vid, USER, "action_refresh_full")
    assert (form["refresh_state"], form["row_count"]) == ("idle", 6), form
    form = _refresh_with(srv, vid, USER, pin_version=True, as_of_version=0)
    assert (form["refresh_state"], form["row_count"]) == ("idle", 4), form
    action = srv.json2(V, "action_open_data", ids=[vid], **USER)
    assert action["res_model"] == "x_dbx_mgr_ops"
    assert srv.json2("x_dbx_mgr_ops", "search_count", domain=[], **USER) == 4
    assert srv.json2(V, "action_cancel_refresh", ids=[vid], **USER) is True
    # "Create model", "Rebuild model" (the same method) and "Republish" are the Manager's.
    _access_error(lambda: srv.json2(V, "action_create_model", ids=[vid], **USER))
    published = srv.json2(SNAP, "search", domain=[("view_id", "=", vid),
                                                  ("state", "=", "published")], **USER)
    _access_error(lambda: srv.json2(SNAP, "action_republish", ids=published[:1], **USER))
    # ... and so are the warehouse's start and stop (refused before the backend is looked at).
    ws = lake[1]
    _access_error(lambda: srv.json2(WS, "action_start_warehouse", ids=[ws], **USER))
    _access_error(lambda: srv.json2(WS, "action_stop_warehouse", ids=[ws], **USER))
    assert srv.json2(V, "read", ids=[vid], fields=["row_count"], **USER)[0]["row_count"] == 4


def test_a_user_tests_the_connection(srv, lake):
    """"Test connection" shows to every Databricks User: it must work for them too."""
    action = srv.json2(WS, "action_test_connection", ids=[lake[1]], **USER)
    assert (action["tag"], action["params"]["type"]) == ("display_notification", "success"), (
        action)
    state = srv.json2(WS, "read", ids=[lake[1]], fields=["connection_state"], **USER)[0]
    assert state["connection_state"] == "ok"


def _late_job(srv, lake, manager, name, source, target):
    """A Manager's job reading a table that does not exist yet: its first run fails."""
    (jid,) = srv.json2(JOB, "create", vals_list=[{
        "name": name, "workspace_id": lake[1], "layer": "silver",
        "sql": f"SELECT region, count(*)::INT AS days FROM {source} GROUP BY region",
        "target_table": target}], **manager)
    return jid


def _run_fail_repair_rerun(srv, lake, creds, jid, source, target):
    lakehouse, _ws = lake
    # "Run now" (job form and list)
    (first,) = srv.json2(JOB, "action_run_now", ids=[jid], **creds)
    (run,) = _runs(srv, [first], creds)
    assert run["state"] == "failed", run
    assert source.rsplit(".", 1)[1] in run["message"].lower(), run
    assert (run["trigger"], run["job_id"][0]) == ("manual", jid)
    # "Repair" (failed run form), once the missing table exists: the same run succeeds.
    lakehouse.write_table(source, _sales(1, 4), mode="overwrite")
    assert srv.json2(RUN, "action_repair", ids=[first], **creds) is True
    (run,) = _runs(srv, [first], creds)
    assert (run["state"], run["trigger"], run["repair_count"]) == ("success", "repair", 1), run
    assert run["delta_version"] == lakehouse.table_version(target) == 0
    # "Re-run" (ended run form): a new run of the job, which writes a new version.
    rerun = srv.json2(RUN, "action_rerun", ids=[first], **creds)
    assert len(rerun) == 1 and rerun[0] != first
    (run,) = _runs(srv, rerun, creds)
    assert (run["state"], run["trigger"], run["delta_version"]) == ("success", "manual", 1), run
    assert lakehouse.table_version(target) == 1
    # "Repair" shows on failed runs only; pressed on another, it says so.
    _user_error(lambda: srv.json2(RUN, "action_repair", ids=rerun, **creds),
                "Only a failed run can be repaired.")
    job = srv.json2(JOB, "read", ids=[jid], fields=["last_run_state", "run_ids"], **creds)[0]
    assert job["last_run_state"] == "success" and set(job["run_ids"]) == {first, *rerun}


def test_a_manager_runs_repairs_and_reruns_a_job(srv, lake, manager):
    jid = _late_job(srv, lake, manager, "Mgr late", "rpc.bronze.mgr_late", "rpc.silver.mgr_late")
    _run_fail_repair_rerun(srv, lake, manager, jid, "rpc.bronze.mgr_late", "rpc.silver.mgr_late")


def test_a_user_runs_repairs_and_reruns_a_job_but_configures_none(srv, lake, manager):
    jid = _late_job(srv, lake, manager, "User late", "rpc.bronze.usr_late",
                    "rpc.silver.usr_late")
    _run_fail_repair_rerun(srv, lake, USER, jid, "rpc.bronze.usr_late", "rpc.silver.usr_late")
    _access_error(lambda: srv.json2(JOB, "write", ids=[jid], vals={"name": "x"}, **USER))
    _access_error(lambda: srv.json2(JOB, "create", vals_list=[{
        "name": "x", "workspace_id": lake[1], "sql": "SELECT 1 AS a", "target_table": "a.b.c"}],
        **USER))


# -- the Databricks backend: the local API server, in this process --------------------------


@pytest.fixture(scope="module")
def api(srv, lake, manager):
    """A Databricks workspace on the local API server, over the rpc_lake tables."""
    from lakehouse.devserver import DatabricksApiServer  # noqa: PLC0415 (pyarrow-heavy)

    lakehouse, _ws = lake
    lakehouse.write_table("rpc.gold.api_sales", _sales(1, 4), mode="overwrite")
    root = Path(os.environ["IPAI_TEST_WORKDIR"]) / "rpc_lake"
    server = DatabricksApiServer(str(root), TOKEN, warehouse_start_seconds=1.0,
                                 warehouse_stop_seconds=0.5).start()
    try:
        # The gateway service is an administrator's setup (its token goes to the vault).
        (sid,) = srv.json2("ipai.gateway.service", "create", vals_list=[{
            "name": "Databricks (RPC test)", "code": "dbx_rpc_test", "kind": "databricks",
            "base_url": server.url, "auth_type": "bearer", "token": TOKEN,
            "connect_timeout": 2, "read_timeout": 30, "health_path": False}])
        (ws,) = srv.json2(WS, "create", vals_list=[{
            "name": "RPC API", "backend": "databricks", "service_id": sid,
            "warehouse_id": "local-warehouse", "link_hosts": f"127.0.0.1:{server.port}",
            "allow_http_links": True}], **manager)
        yield server, ws
    finally:
        server.stop()


def _warehouse(srv, ws, creds):
    """The warehouse's state as the form's "Refresh" (next to it) shows it."""
    assert srv.json2(WS, "action_refresh_warehouse", ids=[ws], **creds) is True
    return srv.json2(WS, "read", ids=[ws], fields=["warehouse_state"], **creds)[0][
        "warehouse_state"]


def _wait_warehouse(srv, ws, creds, state, timeout=30):
    deadline = time.monotonic() + timeout
    while (seen := _warehouse(srv, ws, creds)) != state:
        assert time.monotonic() < deadline, f"the warehouse stayed {seen}, never {state}"
        time.sleep(0.3)


def test_a_manager_cancels_a_refresh(srv, api, manager):
    """"Cancel refresh" while the warehouse holds the query: the view is idle again and the
    query, when it ends, publishes nothing."""
    server, ws = api
    (vid,) = srv.json2(V, "create", vals_list=[{
        "name": "Mgr API", "code": "mgr_api", "workspace_id": ws, "source": "rpc.gold.api_sales",
        "schedule": "manual"}], **manager)
    srv.json2(V, "action_create_model", ids=[vid], **manager)  # a queue job on Databricks
    deadline = time.monotonic() + TIMEOUT
    while not srv.json2(V, "read", ids=[vid], fields=["model_id"], **manager)[0]["model_id"]:
        assert time.monotonic() < deadline, "the model was never created"
        time.sleep(0.5)
    server.pending_delay = 6  # seconds each statement waits "for the warehouse"
    logged = srv.log.stat().st_size
    try:
        submitted = len(server.requests)
        (sid,) = srv.json2(V, "action_refresh", ids=[vid], **manager)
        form = srv.json2(V, "read", ids=[vid], fields=["refresh_state"], **manager)[0]
        assert form["refresh_state"] == "running"
        # Canceled while the query job waits on the warehouse (it has sent its statement).
        while ("POST", "/api/2.0/sql/statements") not in server.requests[submitted:]:
            assert time.monotonic() < deadline + TIMEOUT, "the query was never sent"
            time.sleep(0.1)
        assert srv.json2(V, "action_cancel_refresh", ids=[vid], **manager) is True
        form = srv.json2(V, "read", ids=[vid], fields=["refresh_state", "last_error"],
                         **manager)[0]
        assert (form["refresh_state"], form["last_error"]) == ("idle", False), form
        snap = _snapshot(srv, sid, manager)
        assert (snap["state"], snap["message"]) == ("failed", "Canceled by Dbxmanager."), snap
        srv.wait_jobs([("model_name", "=", SNAP)], timeout=TIMEOUT)
    finally:
        server.pending_delay = 0
    with srv.log.open() as log:
        log.seek(logged)
        text = log.read()
    # The query job, ending after the cancel, sees it: no concurrent update logged.
    assert not LOGGED_ERROR.search(text), "\n".join(
        line for line in text.splitlines() if LOGGED_ERROR.search(line))[-3000:]
    form = srv.json2(V, "read", ids=[vid], fields=["refresh_state", "row_count",
                                                   "current_snapshot_id"], **manager)[0]
    assert (form["refresh_state"], form["row_count"], form["current_snapshot_id"]) == (
        "idle", 0, False), form
    assert _snapshot(srv, sid, manager)["state"] == "failed"
    assert srv.json2("x_dbx_mgr_api", "search_count", domain=[], **manager) == 0
    # A refresh after the cancel works as usual.
    form = _refresh(srv, vid, manager)
    assert (form["refresh_state"], form["row_count"]) == ("idle", 4), form


def test_a_manager_stops_and_starts_the_warehouse(srv, lake, api, manager):
    server, ws = api
    action = srv.json2(WS, "action_test_connection", ids=[ws], **manager)
    assert action["params"]["type"] == "success", action
    assert "local-warehouse" in action["params"]["message"] or "RUNNING" in (
        action["params"]["message"]), action
    assert _warehouse(srv, ws, USER) == "RUNNING"  # the User's "Refresh" of the state
    _access_error(lambda: srv.json2(WS, "action_stop_warehouse", ids=[ws], **USER))
    assert srv.json2(WS, "action_stop_warehouse", ids=[ws], **manager) is True
    state = srv.json2(WS, "read", ids=[ws], fields=["warehouse_state"], **manager)[0]
    assert state["warehouse_state"] in ("STOPPING", "STOPPED"), state
    _wait_warehouse(srv, ws, manager, "STOPPED")
    _access_error(lambda: srv.json2(WS, "action_start_warehouse", ids=[ws], **USER))
    assert srv.json2(WS, "action_start_warehouse", ids=[ws], **manager) is True
    state = srv.json2(WS, "read", ids=[ws], fields=["warehouse_state"], **manager)[0]
    assert state["warehouse_state"] in ("STARTING", "RUNNING"), state
    _wait_warehouse(srv, ws, USER, "RUNNING")
    # A local workspace has no warehouse: its form hides the buttons; over RPC, it says so.
    _user_error(lambda: srv.json2(WS, "action_start_warehouse", ids=[lake[1]], **manager),
                "it is a local one")


LOGGED_ERROR = re.compile(r"^\S+ \S+ \d+ (ERROR|CRITICAL) |^Traceback ", re.M)
LEFT_BEHIND = """
import json
def rows(query):
    env.cr.execute(query)
    return [list(r) for r in env.cr.fetchall()]
left = {
    "tables": rows("SELECT tablename FROM pg_tables WHERE tablename LIKE 'x\\\\_dbx%'"),
    "columns": rows("SELECT table_name, column_name FROM information_schema.columns "
                    "WHERE column_name LIKE 'x\\\\_dbx%' OR table_name LIKE 'x\\\\_dbx%'"),
    "models": rows("SELECT model FROM ir_model WHERE model LIKE 'x\\\\_dbx%'"),
    "fields": rows("SELECT model, name FROM ir_model_fields WHERE model LIKE 'x\\\\_dbx%' "
                   "OR relation LIKE 'x\\\\_dbx%' OR name LIKE 'x\\\\_dbx%'"),
    "views": rows("SELECT name FROM ir_ui_view WHERE model LIKE 'x\\\\_dbx%'"),
    "actions": rows("SELECT id FROM ir_act_window WHERE res_model LIKE 'x\\\\_dbx%'"),
    "rules": rows("SELECT r.name FROM ir_rule r LEFT JOIN ir_model m ON m.id = r.model_id "
                  "WHERE r.name LIKE 'x\\\\_dbx%' OR m.model LIKE 'x\\\\_dbx%'"),
    "access": rows("SELECT name FROM ir_model_access WHERE name LIKE 'x\\\\_dbx%'"),
    "data": rows("SELECT module, name, model FROM ir_model_data "
                 "WHERE model LIKE 'x\\\\_dbx%' OR name LIKE '%x\\\\_dbx%'"),
    "filters": rows("SELECT name, model_id FROM ir_filters WHERE model_id LIKE 'x\\\\_dbx%'"),
    "menus": env['ir.ui.menu'].search([('name', '=', 'Gone')]).ids,
    "groups": [x for x in ('databricks_group_user', 'databricks_group_manager')
               if env.ref('ipai_databricks_connector.' + x, False)],
    "state": env['ir.module.module'].search([('name', '=', 'ipai_databricks_connector')]).state,
}
print(json.dumps(left))
"""


def test_uninstall_leaves_no_generated_model_table_or_menu(lake):
    """On its own server (the others keep the connector): uninstall, as from the Apps menu,
    a view's model that other records point at; nothing generated is left, and the server
    logs no error."""
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
        srv.json2(V, "action_refresh", ids=[vid])
        _wait(srv, V, vid, "refresh_state", ("idle",))
        srv.shell("env.cr.execute('CREATE TABLE x_dbx_gone__stg99 (LIKE x_dbx_gone)')")
        # What users build on a generated model: a saved favourite of its rows, and a
        # field of another model pointing at it (Settings > Technical > Fields).
        srv.json2("ir.filters", "create", vals_list=[{
            "name": "NCR sales", "model_id": "x_dbx_gone",
            "domain": "[('x_region', '=', 'NCR')]", "user_ids": [(6, 0, [2])]}])
        partner_model = srv.json2("ir.model", "search", domain=[("model", "=", "res.partner")])
        srv.json2("ir.model.fields", "create", vals_list=[{
            "model_id": partner_model[0], "name": "x_dbx_gone_id", "ttype": "many2one",
            "relation": "x_dbx_gone", "field_description": "Gone sales row",
            "state": "manual"}])
        row = srv.json2("x_dbx_gone", "search", domain=[], limit=1)
        srv.json2("res.partner", "write", ids=[3], vals={"x_dbx_gone_id": row[0]})
        module = srv.json2("ir.module.module", "search",
                           domain=[("name", "=", "ipai_databricks_connector")])
        logged = srv.log.stat().st_size
        srv.json2("ir.module.module", "button_immediate_uninstall", ids=module)
        # The registry is reloaded: the partner form reads without the dropped field.
        partner = srv.json2("res.partner", "read", ids=[3], fields=["name"])
        assert partner[0]["name"]
        with srv.log.open() as log:
            log.seek(logged)
            errors = LOGGED_ERROR.findall(log.read())
        left = srv.shell_json(LEFT_BEHIND)
        assert left == {"tables": [], "columns": [], "models": [], "fields": [], "views": [],
                        "actions": [], "rules": [], "access": [], "data": [], "filters": [],
                        "menus": [], "groups": [], "state": "uninstalled"}, left
        with srv.log.open() as log:
            log.seek(logged)
            text = log.read()
        assert not errors, "the uninstall logged errors:\n" + "\n".join(
            line for line in text.splitlines() if LOGGED_ERROR.search(line) or
            line.startswith(("  File", "    ")))[-5000:]
    finally:
        srv.stop()
