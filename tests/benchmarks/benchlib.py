"""What every benchmark needs: the PostgreSQL connection, a free loopback port, and a
throwaway database with the bench's modules installed, opened in this process."""

import json
import os
import shutil
import subprocess
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


def odoo_setup(tag):
    """The Odoo command ./suite gives, a database ``ipai_bench_<tag>_<pid>``, its data
    directory, and the options every Odoo of the bench shares (addons, PostgreSQL, data)."""
    odoo_cmd = json.loads(os.environ["IPAI_TEST_ODOO_CMD"])
    addons = os.environ["IPAI_TEST_ADDONS_PATH"]
    db = f"ipai_bench_{tag}_{os.getpid()}"
    data_dir = f"/tmp/{db}"
    common = [f"--addons-path={addons}", f"--db_host={PG['host']}", f"--db_port={PG['port']}",
              f"--db_user={PG['user']}", f"--data-dir={data_dir}",
              "--http-interface=127.0.0.1"]  # loopback only (and Odoo 19 warns without it)
    return odoo_cmd, db, data_dir, common


def install(odoo_cmd, common, db, modules):
    """Create ``db`` with ``modules`` installed (a one-off Odoo, no HTTP)."""
    print(f"installing {', '.join(modules)} in {db} ...", flush=True)
    subprocess.run([*odoo_cmd, *common, "-d", db, "-i", ",".join(modules),
                    "--stop-after-init", "--log-level=warn", "--no-http"], check=True)


def open_registry(db, common):
    """Odoo configured like the bench's servers, and the registry of ``db``."""
    from odoo.modules.registry import Registry  # noqa: PLC0415 - Odoo is set up first
    from odoo.tools import config  # noqa: PLC0415

    config.parse_config([*common, "-d", db, "--log-level=warn"], setup_logging=True)
    return Registry(db)


def drop(db, *dirs):
    """Drop the bench database and remove the bench's directories (data, lakehouse)."""
    pg(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    for path in dirs:
        shutil.rmtree(path, ignore_errors=True)
