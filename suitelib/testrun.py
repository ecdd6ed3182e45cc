# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""`./suite test`: lint, install, both test runners, the count comparison, the summary."""

import json
import os
import re
import secrets
import shutil
import xml.etree.ElementTree as ET
from base64 import urlsafe_b64encode
from pathlib import Path

from .common import MODULES, REPO, STATE, VENV, VPY, SuiteError, _module_dir, die, say, sh
from .odooconf import odoo_install, write_conf
from .services import (
    _pg,
    drop_dbs,
    ensure_browser,
    ensure_pdf_tools,
    ensure_postgres,
    free_ports,
)
from .venv import addons_path, ensure_venv, odoo_cmd


class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.failures = []

    def ok(self, name, good, detail=""):
        if good:
            self.passed += 1
        else:
            self.failed += 1
            self.failures.append(f"{name}: {detail}".strip())
        say(f"{'PASS' if good else 'FAIL'} {name}")

    def junit(self, path, label):
        """Read a pytest JUnit report. A skip counts as a failure unless it was
        raised by the project's own code (its location is one of our files),
        which is how a deliberate, explained skip is told from Odoo's silent ones
        (e.g. "websocket-client module is not installed")."""
        if not path.exists():
            self.ok(label, False, f"no report {path}: the test run crashed")
            return
        for case in ET.parse(path).getroot().iter("testcase"):
            name = f"{case.get('classname')}::{case.get('name')}"
            bad = case.find("failure") if case.find("failure") is not None else case.find("error")
            skip = case.find("skipped")
            if bad is not None:
                self.failed += 1
                self.failures.append(f"{name}: {(bad.get('message') or '')[:300]}")
            elif skip is not None:
                where = (skip.text or "") + " " + (skip.get("message") or "")
                if _own_skip(where):
                    self.skipped += 1
                else:
                    self.failed += 1
                    self.failures.append(f"{name}: unexpected skip: {where.strip()[:300]}")
            else:
                self.passed += 1

def _own_skip(text):
    m = re.match(r"\s*(\S+?\.py):\d+:", text)
    if not m:
        return False
    p = Path(m.group(1))
    p = p if p.is_absolute() else (REPO / p)
    try:
        rel = p.resolve().relative_to(REPO)
    except ValueError:
        return False
    return not str(rel).startswith((".venv", ".suite"))

def run_lint(tally):
    """pre-commit's hooks (.pre-commit-config.yaml: ruff, pylint-odoo, OCA's module and PO
    checks, all local), as OCA's CI runs them; plain ruff and pylint outside a git clone."""
    env = dict(os.environ, PATH=f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
               PRE_COMMIT_HOME=str(STATE / "pre-commit"))
    if (REPO / ".git").exists():
        res = sh([VENV / "bin" / "pre-commit", "run", "--all-files", "--show-diff-on-failure"],
                 check=False, env=env, cwd=REPO)
        tally.ok("lint: pre-commit run --all-files", res.returncode == 0,
                 "pre-commit hooks found problems (see above)")
        return
    targets = [str(REPO / m) for m in MODULES[1:]] + [str(REPO / "addons"), str(REPO / "tests")]
    res = sh([VENV / "bin" / "ruff", "check", "--no-cache", *targets, "suite"], check=False)
    tally.ok("lint: ruff", res.returncode == 0, "ruff found problems (see above)")
    res = sh(
        [VENV / "bin" / "pylint", "--rcfile", REPO / ".pylintrc", *targets[:-1]],
        check=False,
    )
    tally.ok("lint: pylint-odoo", res.returncode == 0, "pylint-odoo found problems (see above)")

