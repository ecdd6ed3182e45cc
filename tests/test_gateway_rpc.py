"""The gateway over real HTTP: JSON-RPC (/jsonrpc, /json/2), the job runner, /ipai/health."""

import importlib.util
import json
from pathlib import Path

import pytest
import requests
from conftest import RpcError

# The gateway's misbehaving loopback server (plain stdlib code).
_spec = importlib.util.spec_from_file_location(
    "ipai_fault_server",
    Path(__file__).resolve().parents[1] / "ipai_microservices_gateway/tests/fault_server.py",
)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
FaultServer = _module.FaultServer

SECRET = "sk-rpc-secret-value-42"


@pytest.fixture(scope="module")
def fault():
    with FaultServer(default={"echo": True}) as server:
        yield server


@pytest.fixture(scope="module")
def gateway(odoo_server, fault):
    odoo_server.shell(
        "env['ipai.gateway.service'].create({'name': 'RPC echo', 'code': 'rpc_echo',\n"
        f"    'base_url': {fault.url!r}, 'auth_type': 'bearer', 'token': {SECRET!r},\n"
        "    'connect_timeout': 2, 'read_timeout': 5})\n"
    )
    odoo_server.create_user("gwuser", ["ipai_microservices_gateway.gateway_group_user"])
    odoo_server.create_user("gwplain", [])
    return odoo_server


@pytest.fixture(scope="module")
def elsewhere():
    """Another host on loopback: no trick may make the gateway reach it."""
    with FaultServer(default={"echo": True}, host="127.0.0.2") as server:
        yield server


def test_no_trick_sends_the_token_to_another_host(gateway, fault, elsewhere):
    other = f"127.0.0.2:{elsewhere.port}"
    tricks = [
        f"http://{other}/x", f"HTTP://{other}/x", f"https://{other}/x", f"//{other}/x",
        f" //{other}/x", f"\\\\{other}/x", f"/\\{other}/x", f"\\/{other}/x",
        f"http://{other}\\@127.0.0.1:{fault.port}/x", f"http://{other}%5C@127.0.0.1/x",
        f"http:/\\{other}/x", f"@{other}/x", f"/%2F%2F{other}/x", f"..//{other}/x",
    ]
    refused = 0
    for trick in tricks:
        try:
            result = gateway.jsonrpc("ipai.gateway", "call", "rpc_echo", "GET", trick,
                                     headers={"Host": other}, login="gwuser",
                                     password="gwuser")
        except RpcError as err:
            assert "nothing was sent" in str(err), (trick, err)
            refused += 1
        else:  # taken as a path: it reached the service's own host
            assert result["status"] == 200, trick
    assert elsewhere.count() == 0
    assert refused >= 10
    logs = gateway.jsonrpc("ipai.gateway.call.log", "search_read",
                           [("outcome", "=", "refused")], fields=["host", "path"],
                           login="gwuser", password="gwuser")
    assert logs and all(other not in (log["host"] or "") for log in logs)


def test_a_gateway_user_calls_a_service_over_jsonrpc(gateway, fault):
    result = gateway.jsonrpc("ipai.gateway", "call", "rpc_echo", "GET", "/hello",
                             login="gwuser", password="gwuser")
    assert result["status"] == 200
    assert result["json"]["path"] == "/hello"
    assert result["correlation_id"] == result["json"]["headers"]["X-Request-ID"]
    logs = gateway.jsonrpc("ipai.gateway.call.log", "search_read",
                           [("correlation_id", "=", result["correlation_id"])],
                           fields=["outcome", "path", "host", "user_id"], login="gwuser",
                           password="gwuser")
    assert [(log["outcome"], log["path"], log["host"]) for log in logs] == [
        ("success", "/hello", fault.url)]


def test_json2_call_with_an_api_key(gateway):
    key = gateway.api_key("gwuser")
    result = gateway.json2("ipai.gateway", "call", api_key=key, service_code="rpc_echo",
                           method="POST", path="/items", json={"n": 1})
    assert result["status"] == 200
    assert json.loads(result["json"]["body"]) == {"n": 1}


def test_a_plain_user_is_refused(gateway):
    with pytest.raises(RpcError) as err:
        gateway.jsonrpc("ipai.gateway", "call", "rpc_echo", "GET", "/x",
                        login="gwplain", password="gwplain")
    assert "Gateway Users" in str(err.value)


def test_no_rpc_answer_contains_the_secret(gateway):
    rows = gateway.jsonrpc("ipai.gateway.service", "search_read", [("code", "=", "rpc_echo")])
    assert rows and rows[0]["token"] is False and rows[0]["has_secret"] is True
    assert SECRET not in json.dumps(rows)
    exported = gateway.jsonrpc("ipai.gateway.service", "export_data",
                               [rows[0]["id"]], ["name", "token"])
    assert SECRET not in json.dumps(exported)
    result = gateway.jsonrpc("ipai.gateway", "call", "rpc_echo", "GET", f"/q?api_key={SECRET}")
    logs = gateway.jsonrpc("ipai.gateway.call.log", "search_read",
                           [("correlation_id", "=", result["correlation_id"])])
    assert SECRET not in json.dumps(logs)
    with pytest.raises(RpcError):
        gateway.jsonrpc("ipai.gateway.secret", "search_read", [])


def test_call_async_runs_through_the_job_runner(gateway, fault):
    before = fault.count()
    uuid = gateway.jsonrpc("ipai.gateway", "call_async", "rpc_echo", "GET", "/later",
                           login="gwuser", password="gwuser")
    states = gateway.wait_jobs([("uuid", "=", uuid)], timeout=90)
    assert [s["state"] for s in states] == ["done"]
    assert fault.count() == before + 1
    logs = gateway.jsonrpc("ipai.gateway.call.log", "search_read", [("job_uuid", "=", uuid)],
                           fields=["outcome"])
    assert [log["outcome"] for log in logs] == ["success"]


def test_public_health_endpoint_reveals_no_url_or_secret(gateway, fault):
    resp = requests.get(f"{gateway.url}/ipai/health", timeout=30)
    assert resp.status_code == 200
    body = resp.json()
    assert body["database"] is True
    assert body["version"].startswith("19.0.")
    assert set(body["breakers"]) == {"closed", "open", "half_open"}
    assert body["breakers"]["closed"] >= 1
    assert "recent_jobs" in body["queue_job_runner"]
    text = resp.text
    assert SECRET not in text and str(fault.port) not in text and "http" not in text
