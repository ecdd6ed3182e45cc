"""Plain checks of the shipped catalog data file (parsed with lxml, no database)."""

import re
from pathlib import Path

from lxml import etree

from odoo.addons.ipai_waf_assessment.engine.importers import match_pillar
from odoo.tests import BaseCase

CATALOG = Path(__file__).resolve().parents[1] / "data" / "ipai_waf_catalog_data.xml"
CHECK_KEYS = {"gateway_credentials", "gateway_health", "queue_job_runner", "admin_2fa",
              "db_manager_hidden", "databricks_freshness", "databricks_quality"}
PILLAR_CODES = {
    "azure_waf": ["reliability", "security", "cost_optimization", "operational_excellence",
                  "performance_efficiency"],
    "databricks_lakehouse": ["storage_engine", "sql_engine", "ml_engine", "streaming_engine",
                             "governance"],
    "medallion": ["bronze", "silver", "gold", "platinum"],
}


def fields_of(record):
    out = {}
    for fld in record.findall("field"):
        out[fld.get("name")] = fld.get("ref") or fld.get("eval") or (fld.text or "")
    return out


def read_records():
    tree = etree.parse(str(CATALOG))  # raises on malformed XML
    root = tree.getroot()
    assert root.tag == "odoo" and root.get("noupdate") == "1"
    by_model = {}
    for rec in root.iter("record"):
        by_model.setdefault(rec.get("model"), {})[rec.get("id")] = fields_of(rec)
    return by_model