# Odoo 19's summary line (odoo/service/server.py, OdooTestResult.__str__ in
# odoo/tests/result.py); a skip is logged by OdooTestResult.addSkip.
ODOO_SUMMARY = re.compile(
    r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")

ODOO_SKIP = re.compile(r"^\S+ \S+ \d+ INFO \S+ [\w.]+: skipped (.*)$", re.M)

ODOO_FAIL = re.compile(r"^\S+ \S+ \d+ ERROR \S+ [\w.]+: (?:FAIL|ERROR): (.*)$", re.M)

def odoo_runner(root, conf, template, db, module, work, tally):
    """Run a module's tests with Odoo's own runner, as oca-ci does (`oca_run_tests`):
    `odoo-bin -d DB -i <module> --test-enable --test-tags /<module> --stop-after-init`
    on a copy of the template, so the module also installs alone. Returns the number
    of tests Odoo ran (None when its summary line is missing).

    Module by module rather than once on the all-modules database: it is what OCA's
    CI runs, it proves each module's tests pass without the other suite modules
    installed, and it costs only the installs (about 20 s a module on 2 cores; the
    whole suite's tests take the same time either way)."""
    log = work / f"odoo-runner-{module}.log"
    _pg(f'CREATE DATABASE "{db}" TEMPLATE "{template}"')
    http_port, gevent_port = free_ports(2)
    try:
        res = sh(odoo_cmd(root) + [
            "-c", conf, "-d", db, "-i", module, "--test-enable", f"--test-tags=/{module}",
            "--stop-after-init", "--workers=0", "--max-cron-threads=0",
            f"--http-port={http_port}", f"--gevent-port={gevent_port}", f"--logfile={log}",
        ], check=False)
    finally:
        drop_dbs(db)
    text = log.read_text(errors="replace") if log.exists() else ""
    summary = ODOO_SUMMARY.findall(text)
    if not summary:
        tally.ok(f"odoo runner {module}", False,
                 f"no test summary in {log} (odoo exited with {res.returncode})")
        return None
    failed, errors, ran = map(int, summary[-1])
    skips = ODOO_SKIP.findall(text)
    problems = [f"FAIL {f[:200]}" for f in ODOO_FAIL.findall(text)]
    problems += [f"skipped {s[:200]}" for s in skips]
    if res.returncode and not (failed or errors):
        problems.append(f"odoo exited with {res.returncode}")
    say(f"Odoo's runner, {module}: {ran} tests, {failed} failed, {errors} error(s), "
        f"{len(skips)} skipped")
    tally.ok(f"odoo runner {module} ({ran} tests)", not problems and not failed and not errors,
             "\n    ".join(problems[-10:]) + f"\n    see {log}")
    return ran

def junit_counts(path):
    """Tests per module in a pytest-odoo JUnit report (a test with subtests counts once)."""
    seen = set()
    if path.exists():
        for case in ET.parse(path).getroot().iter("testcase"):
            seen.add((case.get("classname"), case.get("name")))
    counts = {}
    for classname, _name in seen:
        module = (classname or "").split(".")[0]
        counts[module] = counts.get(module, 0) + 1
    return counts

def compare_counts(tally, odoo_counts, pytest_counts):
    """Both runners must run the same tests: print both counts, fail when they differ."""
    print(f"\n{'module':32} {'Odoo runner':>12} {'pytest-odoo':>12}")
    for module in odoo_counts:
        print(f"{module:32} {odoo_counts[module]!s:>12} {pytest_counts.get(module, 0):>12}")
    total_odoo = sum(c or 0 for c in odoo_counts.values())
    total_pytest = sum(pytest_counts.get(m, 0) for m in odoo_counts)
    print(f"{'total':32} {total_odoo:>12} {total_pytest:>12}\n", flush=True)
    differ = [f"{m}: Odoo {c}, pytest {pytest_counts.get(m, 0)}"
              for m, c in odoo_counts.items() if c != pytest_counts.get(m, 0)]
    tally.ok("same module tests under Odoo's runner and pytest-odoo", not differ,
             "; ".join(differ))

def run_tests(args):
    root = ensure_venv(args, with_test=True)
    ensure_postgres()
    ensure_browser()
    ensure_pdf_tools()
    tally = Tally()
    run_id = f"{os.getpid()}_{secrets.token_hex(2)}"
    prefix = f"ipai_t{run_id}_"
    work = STATE / f"test-{run_id}"
    work.mkdir(parents=True)
    # Throwaway vault keys: two, so rotation is exercised with old and new keys.
    keys = ",".join(urlsafe_b64encode(secrets.token_bytes(32)).decode() for _ in range(2))
    env = dict(os.environ, IPAI_VAULT_KEYS=keys, PYTHONDONTWRITEBYTECODE="1")
    env.pop("IPAI_VAULT_KEYS_FILE", None)
    os.environ.update(env)
    # A free port, so two test runs on one machine (CI beside a session) don't collide.
    http_port, gevent_port = free_ports(2)
    conf = write_conf(work / "odoo.conf", root, workers=0, data_dir=work / "data",
                      http_port=http_port, extra=[f"gevent_port = {gevent_port}"])
    try:
        if not args.no_lint:
            run_lint(tally)
        base_db = prefix + "base"
        say("creating the template database (base, web, mail, queue_job) with "
            "click-odoo-initdb, from its cached template when Odoo is unchanged")
        log = work / "base.log"
        res = sh([VENV / "bin" / "click-odoo-initdb", "-c", conf, "-n", base_db,
                  "-m", "base,web,mail,queue_job", "--no-demo", "--cache-prefix", "ipaitpl",
                  "--log-level", "warn", "--logfile", log], check=False)
        if res.returncode:
            text = log.read_text(errors="replace") if log.exists() else ""
            die("could not create a database with queue_job:\n  "
                + "\n  ".join(text.splitlines()[-20:]))
        for module in [] if args.quick else MODULES:
            db = prefix + module
            _pg(f'CREATE DATABASE "{db}" TEMPLATE "{base_db}"')
            ok, problems = odoo_install(root, conf, db, [module], work / f"install-{module}.log")
            tally.ok(f"install {module} alone", ok, "\n    ".join(problems[-10:]))
            drop_dbs(db)
        main_db = prefix + "all"
        _pg(f'CREATE DATABASE "{main_db}" TEMPLATE "{base_db}"')
        ok, problems = odoo_install(root, conf, main_db, MODULES, work / "install-all.log")
        tally.ok("install the whole suite", ok, "\n    ".join(problems[-10:]))
        if not ok:
            die("the suite does not install; see " + str(work / "install-all.log"))
        # Module tests, in Odoo (TransactionCase, HttpCase with tours).
        test_dirs = [str(p) for m in MODULES for p in [_module_dir(m) / "tests"] if p.is_dir()]
        odoo_report = work / "junit-odoo.xml"
        sel = ["-k", args.k] if args.k else []
        sh(
            [VPY, "-m", "pytest", "-p", "no:cacheprovider", f"--odoo-config={conf}",
             f"--odoo-database={main_db}", "--odoo-http", f"--junitxml={odoo_report}",
             "-o", "junit_family=xunit1", "-rs", *sel, *test_dirs],
            check=False, env=env,
        )
        tally.junit(odoo_report, "odoo module tests")
        if args.k:
            say("-k selects a subset for pytest only: Odoo's runner is left out of this run")
        else:
            pytest_counts = junit_counts(odoo_report)
            odoo_counts = {}
            for module in MODULES:
                if (_module_dir(module) / "tests").is_dir():
                    odoo_counts[module] = odoo_runner(root, conf, base_db, prefix + "ot_" +
                                                      module[5:], module, work, tally)
            compare_counts(tally, odoo_counts, pytest_counts)
        # Server-level tests: a real Odoo with workers, JSON-RPC over HTTP.
        srv_report = work / "junit-server.xml"
        srv_env = dict(
            env,
            IPAI_TEST_TEMPLATE_DB=main_db,
            IPAI_TEST_DB_PREFIX=prefix,
            IPAI_TEST_ODOO_CMD=json.dumps([str(c) for c in odoo_cmd(root)]),
            IPAI_TEST_ADDONS_PATH=addons_path(root),
            IPAI_TEST_WORKDIR=str(work),
        )
        sh(
            [VPY, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:odoo",
             f"--junitxml={srv_report}", "-o", "junit_family=xunit1", "-rs", *sel,
             str(REPO / "tests")],
            check=False, env=srv_env,
        )
        tally.junit(srv_report, "server tests")
    except SuiteError as exc:
        tally.ok("set-up", False, str(exc))
    finally:
        dropped = drop_dbs(prefix)
        say(f"dropped {len(dropped)} test database(s)")
        shutil.rmtree(work / "data", ignore_errors=True)
    if tally.failures:
        print("\nFailures:")
        for f in tally.failures:
            print("  - " + f)
    line = f"{tally.passed} passed, {tally.failed} failed"
    if tally.skipped:
        line += f", {tally.skipped} skipped"
    print("\nsuite: " + line, flush=True)
    return 1 if tally.failed or not tally.passed else 0
