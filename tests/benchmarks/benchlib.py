"""What every benchmark needs: the PostgreSQL connection and a free loopback port."""

import os
import socket

import psycopg2

PG = {"host": os.environ.get("PGHOST", "127.0.0.1"), "port": os.environ.get("PGPORT", "5432"),
      "user": os.environ.get("IPAI_DB_USER", "odoo")}


def pg(sql):
    """Run one statement on the `postgres` database (create or drop a bench database)."""
    conn = psycopg2.connect(dbname="postgres", **PG)
    conn.autocommit = True
    with conn.cursor() as cr:
        cr.execute(sql)
    conn.close()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
