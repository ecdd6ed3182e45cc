"""ipai_waf_assessment over real HTTP (/json/2 with API keys): create, run checks (job
runner), import, export."""

import pytest
from conftest import RpcError

REPORT = """# RPC workload

## Reliability (Score: 81/100)

| Component | Status | Evidence |
|---|---|---|
| RPC flux capacitor | ✅ Implemented | evidence A |
| RPC warp drive | ❌ Missing | none |
"""

M = "ipai.waf.assessment"


@pytest.fixture(scope="module")
def srv(odoo_server):
    odoo_server.create_user("wafuser", ["ipai_waf_assessment.assessment_group_user"])
    odoo_server.create_user("wafplain", [])
    return odoo_server


def test_create_run_checks_and_export(srv):
    (aid,) = srv.json2(M, "create", vals_list=[{"name": "RPC assessment", "workload": "rpc"}],
                       login="wafuser")
    srv.json2(M, "action_run_checks", ids=[aid], login="wafuser")
    rec = srv.json2(M, "read", ids=[aid], fields=["state", "check_total", "check_done"])[0]
    assert rec["check_total"] >= 5, "the shipped catalog has automated checks"
    srv.wait_jobs([("model_name", "=", "ipai.waf.finding")], timeout=120)
    rec = srv.json2(M, "read", ids=[aid],
                    fields=["state", "check_total", "check_done", "grade"])[0]
    assert rec["state"] == "done"
    assert rec["check_done"] == rec["check_total"]
    findings = srv.json2("ipai.waf.finding", "search_read",
                         domain=[("assessment_id", "=", aid), ("source", "=", "automated")],
                         fields=["status", "evidence"])
    assert len(findings) == rec["check_total"]
    assert all(f["evidence"] for f in findings)
    card = srv.json2(M, "export_scorecard", ids=[aid], login="wafuser")
    assert card["assessment"]["id"] == aid
    assert card["schema_version"] == "1.0"
    assert card["content_hash"]
    assert {f["source"] for f in card["findings"]} == {"automated"}


def test_import_report_over_the_documented_jsonrpc_call(srv):
    """/jsonrpc on purpose: the readme's `execute_kw` example (positional arguments,
    login and password), deprecated in Odoo 19 but still what older clients send."""
    result = srv.jsonrpc(M, "import_report", "RPC import", REPORT, "markdown",
                         login="wafuser", password="wafuser")
    assert set(result) == {"id", "warnings"}
    assert any("RPC warp drive" in w for w in result["warnings"])
    scores = srv.json2("ipai.waf.pillar.score", "search_read",
                       domain=[("assessment_id", "=", result["id"]), ("override_score", "=", 81)],
                       fields=["override_justification", "computed_score", "score"])
    assert len(scores) == 1
    assert "line 3" in scores[0]["override_justification"]
    card = srv.json2(M, "export_scorecard", ids=[result["id"]])
    assert len(card["findings"]) == 2


def test_plain_user_is_refused(srv):
    with pytest.raises(RpcError) as err:
        srv.json2(M, "search_read", domain=[], fields=["name"], login="wafplain")
    assert (err.value.status, err.value.name) == (403, "odoo.exceptions.AccessError")


def test_preview_then_import_with_changes_as_an_assessment_user(srv):
    report = REPORT.replace("RPC flux capacitor", "RPC preview capacitor").replace(
        "RPC warp drive", "RPC preview drive")
    before = srv.json2(M, "search_count", domain=[])
    plan = srv.json2(M, "preview_report", content=report, fmt="markdown", login="wafuser")
    assert srv.json2(M, "search_count", domain=[]) == before, "a preview writes nothing"
    rows = {r["component"]: r for r in plan["findings"]}
    assert set(rows) == {"RPC preview capacitor", "RPC preview drive"}
    assert rows["RPC preview drive"]["action"] == "create"
    assert rows["RPC preview drive"]["pillar"] == "Reliability"
    assert plan["stated"]["pillars"] == [
        {"pillar_id": rows["RPC preview drive"]["pillar_id"], "pillar": "Reliability",
         "score": 81.0, "line": 3}]
    backups = srv.json2("ipai.waf.control", "search", domain=[("code", "=", "AZ-REL-01")],
                        login="wafuser")[0]
    changes = {"findings": [
        {"key": rows["RPC preview capacitor"]["key"], "action": "match",
         "control_id": backups},
        {"key": rows["RPC preview drive"]["key"], "action": "skip"},
    ]}
    result = srv.json2(M, "import_report", name="RPC changed", content=report,
                       fmt="markdown", plan=changes, login="wafuser")
    findings = srv.json2("ipai.waf.finding", "search_read",
                         domain=[("assessment_id", "=", result["id"])],
                         fields=["control_id", "status", "evidence"], login="wafuser")
    assert [(f["control_id"][0], f["status"]) for f in findings] == [(backups, "implemented")]
    assert any("RPC preview drive not imported (skipped by the assessor)" in w
               for w in result["warnings"])
    assert not srv.json2("ipai.waf.control", "search_count",
                         domain=[("name", "like", "RPC preview")])
    # the catalog control was used, never changed
    control = srv.json2("ipai.waf.control", "read", ids=[backups],
                        fields=["name", "company_id"])[0]
    assert (control["name"], control["company_id"]) == (
        "Backups with point-in-time restore", False)


