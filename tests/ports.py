"""Free loopback ports: the one helper ./suite, the server tests and the benchmarks share.

Odoo listens on two ports (HTTP and gevent, 8069 and 8072 by default); a second Odoo on
the machine (`./suite run`, another test run) must not collide with either. The sockets
stay bound until every port is picked, so one call never returns the same port twice.
Plain standard library: ./suite loads this file before its virtualenv exists.
"""

import socket


def free_ports(count):
    """`count` distinct TCP ports free on 127.0.0.1 right now."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket()
            socks.append(sock)
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def free_port():
    """One free TCP port on 127.0.0.1."""
    return free_ports(1)[0]