class TestShippedCatalog(BaseCase):
    """The catalog XML the module loads: frameworks, pillars, controls, check keys."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.records = read_records()

    def test_three_frameworks_with_their_pillars(self):
        frameworks = self.records["ipai.waf.framework"]
        assert set(frameworks) == {f"framework_{c}" for c in PILLAR_CODES}
        for xmlid, vals in frameworks.items():
            assert xmlid == f"framework_{vals['code']}"
            assert vals["name"] and vals["version"] and vals["description"]
        pillars = self.records["ipai.waf.pillar"]
        for fw, codes in PILLAR_CODES.items():
            mine = [v for v in pillars.values() if v["framework_id"] == f"framework_{fw}"]
            assert [v["code"] for v in sorted(mine, key=lambda v: int(v["sequence"]))] == codes
        for xmlid, vals in pillars.items():
            fw = vals["framework_id"].removeprefix("framework_")
            assert xmlid == f"pillar_{fw}_{vals['code']}"
            assert float(vals["weight"]) > 0 and vals["name"] and vals["description"]

    def test_every_control_is_complete_and_well_named(self):
        controls = self.records["ipai.waf.control"]
        pillars = self.records["ipai.waf.pillar"]
        assert len(controls) >= 70
        codes = set()
        for xmlid, vals in controls.items():
            code = vals["code"]
            assert code not in codes, code
            codes.add(code)
            assert xmlid == "control_" + code.lower().replace("-", "_")
            assert re.fullmatch(r"(AZ-(REL|SEC|COST|OPS|PERF)|DBX-(STO|SQL|ML|STR|GOV)|"
                                r"MED-(BRONZE|SILVER|GOLD|PLAT))-\d{2}", code), code
            assert vals["pillar_id"] in pillars, (code, vals["pillar_id"])
            assert len(vals["name"].strip()) >= 3, code
            for name in ("description", "recommendation"):
                assert len(vals.get(name, "").strip()) >= 30, (code, name)
            assert vals["severity"] in ("high", "medium", "low"), code
            assert float(vals["weight"]) > 0
            assert re.match(r"https://(learn\.microsoft\.com|docs\.databricks\.com|"
                            r"www\.odoo\.com/documentation)/", vals["reference_url"]), code
            if "check_key" in vals:
                assert vals["check_key"] in CHECK_KEYS, code
            if "extra_pillar_ids" in vals:
                refs = re.findall(r"ref\('([^']+)'\)", vals["extra_pillar_ids"])
                assert refs and all(r in pillars for r in refs), code
                own_fw = pillars[vals["pillar_id"]]["framework_id"]
                assert all(pillars[r]["framework_id"] != own_fw for r in refs), code

    def test_minimum_controls_of_the_issue_are_present(self):
        names = {v["pillar_id"]: [] for v in self.records["ipai.waf.control"].values()}
        for v in self.records["ipai.waf.control"].values():
            names[v["pillar_id"]].append(v["name"].lower())

        def has(pillar, *words):
            return any(all(w in n for w in words) for n in names[pillar])

        rel, sec = "pillar_azure_waf_reliability", "pillar_azure_waf_security"
        cost, ops = "pillar_azure_waf_cost_optimization", "pillar_azure_waf_operational_excellence"
        perf = "pillar_azure_waf_performance_efficiency"
        for pillar, wanted in {
            rel: [("backup", "point-in-time"), ("health",), ("session",), ("pooling",),
                  ("multi-zone",), ("failover",), ("dead-letter",), ("row-level",)],
            sec: [("secrets management",), ("at rest",), ("in transit",), ("row-level",),
                  ("sso",), ("multi-factor",), ("segmentation",), ("audit",), ("rotation",),
                  ("vulnerability", "container")],
            cost: [("autoscaling",), ("tiering",), ("right-sizing",), ("reserved",),
                   ("ai/llm",), ("cold-data",), ("tagging",)],
            ops: [("ci/cd",), ("infrastructure as code",), ("centralized monitoring",),
                  ("alerting", "escalation"), ("runbooks",), ("documentation",),
                  ("change management",), ("deployment automation",), ("service level",)],
            perf: [("indexing",), ("query caching",), ("performance monitoring",), ("bi",),
                   ("vector",), ("connection pooling",), ("asynchronous",), ("content delivery",),
                   ("baselines", "slow-query")],
            "pillar_databricks_lakehouse_storage_engine": [("acid",), ("schema evolution",),
                                                           ("partitioning",)],
            "pillar_databricks_lakehouse_ml_engine": [("feature store",), ("model registry",)],
            "pillar_databricks_lakehouse_streaming_engine": [("change data capture",),
                                                             ("exactly-once",)],
            "pillar_databricks_lakehouse_governance": [("unity catalog",), ("lineage",),
                                                       ("data quality",), ("column-level",)],
        }.items():
            for words in wanted:
                assert has(pillar, *words), (pillar, words)
        assert names["pillar_databricks_lakehouse_sql_engine"]
        for layer in ("bronze", "silver", "gold", "platinum"):
            for words in (("schema enforcement",), ("quality gates",), ("monitoring",),
                          ("compute isolation",)):
                assert has(f"pillar_medallion_{layer}", *words), (layer, words)

    def test_check_keys_sit_on_the_right_controls(self):
        by_key = {}
        for vals in self.records["ipai.waf.control"].values():
            if vals.get("check_key"):
                by_key.setdefault(vals["check_key"], []).append(vals["code"])
        assert by_key == {
            "gateway_credentials": ["AZ-SEC-01"], "gateway_health": ["AZ-OPS-03"],
            "queue_job_runner": ["AZ-REL-07", "AZ-PERF-07"], "admin_2fa": ["AZ-SEC-06"],
            "db_manager_hidden": ["AZ-SEC-11"], "databricks_quality": ["DBX-GOV-03",
                                                                       "MED-GOLD-02"],
            "databricks_freshness": ["MED-GOLD-03"],
        }

    def test_pillar_names_are_matched_by_the_markdown_importer(self):
        pillars = [(v["code"], v["name"], ()) for v in self.records["ipai.waf.pillar"].values()]
        for code, name, _aliases in pillars:
            assert match_pillar(f"## {name} (Score: 80/100)", pillars) == code
