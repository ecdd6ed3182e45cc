# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Paths, settings and the few helpers every part of ./suite uses (standard library only:
this runs before the virtualenv exists)."""

import ast
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STATE = REPO / ".suite"  # generated configuration, logs, test reports (git-ignored)
VENV = Path(os.environ.get("IPAI_VENV", REPO / ".venv"))
VPY = VENV / "bin" / "python"
SUITE_ADDON_DIRS = [REPO, REPO / "addons"]


def _discover_modules():
    """The suite's modules, each after the suite modules it depends on (Odoo orders the
    installs itself; this order is the one the per-module loops print)."""
    deps = {}
    for folder in SUITE_ADDON_DIRS:
        for manifest in sorted(folder.glob("*/__manifest__.py")):
            deps[manifest.parent.name] = ast.literal_eval(manifest.read_text()).get(
                "depends", [])
    ordered = []

    def visit(name):
        if name in deps and name not in ordered:
            for dep in deps[name]:
                visit(dep)
            ordered.append(name)

    for name in sorted(deps):
        visit(name)
    return ordered


MODULES = _discover_modules()

RUN_DB = os.environ.get("IPAI_DB", "ipai")
DB_USER = os.environ.get("IPAI_DB_USER", os.environ.get("PGUSER", "odoo"))
DB_PASSWORD = os.environ.get("IPAI_DB_PASSWORD", os.environ.get("PGPASSWORD", ""))
DB_HOST = os.environ.get("PGHOST", "127.0.0.1")
DB_PORT = os.environ.get("PGPORT", "5432")
VAULT_FILE = Path(
    os.environ.get(
        "IPAI_VAULT_KEYS_FILE",
        Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
        / "ipai-suite"
        / "vault.keys",
    )
)
# queue_job channels: one per gateway service is added at run time by the
# gateway; these are the suite's fixed ones.
QUEUE_CHANNELS = "root:4,root.ipai:2,root.ipai.assessment:2,root.ipai.databricks:2"


class SuiteError(Exception):
    """A set-up problem the user must fix; printed without a traceback."""

def say(msg):
    print(f"[suite] {msg}", flush=True)

def die(msg):
    raise SuiteError(msg)

def sh(cmd, check=True, **kw):
    kw.setdefault("cwd", REPO)
    res = subprocess.run([str(c) for c in cmd], check=False, **kw)
    if check and res.returncode:
        die(f"command failed ({res.returncode}): {' '.join(map(str, cmd))}")
    return res

def _module_dir(module):
    for d in SUITE_ADDON_DIRS:
        if (d / module / "__manifest__.py").exists():
            return d / module
    return REPO / module
