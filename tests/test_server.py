"""The suite on a real Odoo server: menus, the job runner, /json/2."""

import requests


def test_server_answers_with_the_well_architected_app(odoo_server):
    menus = odoo_server.json2(
        "ir.ui.menu", "search_read", domain=[("parent_id", "=", False)],
        fields=["name", "child_id"],
    )
    app = [m for m in menus if m["name"] == "Well-Architected"]
    assert len(app) == 1, f"one Well-Architected app expected, got {menus}"
    children = odoo_server.json2(
        "ir.ui.menu", "search_read", domain=[("parent_id", "=", app[0]["id"])], fields=["name"]
    )
    names = {c["name"] for c in children}
    assert {"Gateway", "Assessments", "Databricks"} <= names


def test_queue_job_runner_executes_a_job(odoo_server):
    uuid = odoo_server.shell_json(
        "import json\n"
        "job = env['res.partner'].with_delay(description='suite smoke job').search_count([])\n"
        "print(json.dumps(job.uuid))\n"
    )
    states = odoo_server.wait_jobs([("uuid", "=", uuid)], timeout=90)
    assert [s["state"] for s in states] == ["done"], states


def test_json2_requires_an_api_key(odoo_server):
    resp = requests.post(
        f"{odoo_server.url}/json/2/res.partner/search_count",
        json={"domain": []},
        headers={"X-Odoo-Database": odoo_server.db},
        timeout=30,
    )
    assert resp.status_code == 401
    assert odoo_server.json2("res.partner", "search_count", domain=[]) >= 1
