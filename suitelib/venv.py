# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Find Odoo 19 and build the virtualenv around it."""

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

from .common import REPO, STATE, SUITE_ADDON_DIRS, VENV, VPY, die, say, sh


def find_odoo(args):
    """Return (odoo_root_or_None, python_that_imports_odoo_or_None)."""
    path = getattr(args, "odoo", None) or os.environ.get("ODOO_PATH")
    if path:
        root = Path(path).expanduser().resolve()
        release = root / "odoo" / "release.py"
        if not release.is_file():
            die(
                f"ODOO_PATH={root} is not an Odoo source tree: {release} is missing.\n"
                "Point ODOO_PATH at a checkout of Odoo 19.0 Community "
                "(the folder that holds odoo-bin, odoo/ and addons/)."
            )
        major = re.search(r"version_info\s*=\s*\((\d+)", release.read_text())
        if not major or major.group(1) != "19":
            die(f"ODOO_PATH={root} is Odoo {major and major.group(1)}, not 19.0.")
        return root, None
    for py in (VPY, Path(sys.executable)):
        if not py.exists():
            continue
        res = subprocess.run(
            [str(py), "-c", "import odoo.release as r; print(r.version_info[0])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if res.returncode == 0 and res.stdout.strip() == "19":
            return None, py
    die(
        "Odoo 19 was not found.\n"
        "  Either set ODOO_PATH to an Odoo 19.0 Community source tree, e.g.\n"
        "      git clone --depth 1 -b 19.0 https://github.com/odoo/odoo ~/src/odoo-19\n"
        "      ODOO_PATH=~/src/odoo-19 ./suite test\n"
        "  or run this script with a Python where `import odoo` gives Odoo 19."
    )

def _odoo_requirements(root):
    """Odoo's pinned requirements, with markers evaluated for Python >= 3.12.

    Odoo pins Debian/Ubuntu versions; the 3.11 pins (cryptography 3.4.8, ...)
    have no wheels for current toolchains while the 3.12 ones install cleanly
    on 3.11. python-ldap is left out: it needs libldap headers and only
    auth_ldap uses it.
    """
    code = (
        "import sys, platform\n"
        "from packaging.requirements import Requirement\n"
        "env = {'python_version': max('3.12', '%d.%d' % sys.version_info[:2], "
        "key=lambda v: tuple(map(int, v.split('.')))),"
        " 'python_full_version': platform.python_version(), 'sys_platform': sys.platform,"
        " 'platform_system': platform.system()}\n"
        "for line in open(sys.argv[1]):\n"
        "    line = line.split('#')[0].strip()\n"
        "    if not line: continue\n"
        "    r = Requirement(line)\n"
        "    if r.name.lower() == 'python-ldap': continue\n"
        "    if r.marker is None or r.marker.evaluate(env):\n"
        "        r.marker = None; print(r)\n"
    )
    res = subprocess.run(
        [str(VPY), "-c", code, str(root / "requirements.txt")],
        capture_output=True,
        text=True,
        check=True,
    )
    return res.stdout

def ensure_venv(args, with_test=False):
    """Create .venv with Odoo (when given as a source tree) and our requirements."""
    root, odoo_py = find_odoo(args)
    if odoo_py is not None and odoo_py != VPY:
        # Odoo is importable by the system Python (e.g. the odoo:19 image):
        # build the venv on top of it instead of reinstalling Odoo.
        base = odoo_py
        system_site = True
    else:
        base = Path(sys.executable)
        system_site = False
    if not VPY.exists():
        say(f"creating virtualenv {VENV}")
        cmd = [base, "-m", "venv", VENV]
        if system_site:
            cmd.append("--system-site-packages")
        sh(cmd)
        pip_install(["--upgrade", "pip", "packaging"])
    req_files = [REPO / "requirements.txt"]
    if with_test:
        req_files.append(REPO / "requirements-test.txt")
    digest = hashlib.sha256(str(root).encode())
    for f in req_files + ([root / "requirements.txt"] if root else []):
        digest.update(f.read_bytes())
    stamp = VENV / f".ipai-{'test' if with_test else 'run'}.sha256"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return root
    STATE.mkdir(exist_ok=True)
    constraints = STATE / "odoo-constraints.txt"
    if root:
        say(f"installing Odoo's requirements from {root}")
        reqs = _odoo_requirements(root)
        constraints.write_text(reqs)
        pip_install(["-r", constraints])
        # Make the source tree importable without writing into it.
        site = subprocess.run(
            [str(VPY), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        Path(site, "ipai-odoo-source.pth").write_text(f"{root}\n")
    else:
        constraints.write_text("")
    say("installing the suite's requirements" + (" and test tools" if with_test else ""))
    # OCA addon wheels require the `odoo` distribution, which pip cannot see
    # when Odoo comes from a source tree or a Debian package: install them
    # with --no-deps (their own dependencies are listed in requirements.txt).
    lines = [ln.split("#")[0].strip() for f in req_files for ln in f.read_text().splitlines()]
    addons = [ln for ln in lines if ln.startswith("odoo-addon-")]
    others = [ln for ln in lines if ln and not ln.startswith("odoo-addon-")]
    pip_install(["-c", constraints, *others])
    if addons:
        pip_install(["--no-deps", *addons])
    stamp.write_text(digest.hexdigest())
    return root

def pip_install(args):
    STATE.mkdir(exist_ok=True)
    log = STATE / "pip.log"
    with open(log, "a") as fh:
        res = sh([VPY, "-m", "pip", "install", "-q", *args], check=False, stdout=fh, stderr=fh)
    if res.returncode:
        die(f"pip install failed; see {log}:\n" + "".join(log.read_text().splitlines(True)[-15:]))

def odoo_cmd(root):
    """The command that starts Odoo from the venv."""
    if root:
        return [VPY, root / "odoo-bin"]
    return [VPY, "-m", "odoo"]

def addons_path(root):
    paths = []
    if root:
        paths.append(root / "addons")
    paths += SUITE_ADDON_DIRS
    return ",".join(str(p) for p in paths)
