# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""The odoo.conf the suite writes, and module installs with Odoo's own CLI."""

import re
from pathlib import Path

from .common import (
    DB_HOST,
    DB_PASSWORD,
    DB_PORT,
    DB_USER,
    QUEUE_CHANNELS,
    STATE,
    sh,
)
from .venv import addons_path, odoo_cmd


def write_conf(path, root, *, db=None, http_port=8069, workers=2, data_dir=None, extra=None,
               vault_keys_file=None):
    """An odoo.conf Odoo starts with without a single warning: no `db_password = False`
    (Odoo 19 skips a non-boolean option reading False, and says so), and the vault key
    file in an [ipai_vault] section, read by the gateway as queue_job reads [queue_job]
    (an unknown [options] entry is a warning at every start)."""
    extra = list(extra or [])
    for line in list(extra):  # callers that still pass the old [options] entry
        name, _sep, value = line.partition("=")
        if name.strip() == "ipai_vault_keys_file":
            extra.remove(line)
            vault_keys_file = value.strip()
    lines = [
        "[options]",
        f"addons_path = {addons_path(root)}",
        f"data_dir = {data_dir or STATE / 'data'}",
        f"db_host = {DB_HOST}",
        f"db_port = {DB_PORT}",
        f"db_user = {DB_USER}",
        *([f"db_password = {DB_PASSWORD}"] if DB_PASSWORD else []),
        f"http_port = {http_port}",
        "http_interface = 127.0.0.1",
        f"workers = {workers}",
        "max_cron_threads = 1",
        "limit_time_cpu = 600",
        "limit_time_real = 1200",
        "server_wide_modules = web,queue_job",
        "list_db = False",
        "without_demo = True",
    ]
    if db:
        lines += [f"db_name = {db}", f"dbfilter = ^{db}$"]
    lines += extra + ["", "[queue_job]", f"channels = {QUEUE_CHANNELS}", ""]
    if vault_keys_file:
        lines += ["[ipai_vault]", f"keys_file = {vault_keys_file}", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path

def odoo_install(root, conf, db, modules, log, extra=()):
    """Install modules with Odoo's CLI; returns (ok, problems)."""
    cmd = odoo_cmd(root) + [
        "-c", conf, "-d", db, "-i", ",".join(modules), "--stop-after-init",
        "--no-http", "--workers=0", "--max-cron-threads=0", f"--logfile={log}", *extra,
    ]
    res = sh(cmd, check=False)
    problems = []
    text = Path(log).read_text(errors="replace") if Path(log).exists() else ""
    for line in text.splitlines():
        line = line.replace(db, "<db>")
        if re.search(r" (ERROR|CRITICAL) ", line) or (
            " WARNING " in line and re.search(r"ipai_[a-z]", line)
        ):
            problems.append(line)
    if res.returncode:
        problems.append(f"odoo exited with {res.returncode}")
    return not problems, problems
