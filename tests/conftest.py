"""Server-level fixtures: a real Odoo 19 with workers and the queue_job runner.

`./suite test` runs this folder after the module tests. It exports:
- IPAI_TEST_TEMPLATE_DB: a database with the whole suite installed;
- IPAI_TEST_DB_PREFIX: the prefix of every database this run creates (the runner
  drops them all at the end);
- IPAI_TEST_ODOO_CMD: the command that starts Odoo (JSON list);
- IPAI_TEST_ADDONS_PATH, IPAI_TEST_WORKDIR; IPAI_VAULT_KEYS.
Without them these tests cannot run, and they fail (never skip) saying so.
"""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import psycopg2
import pytest
import requests
from ports import free_ports

REQUIRED = (
    "IPAI_TEST_TEMPLATE_DB",
    "IPAI_TEST_DB_PREFIX",
    "IPAI_TEST_ODOO_CMD",
    "IPAI_TEST_ADDONS_PATH",
    "IPAI_TEST_WORKDIR",
)
PG = {
    "host": os.environ.get("PGHOST", "127.0.0.1"),
    "port": os.environ.get("PGPORT", "5432"),
    "user": os.environ.get("IPAI_DB_USER", "odoo"),
}
RPC_TIMEOUT = 120  # seconds; a first request may compile assets
# `odoo shell` code making an API key for `user` (sudo: a persistent key, without
# expiration date, is beyond a plain user's rights).
NEW_KEY = (
    "key = env['res.users.apikeys'].with_user(user).sudo()._generate(None, 'tests', None)\n"
)


class RpcError(Exception):
    """An error answered by Odoo over RPC, as a client sees it: ``name`` is the
    exception's class (``odoo.exceptions.AccessError``), ``status`` the HTTP status
    (/json/2 answers 403 for an AccessError, 422 for a UserError or ValidationError;
    /jsonrpc always 200), ``data`` Odoo's whole error payload."""

    def __init__(self, message, data=None, status=None):
        super().__init__(message)
        self.data = data or {}
        self.name = self.data.get("name")
        self.status = status


