"""`./suite` fails loudly, never silently, when Odoo or PostgreSQL is missing."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _suite(*args, **env):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("IPAI_TEST_")}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, str(REPO / "suite"), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
        check=False,
    )


def test_a_wrong_odoo_path_stops_the_tests_with_an_error(tmp_path):
    res = _suite("test", ODOO_PATH=str(tmp_path))
    assert res.returncode == 2
    assert "is not an Odoo source tree" in res.stderr
    assert "passed" not in res.stdout


def test_no_odoo_at_all_stops_the_tests_with_an_error(tmp_path):
    res = subprocess.run(
        ["/usr/bin/env", "-i", f"PATH={os.environ['PATH']}", f"HOME={tmp_path}",
         f"IPAI_VENV={tmp_path / 'no-venv'}", "python3", str(REPO / "suite"), "test"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Odoo 19 was not found" in res.stderr
    assert "ODOO_PATH" in res.stderr


def test_an_unreachable_postgresql_stops_the_tests_with_an_error():
    res = _suite("test", PGPORT="1")
    assert res.returncode == 2, res.stdout + res.stderr
    assert "PostgreSQL is not reachable at 127.0.0.1:1" in res.stderr


def test_ci_runs_exactly_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    assert "./suite test    # second command" in readme
    assert ci.strip().splitlines()[-1] == "exec ./suite test"
