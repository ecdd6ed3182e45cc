"""No Docker engine runs in CI: check that the compose set-up hangs together."""

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
MODULES = {
    "ipai_well_architected",
    "ipai_microservices_gateway",
    "ipai_waf_assessment",
    "ipai_databricks_connector",
}


def _compose():
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def _odoo_args():
    return _compose()["services"]["odoo"]["command"]


def _opt(name):
    for arg in _odoo_args():
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    return None


def test_images_are_the_official_ones():
    services = _compose()["services"]
    assert services["db"]["image"] == "postgres:16"
    assert services["odoo"]["build"] == "."
    first = next(
        line for line in (REPO / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert first == "FROM odoo:19"


def test_dockerfile_installs_requirements_and_queue_job():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "COPY requirements.txt" in dockerfile
    assert "--no-deps" in dockerfile
    reqs = (REPO / "requirements.txt").read_text()
    assert re.search(r"^odoo-addon-queue-job>=19\.0,<19\.1", reqs, re.M)


def test_addons_path_holds_every_module():
    services = _compose()["services"]["odoo"]
    mounts = {}
    for volume in services["volumes"]:
        src, dst = volume.split(":")[:2]
        mounts[dst] = src
    paths = _opt("addons-path").split(",")
    found = set()
    for path in paths:
        src = mounts.get(path)
        assert src is not None, f"{path} is on the addons path but nothing is mounted there"
        folder = (REPO / src).resolve()
        found |= {p.parent.name for p in folder.glob("*/__manifest__.py")}
    assert MODULES <= found
    assert set(_opt("init").split(",")) == MODULES


def test_queue_job_runs_server_wide_with_workers():
    assert "queue_job" in _opt("server-wide-modules").split(",")
    assert int(_opt("workers")) >= 2
    env = _compose()["services"]["odoo"]["environment"]
    assert env["ODOO_QUEUE_JOB_CHANNELS"].startswith("root:")


def test_every_service_has_a_healthcheck_and_odoo_waits_for_db():
    compose = _compose()
    for name, service in compose["services"].items():
        assert service.get("healthcheck", {}).get("test"), f"service {name} has no health check"
    assert compose["services"]["odoo"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_vault_keys_come_from_a_secret_file():
    compose = _compose()
    odoo = compose["services"]["odoo"]
    assert "ipai_vault_keys" in odoo["secrets"]
    assert odoo["environment"]["IPAI_VAULT_KEYS_FILE"] == "/run/secrets/ipai_vault_keys"
    assert "file" in compose["secrets"]["ipai_vault_keys"]
    # The database password of the image's entrypoint matches the db service.
    assert odoo["environment"]["PASSWORD"] == compose["services"]["db"]["environment"][
        "POSTGRES_PASSWORD"
    ]
