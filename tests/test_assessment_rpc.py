"""ipai_waf_assessment over real HTTP: create, run checks (job runner), import, export."""

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
    aid = srv.jsonrpc(M, "create", [{"name": "RPC assessment", "workload": "rpc"}],
                      login="wafuser", password="wafuser")[0]
    srv.jsonrpc(M, "action_run_checks", [aid], login="wafuser", password="wafuser")
    rec = srv.jsonrpc(M, "read", [aid], ["state", "check_total", "check_done"])[0]
    assert rec["check_total"] >= 5, "the shipped catalog has automated checks"
    srv.wait_jobs([("model_name", "=", "ipai.waf.finding")], timeout=120)
    rec = srv.jsonrpc(M, "read", [aid], ["state", "check_total", "check_done", "grade"])[0]
    assert rec["state"] == "done"
    assert rec["check_done"] == rec["check_total"]
    findings = srv.jsonrpc("ipai.waf.finding", "search_read",
                           [("assessment_id", "=", aid), ("source", "=", "automated")],
                           ["status", "evidence"])
    assert len(findings) == rec["check_total"]
    assert all(f["evidence"] for f in findings)
    card = srv.jsonrpc(M, "export_scorecard", [aid], login="wafuser", password="wafuser")
    assert card["assessment"]["id"] == aid
    assert card["schema_version"] == "1.0"
    assert card["content_hash"]
    assert {f["source"] for f in card["findings"]} == {"automated"}


def test_import_report_over_rpc(srv):
    result = srv.jsonrpc(M, "import_report", "RPC import", REPORT, "markdown",
                         login="wafuser", password="wafuser")
    assert set(result) == {"id", "warnings"}
    assert any("RPC warp drive" in w for w in result["warnings"])
    scores = srv.jsonrpc("ipai.waf.pillar.score", "search_read",
                         [("assessment_id", "=", result["id"]), ("override_score", "=", 81)],
                         ["override_justification", "computed_score", "score"])
    assert len(scores) == 1
    assert "line 3" in scores[0]["override_justification"]
    card = srv.json2(M, "export_scorecard", ids=[result["id"]])
    assert len(card["findings"]) == 2


def test_plain_user_is_refused(srv):
    with pytest.raises(RpcError):
        srv.jsonrpc(M, "search_read", [], ["name"], login="wafplain", password="wafplain")