def test_import_creates_controls_of_the_users_company_only(srv):
    report = REPORT.replace("RPC warp drive", "RPC hyperdrive")
    result = srv.json2(M, "import_report", name="RPC company", content=report,
                       fmt="markdown", login="wafuser")
    created = srv.json2("ipai.waf.control", "search_read",
                        domain=[("name", "=", "RPC hyperdrive")], fields=["company_id", "code"])
    assert len(created) == 1 and created[0]["company_id"], created
    assert created[0]["code"].startswith("IMP-RPC-HYPERDRIVE-")
    assert any("created as control" in w for w in result["warnings"])


def test_bad_input_is_a_clear_error_over_rpc(srv):
    before = srv.json2(M, "search_count", domain=[])
    for content, fmt, message in (
        ("", "markdown", "expected a Markdown assessment report"),
        ("no report here", "markdown", "nothing recognisable"),
        ("[" * 20000 + "]" * 20000, "aws_lens", "nested too deeply"),
    ):
        with pytest.raises(RpcError, match=message) as err:
            srv.json2(M, "import_report", name="bad", content=content, fmt=fmt,
                      login="wafuser")
        assert (err.value.status, err.value.name) == (422, "odoo.exceptions.UserError")
        with pytest.raises(RpcError, match=message) as err:
            srv.json2(M, "preview_report", content=content, fmt=fmt, login="wafuser")
        assert (err.value.status, err.value.name) == (422, "odoo.exceptions.UserError")
    assert srv.json2(M, "search_count", domain=[]) == before


def _evidence_of_a_checked_assessment(srv, login):
    (aid,) = srv.json2(M, "create", vals_list=[{"name": "Evidence scope", "workload": "scope"}],
                       login=login)
    srv.json2(M, "action_run_checks", ids=[aid], login=login)
    srv.wait_jobs([("model_name", "=", "ipai.waf.finding")], timeout=120)
    findings = srv.json2("ipai.waf.finding", "search_read",
                         domain=[("assessment_id", "=", aid), ("source", "=", "automated")],
                         fields=["evidence"], login=login)
    assert findings
    return " | ".join(f["evidence"] or "" for f in findings)


def test_check_evidence_covers_only_the_assessments_company(srv):
    """Checks read under sudo: another company's services and views must not leak."""
    srv.shell(
        "env['ipai.gateway.service'].create({'name': 'Main Co Secret Service',\n"
        "    'code': 'waf_main_secret', 'base_url': 'https://main.example', 'auth_type': "
        "'bearer', 'company_id': env.ref('base.main_company').id})\n"
        "ws = env['ipai.databricks.workspace'].create({'name': 'Main lake', "
        "'backend': 'local', 'company_id': env.ref('base.main_company').id})\n"
        "env['ipai.databricks.view'].create({'name': 'Main Co Secret View', 'code': "
        "'main_secret_view', 'workspace_id': ws.id, 'source': 'a.b.c', 'schedule': 'manual'})\n"
        "co = env['res.company'].create({'name': 'WAF Other Company'})\n"
        "env['res.users'].with_context(no_reset_password=True).create({\n"
        "    'name': 'WAF Other', 'login': 'wafother', 'password': 'wafother',\n"
        "    'company_id': co.id, 'company_ids': [(6, 0, [co.id])],\n"
        "    'group_ids': [(6, 0, [env.ref('base.group_user').id,\n"
        "        env.ref('ipai_waf_assessment.assessment_group_user').id])]})\n")
    mine = _evidence_of_a_checked_assessment(srv, "wafuser")
    assert "Main Co Secret Service" in mine and "Main Co Secret View" in mine  # a sound probe
    other = _evidence_of_a_checked_assessment(srv, "wafother")
    assert "Main Co Secret Service" not in other
    assert "Main Co Secret View" not in other
