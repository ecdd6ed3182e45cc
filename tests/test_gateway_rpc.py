"""The gateway over real HTTP: /json/2 with API keys (and the documented /jsonrpc call),
the job runner, /ipai/health."""

import base64
import importlib.util
import json
import time
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
            result = gateway.json2("ipai.gateway", "call", service_code="rpc_echo",
                                   method="GET", path=trick, login="gwuser")
        except RpcError as err:
            assert "nothing was sent" in str(err).lower(), (trick, err)
            assert err.status == 422 and err.name.endswith(".GatewayHostRefused"), err.data
            refused += 1
        else:  # taken as a path: it reached the service's own host
            assert result["status"] == 200, trick
    # Nor may a caller name the host in a header (issue 9, item 17).
    for name in ("Host", "host", " HOST"):
        with pytest.raises(RpcError) as err:
            gateway.json2("ipai.gateway", "call", service_code="rpc_echo", method="GET",
                          path="/x", headers={name: other}, login="gwuser")
        assert "may not set the header" in str(err.value)
        assert err.value.status == 422
    assert elsewhere.count() == 0
    assert refused >= 10
    logs = gateway.json2("ipai.gateway.call.log", "search_read",
                         domain=[("outcome", "=", "refused")], fields=["host", "path"],
                         login="gwuser")
    assert logs and all(other not in (log["host"] or "") for log in logs)


def _logs(gateway, domain, login="admin", **kwargs):
    """The call-log rows of ``domain``. A success is written by the calling worker's log
    writer about half a second after the call (not by the caller's commit), and the
    search may reach the other worker: wait for it, a few seconds at most."""
    deadline = time.monotonic() + 5
    while True:
        rows = gateway.json2("ipai.gateway.call.log", "search_read", domain=domain,
                             login=login, **kwargs)
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def test_a_gateway_user_calls_a_service_over_jsonrpc(gateway, fault):
    """/jsonrpc on purpose: `object.execute_kw` with a login and password is the
    external-client contract the readme documents beside /json/2 (deprecated in Odoo 19,
    still what older clients send)."""
    result = gateway.jsonrpc("ipai.gateway", "call", "rpc_echo", "GET", "/hello",
                             login="gwuser", password="gwuser")
    assert result["status"] == 200
    assert result["json"]["path"] == "/hello"
    assert result["correlation_id"] == result["json"]["headers"]["X-Request-ID"]
    logs = _logs(gateway, [("correlation_id", "=", result["correlation_id"])],
                 fields=["outcome", "path", "host", "user_id"], login="gwuser")
    assert [(log["outcome"], log["path"], log["host"]) for log in logs] == [
        ("success", "/hello", fault.url)]


def test_json2_call_with_an_api_key(gateway):
    key = gateway.api_key("gwuser")  # a key of its own, as a client makes one
    result = gateway.json2("ipai.gateway", "call", api_key=key, service_code="rpc_echo",
                           method="POST", path="/items", json={"n": 1})
    assert result["status"] == 200
    assert json.loads(result["json"]["body"]) == {"n": 1}


def test_a_plain_user_is_refused(gateway):
    with pytest.raises(RpcError) as err:
        gateway.json2("ipai.gateway", "call", service_code="rpc_echo", method="GET", path="/x",
                      login="gwplain")
    assert "Gateway Users" in str(err.value)
    assert (err.value.status, err.value.name) == (403, "odoo.exceptions.AccessError")


def test_no_rpc_answer_contains_the_secret(gateway):
    rows = gateway.json2("ipai.gateway.service", "search_read",
                         domain=[("code", "=", "rpc_echo")])
    assert rows and rows[0]["token"] is False and rows[0]["has_secret"] is True
    assert SECRET not in json.dumps(rows)
    exported = gateway.json2("ipai.gateway.service", "export_data", ids=[rows[0]["id"]],
                             fields_to_export=["name", "token"])
    assert exported["datas"] and SECRET not in json.dumps(exported)
    result = gateway.json2("ipai.gateway", "call", service_code="rpc_echo", method="GET",
                           path=f"/q?api_key={SECRET}")
    logs = _logs(gateway, [("correlation_id", "=", result["correlation_id"])])
    assert logs and SECRET not in json.dumps(logs)
    with pytest.raises(RpcError) as err:
        gateway.json2("ipai.gateway.secret", "search_read", domain=[])
    assert (err.value.status, err.value.name) == (403, "odoo.exceptions.AccessError")


def test_call_async_runs_through_the_job_runner(gateway, fault):
    before = fault.count()
    uuid = gateway.json2("ipai.gateway", "call_async", service_code="rpc_echo", method="GET",
                         path="/later", login="gwuser")
    states = gateway.wait_jobs([("uuid", "=", uuid)], timeout=90)
    assert [s["state"] for s in states] == ["done"]
    # (the health-check cron may probe the same server meanwhile)
    assert [r["path"] for r in fault.requests[before:] if r["path"] != "/health"] == ["/later"]
    logs = _logs(gateway, [("job_uuid", "=", uuid)], fields=["outcome"])
    assert [log["outcome"] for log in logs] == ["success"]


def _session_login(server, login, password):
    """A browser-like session (cookie) logged in as ``login``."""
    session = requests.Session()
    resp = session.post(f"{server.url}/web/session/authenticate", json={
        "jsonrpc": "2.0", "method": "call",
        "params": {"db": server.db, "login": login, "password": password}}, timeout=60)
    resp.raise_for_status()
    assert resp.json().get("result", {}).get("uid"), resp.text
    return session


