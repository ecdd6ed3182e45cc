"""The pre-commit hooks are local: nothing is cloned or downloaded when they run."""

import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def test_every_hook_is_a_local_tool_of_the_virtualenv():
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    assert {h["id"] for h in hooks} >= {
        "ruff", "pylint-odoo", "oca-checks-odoo-module", "oca-checks-po"}
    requirements = (REPO / "requirements-test.txt").read_text()
    assert "oca-odoo-pre-commit-hooks" in requirements and "pre-commit" in requirements
    bindir = Path(sys.executable).parent  # the test run's virtualenv
    for hook in hooks:
        assert hook["language"] == "system", hook["id"]  # no environment built by pre-commit
        tool = hook["entry"].split()[0]
        assert (bindir / tool).is_file(), f"{hook['id']}: {tool} is not in {bindir}"
        assert hook.get("files"), f"{hook['id']} would lint .venv or .suite"
