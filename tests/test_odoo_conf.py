"""The odoo.conf that ./suite writes starts Odoo without a single warning.

Odoo 19 warns at every start about an `[options]` entry it does not know
(`ipai_vault_keys_file`) and about a non-boolean option reading `False`
(`db_password = False`). The suite writes neither: the vault key file is named in an
`[ipai_vault]` section, which the gateway reads as queue_job reads `[queue_job]`.
"""

import importlib.machinery
import importlib.util
import json
import os
import re
from pathlib import Path

from conftest import OdooServer
from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parents[1]
LOG_PROBLEM = re.compile(r"^\S+ \S+ \d+ (WARNING|ERROR|CRITICAL) ", re.M)


def _suite_module():
    loader = importlib.machinery.SourceFileLoader("ipai_suite_script", str(REPO / "suite"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


class SuiteConfServer(OdooServer):
    """Odoo started with the configuration `./suite run` writes (workers, cron, job
    runner), its vault key read from the key file only: no IPAI_VAULT_KEYS."""

    def __init__(self, name):
        super().__init__(name, workers=2)
        self.key = Fernet.generate_key().decode()
        self.key_file = self.workdir / "vault.keys"
        self.key_file.write_text(self.key + "\n")
        self.key_file.chmod(0o600)
        self.environ.pop("IPAI_VAULT_KEYS", None)
        self.environ.pop("IPAI_VAULT_KEYS_FILE", None)

    def write_conf(self, data_dir):
        suite = _suite_module()
        cmd = json.loads(os.environ["IPAI_TEST_ODOO_CMD"])
        root = Path(cmd[-1]).parent if cmd[-1].endswith("odoo-bin") else None
        # As cmd_run calls it (its vault file argument included).
        suite.write_conf(self.conf, root, db=self.db, http_port=self.port, workers=2,
                         data_dir=data_dir, extra=[f"gevent_port = {self.gevent_port}",
                                                   f"ipai_vault_keys_file = {self.key_file}"])
        assert suite.addons_path(root) == os.environ["IPAI_TEST_ADDONS_PATH"]


def test_a_start_with_the_generated_configuration_logs_no_warning():
    server = SuiteConfServer("conf")
    server.start()
    try:
        text = server.conf.read_text()
        assert "db_password" not in text  # the test role has no password
        assert "ipai_vault_keys_file" not in text
        assert f"[ipai_vault]\nkeys_file = {server.key_file}\n" in text
        # The web client's first page, and a secret written with the file's key over
        # /json/2 (the deprecated /jsonrpc logs a warning of its own at each call).
        server.session.get(f"{server.url}/web/login", timeout=60).raise_for_status()
        (service_id,) = server.json2("ipai.gateway.service", "create", vals_list=[{
            "name": "Conf check", "code": "conf_check", "base_url": "https://api.example.com",
            "auth_type": "bearer", "token": "tok-from-the-file-key",
        }])
        rows = server.json2("ipai.gateway.service", "read", ids=[service_id],
                            fields=["has_secret", "token"])
        assert rows[0]["has_secret"] is True and rows[0]["token"] is False
        decrypted = server.shell_json(
            "import json\n"
            f"service = env['ipai.gateway.service'].browse({service_id})\n"
            "secret = env['ipai.gateway.secret'].sudo().search([('service_id', '=', service.id)])\n"
            "print(json.dumps(secret.ciphertext))\n"
        )
        assert Fernet(server.key.encode()).decrypt(decrypted.encode()) == b"tok-from-the-file-key"
    finally:
        server.stop()
    log = server.log.read_text(errors="replace")
    assert "odoo.service.server" in log or "HTTP service" in log, "the log is not Odoo's"
    problems = [line for line in log.splitlines() if LOG_PROBLEM.match(line)]
    assert not problems, "Odoo warned at start:\n" + "\n".join(problems)