def test_health_details_need_a_manager_and_anonymous_callers_get_the_status(gateway, fault):
    resp = requests.get(f"{gateway.url}/ipai/health", timeout=30)
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok"}
    as_user = _session_login(gateway, "gwuser", "gwuser").get(
        f"{gateway.url}/ipai/health", timeout=30)
    assert as_user.json() == {"status": "ok"}
    resp = _session_login(gateway, "admin", "admin").get(f"{gateway.url}/ipai/health",
                                                         timeout=30)
    body = resp.json()
    assert body["database"] is True
    assert body["version"].startswith("19.0.")
    assert set(body["breakers"]) == {"closed", "open", "half_open"}
    assert body["breakers"]["closed"] >= 1
    assert "recent_jobs" in body["queue_job_runner"]
    text = resp.text
    assert SECRET not in text and str(fault.port) not in text and "http" not in text


def _create_service(server, code, url, **vals):
    """A service without health path: the health-check cron leaves its server alone."""
    values = {"name": code, "code": code, "base_url": url, "connect_timeout": 2,
              "read_timeout": 5, "health_path": False, **vals}
    return server.shell_json(
        "import json\n"
        f"print(json.dumps(env['ipai.gateway.service'].create({values!r}).id))\n")


def test_a_hanging_post_peer_receives_one_request_per_job(gateway):
    """call_async, through the real job runner: a POST without idempotency key that
    timed out is not sent again, by a retry or by a manual requeue."""
    with FaultServer(default={"hang": 4}) as hanging:
        _create_service(gateway, "rpc_hang_post", hanging.url, read_timeout=1,
                        retry_max_attempts=3, breaker_failure_threshold=50)
        uuids = [gateway.json2("ipai.gateway", "call_async", service_code="rpc_hang_post",
                               method="POST", path=f"/orders/{n}", json={"n": n},
                               login="gwuser") for n in range(2)]
        states = gateway.wait_jobs([("uuid", "in", uuids)], timeout=90)
        assert [s["state"] for s in states] == ["failed", "failed"]
        assert hanging.count() == 2
        jobs = gateway.json2("queue.job", "search_read", domain=[("uuid", "in", uuids)],
                             fields=["exc_message", "func_string", "uuid"])
        for job in jobs:
            assert "does not send it again" in job["exc_message"], job
            assert "/orders" not in job["func_string"] and '"n"' not in job["func_string"]
        # The operator requeues them: still nothing is sent twice.
        gateway.json2("queue.job", "requeue", ids=[job["id"] for job in jobs])
        states = gateway.wait_jobs([("uuid", "in", uuids)], timeout=90)
        assert [s["state"] for s in states] == ["failed", "failed"]
        assert hanging.count() == 2
        assert sorted(r["path"] for r in hanging.requests) == ["/orders/0", "/orders/1"]


def test_a_hanging_service_cannot_take_the_other_services_job_slots(gateway):
    """Bulkhead, with the real job runner and 2 workers: 10 jobs to a hanging service
    (concurrency 1) and 10 to a healthy one, all in the same runner channel."""
    with FaultServer(default={"hang": 1.5}) as hanging, FaultServer() as healthy:
        _create_service(gateway, "rpc_bulk_hang", hanging.url, read_timeout=3,
                        retry_max_attempts=1, concurrency=1, breaker_failure_threshold=500)
        _create_service(gateway, "rpc_bulk_ok", healthy.url, concurrency=2)
        hang_jobs = [gateway.json2("ipai.gateway", "call_async", service_code="rpc_bulk_hang",
                                   method="GET", path=f"/slow/{n}") for n in range(10)]
        ok_jobs = [gateway.json2("ipai.gateway", "call_async", service_code="rpc_bulk_ok",
                                 method="GET", path=f"/fast/{n}") for n in range(10)]
        try:
            states = gateway.wait_jobs([("uuid", "in", ok_jobs)], timeout=120)
            assert [s["state"] for s in states] == ["done"] * 10
            waiting = gateway.json2("queue.job", "search_read",
                                    domain=[("uuid", "in", hang_jobs)], fields=["state"])
            assert not [j for j in waiting if j["state"] == "done"]
            assert healthy.count() == 10
            assert hanging.count() >= 1
            assert hanging.max_in_flight() == 1, "more jobs than its capacity ran at once"
        finally:
            # A job already started when it is cancelled may still end by postponing
            # itself (queue_job lets a running job write its own state): cancel again
            # until none is left waiting.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                ids = gateway.json2("queue.job", "search", domain=[
                    ("uuid", "in", hang_jobs),
                    ("state", "in", ["pending", "enqueued", "started", "wait_dependencies"])])
                if not ids:
                    break
                gateway.json2("queue.job", "button_cancelled", ids=ids)
                time.sleep(1)


def test_bytes_travel_as_base64_over_rpc(gateway):
    image = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    b64 = base64.b64encode(image).decode()
    with FaultServer(default={"mirror": True}) as mirror:
        _create_service(gateway, "rpc_bytes", mirror.url)
        result = gateway.json2("ipai.gateway", "call", login="gwuser",
                               service_code="rpc_bytes", method="PUT", path="/blob",
                               content_b64=b64, headers={"Content-Type": "image/png"})
        assert "content" not in result
        assert base64.b64decode(result["content_b64"]) == image
        assert mirror.requests[-1]["body"] == image
        mirror.plan({"multipart_echo": True})
        result = gateway.json2(
            "ipai.gateway", "call", service_code="rpc_bytes", method="POST", path="/ocr",
            files={"receipt": {"filename": "r.png", "content_b64": b64,
                               "content_type": "image/png"}},
            data={"lang": "en"}, login="gwuser")
        assert base64.b64decode(result["content_b64"]) == image
        assert json.loads(result["headers"]["X-Form-Fields"]) == {"lang": "en"}
