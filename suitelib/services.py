# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""The machine's services and tools: PostgreSQL, Debian packages, the vault key file,
free ports."""

import importlib.util
import json
import os
import secrets
import shutil
import subprocess
from base64 import urlsafe_b64encode

from .common import (
    DB_HOST,
    DB_PASSWORD,
    DB_PORT,
    DB_USER,
    REPO,
    VAULT_FILE,
    VPY,
    die,
    say,
    sh,
)


def _pg(sql, user=None, dbname="postgres", fetch=False):
    """Run SQL through psycopg2 from the venv; returns (ok, output)."""
    code = (
        "import sys, json, psycopg2\n"
        "kw = json.loads(sys.argv[1])\n"
        "try:\n"
        "    c = psycopg2.connect(**kw); c.autocommit = True\n"
        "except psycopg2.OperationalError as e:\n"
        "    print(str(e).strip()); sys.exit(2)\n"
        "cur = c.cursor(); cur.execute(sys.argv[2])\n"
        "print(json.dumps(cur.fetchall() if cur.description else []))\n"
    )
    kw = {"host": DB_HOST, "port": DB_PORT, "user": user or DB_USER, "dbname": dbname}
    if DB_PASSWORD and not user:
        kw["password"] = DB_PASSWORD
    res = subprocess.run(
        [str(VPY), "-c", code, json.dumps(kw), sql], capture_output=True, text=True, check=False
    )
    if res.returncode == 2:
        return False, res.stdout.strip()
    if res.returncode:
        die(f"PostgreSQL error: {res.stderr.strip().splitlines()[-1]}")
    return True, json.loads(res.stdout) if fetch else res.stdout

def ensure_postgres():
    ok, out = _pg("select 1")
    if ok:
        return
    if "does not exist" in out and "role" in out:
        # Odoo refuses to run as `postgres`; create a dedicated role once.
        for admin in ("postgres", os.environ.get("USER") or "root"):
            ok2, _ = _pg(f'CREATE ROLE "{DB_USER}" LOGIN CREATEDB', user=admin)
            if ok2:
                say(f"created PostgreSQL role {DB_USER!r} (LOGIN CREATEDB) as {admin!r}")
                return
        die(
            f"PostgreSQL role {DB_USER!r} does not exist and could not be created.\n"
            f"  Create it once:  sudo -u postgres createuser --createdb {DB_USER}\n"
            "  or set IPAI_DB_USER / IPAI_DB_PASSWORD to an existing role."
        )
    die(
        f"PostgreSQL is not reachable at {DB_HOST}:{DB_PORT} as {DB_USER!r}:\n  {out}\n"
        "  Start PostgreSQL, or set PGHOST / PGPORT / IPAI_DB_USER / IPAI_DB_PASSWORD."
    )

def db_exists(name):
    _, rows = _pg(f"select 1 from pg_database where datname = '{name}'", fetch=True)
    return bool(rows)

def drop_dbs(prefix):
    _, rows = _pg(
        f"select datname from pg_database where datname like '{prefix}%'", fetch=True
    )
    for (name,) in rows:
        _pg(
            "select pg_terminate_backend(pid) from pg_stat_activity "
            f"where datname = '{name}' and pid <> pg_backend_pid()"
        )
        _pg(f'DROP DATABASE IF EXISTS "{name}"')
    return [r[0] for r in rows]

def ensure_vault_keys(force_file=False):
    """Create the credential-vault key file once, outside the database."""
    if os.environ.get("IPAI_VAULT_KEYS") and not force_file:
        return None
    if not VAULT_FILE.exists():
        VAULT_FILE.parent.mkdir(parents=True, exist_ok=True)
        key = urlsafe_b64encode(secrets.token_bytes(32)).decode()
        fd = os.open(VAULT_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key + "\n")
        say(f"created the credential-vault key file {VAULT_FILE} (mode 0600).")
        say("BACK IT UP: without it the secrets stored in the database cannot be decrypted.")
    return VAULT_FILE

def _apt_install(packages, why):
    """Install Debian packages as root: `apt-get update` first, then the packages."""
    say(f"installing Debian's {' '.join(packages)} {why}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    sh(["apt-get", "update", "-qq"], env=env, stdout=subprocess.DEVNULL)
    sh(["apt-get", "install", "-y", "-qq", *packages], env=env, stdout=subprocess.DEVNULL)

def _can_apt():
    return os.geteuid() == 0 and shutil.which("apt-get")

def ensure_browser():
    """Odoo's tours need Chromium; without it they are skipped silently."""
    if any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")):
        return
    if _can_apt():
        _apt_install(["chromium"], "for the browser tours")
        return
    die(
        "Chromium is needed for the browser tours and is not installed.\n"
        "  Debian/Ubuntu: sudo apt-get install chromium"
    )

# binary -> the Debian package that ships it
PDF_TOOLS = {"wkhtmltopdf": "wkhtmltopdf", "pdftotext": "poppler-utils"}

def ensure_pdf_tools(required=True):
    """Odoo prints its PDF reports (the assessment report) with wkhtmltopdf; the
    report test reads the PDF back with pdftotext from poppler-utils.

    Debian's wkhtmltopdf (0.12.6, unpatched Qt) prints one document per call,
    which is how the assessment report is printed; it needs no X server.
    """
    missing = [pkg for binary, pkg in PDF_TOOLS.items() if not shutil.which(binary)]
    if not missing:
        return
    if _can_apt():
        _apt_install(missing, "for PDF reports")
        return
    msg = (
        f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed: "
        "Odoo cannot print PDF reports without wkhtmltopdf, and the report test reads "
        "them with pdftotext.\n"
        f"  Debian/Ubuntu: sudo apt-get install {' '.join(missing)}"
    )
    if required:
        die(msg)
    say("WARNING: " + msg)

def _ports_module():
    """tests/ports.py, the one free-port helper the tests, benchmarks and this script share."""
    spec = importlib.util.spec_from_file_location("ipai_ports", REPO / "tests" / "ports.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

def free_ports(count):
    return _ports_module().free_ports(count)
