"""Each module is shaped as an OCA module of the suite: manifest, readme, groups, menus, i18n."""

import ast
import re
from pathlib import Path

import pytest
from lxml import etree

REPO = Path(__file__).resolve().parents[1]
SUITE = ["ipai_microservices_gateway", "ipai_waf_assessment", "ipai_databricks_connector"]
# glue between modules, installed with both ends: no groups or menus of their own
BRIDGES = ["ipai_waf_assessment_project", "ipai_waf_assessment_gateway",
           "ipai_waf_assessment_databricks"]
ALL = [*SUITE, *BRIDGES, "ipai_well_architected"]


def _dir(module):
    return REPO / "addons" / module if module == "ipai_well_architected" else REPO / module


def _manifest(module):
    return ast.literal_eval((_dir(module) / "__manifest__.py").read_text())


def _xml_records(module):
    for path in (_dir(module)).rglob("*.xml"):
        if "static" in path.parts or "i18n" in path.parts:
            continue
        yield from etree.parse(str(path)).getroot().iter("record", "menuitem")


@pytest.mark.parametrize("module", ALL)
def test_manifest(module):
    manifest = _manifest(module)
    assert re.fullmatch(r"19\.0\.\d+\.\d+\.\d+", manifest["version"])
    assert manifest["license"] == "LGPL-3"
    assert manifest["installable"] is True
    for path in manifest.get("data", []):
        assert (_dir(module) / path).is_file(), f"{module}: data file {path} is missing"


@pytest.mark.parametrize("module", SUITE)
def test_dependencies(module):
    manifest = _manifest(module)
    assert "external_dependencies" in manifest
    code = "\n".join(p.read_text() for p in _dir(module).rglob("*.py") if "tests" not in p.parts)
    if re.search(r"\bwith_delay\(|\bdelayable\(", code):
        assert "queue_job" in manifest["depends"], f"{module} runs jobs without queue_job"
    if module == "ipai_databricks_connector":
        assert "ipai_microservices_gateway" in manifest["depends"]
    if module == "ipai_waf_assessment":
        # It must install alone: it only reads the other modules' data when they exist.
        assert not {"ipai_microservices_gateway", "ipai_databricks_connector"} & set(
            manifest["depends"]
        )


@pytest.mark.parametrize("module", ALL)
def test_readme_fragments_and_translation_template(module):
    for fragment in ("DESCRIPTION", "USAGE", "CONFIGURE"):
        text = (_dir(module) / "readme" / f"{fragment}.md").read_text()
        assert len(text.strip()) > 40 and "TODO" not in text, f"{module}: {fragment} is empty"
    pot = _dir(module) / "i18n" / f"{module}.pot"
    assert pot.is_file(), f"{module}: no {pot.name}"
    # Beyond the header entry, at least one translatable string (menu names at least).
    assert pot.read_text().count("msgid ") - 1 >= 1


@pytest.mark.parametrize("module", SUITE)
def test_user_and_manager_groups_and_menus_under_the_one_app(module):
    records = list(_xml_records(module))
    groups = {r.get("id") for r in records if r.get("model") == "res.groups"}
    short = {"ipai_microservices_gateway": "gateway", "ipai_waf_assessment": "assessment",
             "ipai_databricks_connector": "databricks"}[module]
    assert {f"{short}_group_user", f"{short}_group_manager"} <= groups
    roots = [
        r for r in records
        if r.tag == "menuitem" and r.get("parent") == "ipai_well_architected.menu_root"
    ]
    assert roots, f"{module} has no menu under Well-Architected"
    top_menus = [r for r in records if r.tag == "menuitem" and r.get("parent") is None]
    assert not top_menus, f"{module} adds its own top-level app: {top_menus[0].get('id')}"


@pytest.mark.parametrize("module", ALL)
def test_no_pre_19_idioms(module):
    for path in _dir(module).rglob("*"):
        if path.suffix not in (".py", ".xml") or "tests" in path.parts:
            continue
        text = path.read_text()
        for bad in ("_sql_constraints", "<tree", "attrs=", "self._cr", "groups_id",
                    "type='json'", 'type="json"'):
            # A whole idiom, not a prefix: self._create_model is not self._cr.
            assert not re.search(re.escape(bad) + r"(?![A-Za-z0-9_])", text), \
                f"{path.relative_to(REPO)} uses {bad}"


@pytest.mark.parametrize("module", ALL)
def test_readme_and_description_are_valid_rst(module):
    """Odoo renders README.rst (or the manifest's description) with docutils at install:
    every warning it prints there is a broken Apps page."""
    import io  # noqa: PLC0415 - local to this check

    import docutils.core  # noqa: PLC0415

    texts = {"README.rst": (_dir(module) / "README.rst").read_text()}
    if _manifest(module).get("description"):
        texts["description"] = _manifest(module)["description"]
    for name, text in texts.items():
        report = io.StringIO()
        docutils.core.publish_doctree(
            text, settings_overrides={"warning_stream": report, "report_level": 2,
                                      "halt_level": 5})
        assert not report.getvalue(), f"{module}/{name}:\n{report.getvalue()}"
