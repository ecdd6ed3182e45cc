"""Test runs and benchmarks never take a port a running Odoo holds (8069, 8072)."""

import ast
import socket
from pathlib import Path

from ports import free_port, free_ports

REPO = Path(__file__).resolve().parents[1]


def test_free_ports_are_distinct_and_bindable_even_beside_a_running_odoo():
    # Hold Odoo's default ports as a `./suite run` does, when they are free here.
    held = []
    for port in (8069, 8072):
        sock = socket.socket()
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
            held.append(sock)
        except OSError:  # something already listens there: just as good
            sock.close()
    try:
        ports = free_ports(6) + [free_port()]
        assert len(set(ports[:6])) == 6
        assert not {8069, 8072} & set(ports)
        for port in ports:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", port))
    finally:
        for sock in held:
            sock.close()


def _string_args(node):
    for elt in node.elts:
        if isinstance(elt, ast.Constant) and isinstance(elt.value, str):
            yield elt.value
        elif isinstance(elt, ast.JoinedStr):
            yield "".join(v.value for v in elt.values if isinstance(v, ast.Constant))


def test_every_odoo_a_benchmark_or_test_run_serves_with_has_free_http_and_gevent_ports():
    """An Odoo started with HTTP gets both ports from free_ports: the gevent port too
    (a bench once crashed on 8072 while `./suite run` was up)."""
    files = sorted((REPO / "tests" / "benchmarks").glob("bench_*.py"))
    files += [REPO / "tests" / "conftest.py", REPO / "suite"]
    files += sorted((REPO / "suitelib").glob("*.py"))
    servers = 0
    for path in files:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.List):
                continue
            args = list(_string_args(node))
            # command lines everywhere; conf lines in the server fixture (./suite run's own
            # configuration keeps Odoo's default ports on purpose)
            http = ("--http-port=", "http_port = ") if path.name == "conftest.py" else (
                "--http-port=",)
            if not any(a.startswith(http) for a in args):
                continue
            servers += 1
            assert any(a.startswith(("--gevent-port=", "gevent_port = ")) for a in args), (
                f"{path.name}:{node.lineno}: an Odoo with a free HTTP port but the default "
                "gevent port 8072")
        text = path.read_text()
        assert "socket.socket()" not in text or path.name == "ports.py", (
            f"{path.name}: picks ports itself; use tests/ports.py")
    assert servers >= 3  # the assessment bench, the server fixture, ./suite's test runner