class OdooServer:
    """One Odoo server process on its own copy of the installed database."""

    def __init__(self, name="srv", workers=2):
        missing = [k for k in REQUIRED if not os.environ.get(k)]
        if missing:
            raise RuntimeError(
                "server tests need the environment ./suite test sets up "
                f"(missing {', '.join(missing)}): run them with ./suite test"
            )
        self.workdir = Path(os.environ["IPAI_TEST_WORKDIR"]) / name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.db = os.environ["IPAI_TEST_DB_PREFIX"] + name
        self.template = os.environ["IPAI_TEST_TEMPLATE_DB"]
        self.cmd = json.loads(os.environ["IPAI_TEST_ODOO_CMD"])
        self.port, self.gevent_port = free_ports(2)
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.proc = None
        self.log = self.workdir / "odoo.log"
        self.conf = self.workdir / "odoo.conf"
        self._keys = {}  # login -> API key, one per user for the server's life
        self.session = requests.Session()
        self.environ = dict(os.environ)  # the server's environment

    # -- lifecycle
    def start(self):
        data_dir = Path(os.environ["IPAI_TEST_WORKDIR"]) / "data"
        conn = psycopg2.connect(dbname="postgres", **PG)
        conn.autocommit = True
        with conn.cursor() as cr:
            cr.execute(f'DROP DATABASE IF EXISTS "{self.db}"')
            cr.execute(f'CREATE DATABASE "{self.db}" TEMPLATE "{self.template}"')
        conn.close()
        src = data_dir / "filestore" / self.template
        if src.exists():
            shutil.copytree(src, data_dir / "filestore" / self.db, dirs_exist_ok=True)
        self.write_conf(data_dir)
        self.proc = subprocess.Popen(
            [*self.cmd, "-c", str(self.conf), f"--logfile={self.log}"],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=self.environ,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Odoo exited with {self.proc.returncode}; see {self.log}")
            try:
                if requests.get(f"{self.url}/web/health", timeout=5).status_code == 200:
                    return self
            except requests.RequestException:  # not listening yet, or a slow first answer
                pass
            time.sleep(0.5)
        raise RuntimeError(f"Odoo did not answer on {self.url} within 180 s; see {self.log}")

    def write_conf(self, data_dir):
        """The server's odoo.conf (a subclass may write another one)."""
        self.conf.write_text(
            "\n".join(
                [
                    "[options]",
                    f"addons_path = {os.environ['IPAI_TEST_ADDONS_PATH']}",
                    f"data_dir = {data_dir}",
                    f"db_host = {PG['host']}",
                    f"db_port = {PG['port']}",
                    f"db_user = {PG['user']}",
                    f"db_name = {self.db}",
                    f"dbfilter = ^{self.db}$",
                    "http_interface = 127.0.0.1",
                    f"http_port = {self.port}",
                    f"gevent_port = {self.gevent_port}",
                    f"workers = {self.workers}",
                    "max_cron_threads = 1",
                    "server_wide_modules = web,queue_job",
                    "list_db = False",
                    "log_level = info",
                    "",
                    "[queue_job]",
                    "channels = root:4,root.ipai:2,root.ipai.assessment:2,root.ipai.databricks:2",
                    "",
                ]
            )
        )

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(10)

    # -- RPC
    def jsonrpc(self, model, method, *args, login="admin", password="admin", **kwargs):
        """`object.execute_kw` over the deprecated /jsonrpc (Odoo 19 logs a warning at
        each call): only for the tests of that contract; the others use ``json2``."""
        uid = self._call("common", "login", self.db, login, password)
        if not uid:
            raise RpcError(f"login failed for {login!r}")
        return self._call("object", "execute_kw", self.db, uid, password, model, method,
                          list(args), kwargs)

    def _call(self, service, method, *args):
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"service": service, "method": method, "args": list(args)},
            "id": 1,
        }
        resp = self.session.post(f"{self.url}/jsonrpc", json=payload, timeout=RPC_TIMEOUT)
        resp.raise_for_status()
        body = resp.json()
        if "error" in body:
            err = body["error"]
            data = err.get("data", {})
            raise RpcError(data.get("message") or err.get("message"), data, resp.status_code)
        return body["result"]

    def json2(self, model, method, /, api_key=None, ids=None, login="admin", **kwargs):
        """POST /json/2/<model>/<method> with a bearer API key: ``api_key``, or the
        key of ``login`` (admin by default); ``ids`` the records; ``kwargs`` the
        method's named arguments (``method=`` included). An error answer raises
        RpcError with its ``name``, ``message`` and HTTP ``status``."""
        key = api_key or self.key_of(login)
        body = dict(kwargs)
        if ids is not None:
            body["ids"] = ids
        resp = self.session.post(
            f"{self.url}/json/2/{model}/{method}",
            json=body,
            headers={"Authorization": f"bearer {key}", "X-Odoo-Database": self.db},
            timeout=RPC_TIMEOUT,
        )
        if resp.status_code != 200:
            try:
                data = resp.json()
            except ValueError:
                data = {"message": resp.text}
            raise RpcError(data.get("message") or resp.reason, data, resp.status_code)
        return resp.json()

    # -- helpers run inside Odoo
    def shell(self, code):
        """Run Python in `odoo shell` on the server database and commit."""
        script = code + "\nenv.cr.commit()\n"
        res = subprocess.run(
            [*self.cmd, "shell", "-c", str(self.conf), "--no-http", "--log-level=warn",
             "--max-cron-threads=0", "--workers=0"],
            input=script,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env=self.environ,
        )
        if res.returncode:
            raise RuntimeError(f"odoo shell failed:\n{res.stderr[-3000:]}")
        return res.stdout

    def upgrade(self, module):
        """`odoo -u module` on the server database, as an upgrade does (the running
        server reloads its registry on the next request)."""
        res = subprocess.run(
            [*self.cmd, "-c", str(self.conf), "-u", module, "--stop-after-init", "--no-http",
             "--log-level=warn", "--max-cron-threads=0", "--workers=0"],
            capture_output=True, text=True, timeout=600, check=False,
        )
        if res.returncode:
            raise RuntimeError(f"upgrade of {module} failed:\n{res.stderr[-3000:]}")

    def shell_json(self, code):
        """Run code that prints one JSON document as its last line; return it decoded."""
        out = self.shell(code).strip().splitlines()
        return json.loads(out[-1]) if out else None

    def create_user(self, login, group_xmlids=(), company_xmlid=None):
        """A user whose password is its login; its API key is made in the same shell."""
        uid, key = self.shell_json(
            "import json\n"
            f"groups = [env.ref(x).id for x in {list(group_xmlids)!r}]\n"
            "vals = {'name': %r, 'login': %r, 'password': %r,\n"
            "        'group_ids': [(6, 0, [env.ref('base.group_user').id] + groups)]}\n"
            % (login.title(), login, login)
            + (
                f"company = env.ref({company_xmlid!r})\n"
                "vals.update(company_id=company.id, company_ids=[(6, 0, [company.id])])\n"
                if company_xmlid
                else ""
            )
            + "user = env['res.users'].with_context(no_reset_password=True).create(vals)\n"
            + NEW_KEY
            + "print(json.dumps([user.id, key]))\n"
        )
        self._keys[login] = key
        return uid

    def api_key(self, login):
        """A new API key for ``login``."""
        return self.shell_json(
            "import json\n"
            f"user = env['res.users'].search([('login', '=', {login!r})])\n"
            + NEW_KEY
            + "print(json.dumps(key))\n"
        )

    def key_of(self, login):
        """The API key of ``login``, made once (each `odoo shell` takes seconds)."""
        if login not in self._keys:
            self._keys[login] = self.api_key(login)
        return self._keys[login]

    @property
    def admin_key(self):
        return self.key_of("admin")

    def wait_jobs(self, domain=None, timeout=60):
        """Wait until the job runner has finished every matching job."""
        domain = list(domain or [])
        busy = [("state", "in", ["wait_dependencies", "pending", "enqueued", "started"])]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.json2("queue.job", "search_count", domain=domain + busy):
                return self.json2("queue.job", "search_read", domain=domain,
                                  fields=["state", "name"])
            time.sleep(0.5)
        states = self.json2("queue.job", "search_read", domain=domain, fields=["state", "name"])
        raise AssertionError(f"queue jobs still running after {timeout} s: {states}")


@pytest.fixture(scope="session")
def odoo_server():
    server = OdooServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
