"""What every benchmark needs: the PostgreSQL connection and a free loopback port."""

import os
import sys
from pathlib import Path

import psycopg2

# The one free-port helper (tests/ports.py), shared with ./suite and the server tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ports import free_port, free_ports  # noqa: F401 (re-exported for the bench scripts)

PG = {"host": os.environ.get("PGHOST", "127.0.0.1"), "port": os.environ.get("PGPORT", "5432"),
      "user": os.environ.get("IPAI_DB_USER", "odoo")}


def pg(sql):
    """Run one statement on the `postgres` database (create or drop a bench database)."""
    conn = psycopg2.connect(dbname="postgres", **PG)
    conn.autocommit = True
    with conn.cursor() as cr:
        cr.execute(sql)
    conn.close()


