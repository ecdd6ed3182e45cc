"""Plain tests of the scorecard schema, content hash and gaps report (no database)."""

import copy
import hashlib
import json

import jsonschema

from odoo.addons.ipai_waf_assessment.engine import scorecard
from odoo.addons.ipai_waf_assessment.engine.scorecard import (
    SCHEMA_PATH,
    content_hash,
    render_gaps_markdown,
    validate,
)
from odoo.tests import BaseCase


def make_scorecard():
    card = {
        "schema_version": "1.0",
        "rubric_version": "1.0",
        "generated_at": "2026-09-30T10:00:00",
        "assessment": {
            "id": 7, "name": "ERP Q3", "workload": "odoo-erp-prod",
            "repository": "github.com/acme/erp", "branch": "main", "date": "2026-09-30",
            "state": "done", "milestone": 2, "company": "Acme",
        },
        "overall": {"score": 78.0, "grade": "B+", "status": "Good, with gaps"},
        "frameworks": [{
            "code": "azure_waf", "name": "Azure Well-Architected Framework", "score": 78.0,
            "pillars": [
                {"code": "reliability", "name": "Reliability", "weight": 1.0, "score": 82.0,
                 "computed_score": 75.0, "override_score": 82.0,
                 "override_justification": "Imported from report (line 20)",
                 "counts": {"implemented": 3, "partial": 1, "missing": 1}},
                {"code": "security", "name": "Security", "weight": 1.0, "score": 74.0,
                 "computed_score": 74.0, "override_score": None,
                 "override_justification": None,
                 "counts": {"implemented": 4, "missing": 2, "not_applicable": 1}},
            ],
        }],
        "findings": [
            {"control_code": "AZ-REL-05", "control_name": "Multi-zone deployment",
             "framework": "azure_waf", "pillar": "reliability", "severity": "high",
             "status": "missing", "na_reason": None, "evidence": "Single zone (westeurope-1)",
             "evidence_url": None, "source": "imported", "checked_at": "2026-09-30T10:00:00",
             "recommendation": "Spread the web tier over three zones."},
            {"control_code": "AZ-REL-01", "control_name": "Backups with PITR",
             "framework": "azure_waf", "pillar": "reliability", "severity": "high",
             "status": "implemented", "na_reason": None, "evidence": "WAL archiving",
             "evidence_url": None, "source": "manual", "checked_at": None,
             "recommendation": "Keep testing restores."},
            {"control_code": "AZ-SEC-06", "control_name": "MFA", "framework": "azure_waf",
             "pillar": "security", "severity": "high", "status": "partial", "na_reason": None,
             "evidence": "auth_totp for 2 of 3 admins | one left",
             "evidence_url": "https://erp.example.com/odoo/users",
             "source": "automated", "checked_at": "2026-09-30T10:00:00",
             "recommendation": "Enforce TOTP for every administrator."},
            {"control_code": "AZ-SEC-09", "control_name": "Secret rotation",
             "framework": "azure_waf", "pillar": "security", "severity": "low",
             "status": "unknown", "na_reason": "", "evidence": "", "evidence_url": "",
             "source": "manual", "checked_at": None, "recommendation": None},
            {"control_code": "AZ-COST-04", "control_name": "Reserved capacity",
             "framework": "azure_waf", "pillar": "cost_optimization", "severity": "medium",
             "status": "not_applicable", "na_reason": "business_priorities",
             "evidence": "Region move", "evidence_url": None, "source": "manual",
             "checked_at": None, "recommendation": "Buy reservations."},
        ],
        "risks": [
            {"title": "Zone outage stops the ERP", "pillar": "reliability", "severity": "high",
             "likelihood": 2, "impact": 5, "rating": 10, "level": "high",
             "residual_rating": 4, "residual_level": "low",
             "mitigation": "Zone-redundant deployment", "owner": "Platform team",
             "due_date": "2026-12-31"},
            {"title": "Leaked API key", "pillar": "security", "severity": "medium",
             "likelihood": 4, "impact": 5, "rating": 20, "level": "critical",
             "residual_rating": 5, "residual_level": "medium", "mitigation": "Rotation",
             "owner": None, "due_date": None},
        ],
        "recommendations": [
            {"title": "Enforce TOTP for admins", "phase": "0-30", "priority": "P0",
             "effort_days": 1, "pillars": ["security"], "state": "open", "owner": "IT",
             "depends_on": []},
            {"title": "Zone-redundant web tier", "phase": "30-60", "priority": "P1",
             "effort_days": 8.5, "pillars": ["reliability", "performance_efficiency"],
             "state": "open", "owner": None, "depends_on": ["Terraform modules"]},
            {"title": "Terraform modules", "phase": "0-30", "priority": "P2",
             "effort_days": 3, "pillars": ["operational_excellence"], "state": "done",
             "owner": None, "depends_on": []},
        ],
    }
    card["content_hash"] = content_hash(card)
    return card


class TestScorecardSchema(BaseCase):
    """The JSON schema: what a valid scorecard is, and what is refused."""

    def test_schema_file_is_draft_2020_12_and_valid(self):
        schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["additionalProperties"] is False

    def test_a_valid_scorecard_validates(self):
        assert validate(make_scorecard()) is True

    def test_a_minimal_scorecard_with_nulls_validates(self):
        card = make_scorecard()
        card["overall"] = {"score": None, "grade": None, "status": None}
        card["frameworks"][0]["score"] = None
        card["findings"] = card["risks"] = card["recommendations"] = []
        assert validate(card) is True

    def test_an_invalid_scorecard_is_refused(self):
        for mutate, message in [
            (lambda c: c.update(extra=1), "Additional properties"),
            (lambda c: c.pop("findings"), "'findings' is a required property"),
            (lambda c: c["findings"][0].update(status="done"), "'done' is not one of"),
            (lambda c: c["overall"].update(score=120), "120 is greater than the maximum of 100"),
            (lambda c: c["risks"][0].update(likelihood=6), "6 is greater than the maximum of 5"),
            (lambda c: c["recommendations"][0].update(priority="P7"), "'P7' is not one of"),
            (lambda c: c.update(content_hash="abc"), "does not match"),
            (lambda c: c.update(schema_version="2.0"), "'1.0' was expected"),
            (lambda c: c["assessment"].update(date="30/09/2026"), "is not a 'date'"),
        ]:
            with self.subTest(message=message):
                card = make_scorecard()
                mutate(card)
                with self.assertRaisesRegex(jsonschema.ValidationError, message):
                    validate(card)


class TestScorecardHash(BaseCase):
    """The content hash that seals a scorecard."""

    def test_content_hash_ignores_itself_and_key_order_but_not_content(self):
        card = make_scorecard()
        digest = card["content_hash"]
        assert len(digest) == 64
        assert content_hash(card) == digest  # the stored hash is not part of the hashed text
        reordered = json.loads(json.dumps(card, sort_keys=True))
        reordered = dict(reversed(list(reordered.items())))
        assert content_hash(reordered) == digest
        edited = copy.deepcopy(card)
        edited["findings"][0]["status"] = "implemented"
        assert content_hash(edited) != digest
        assert content_hash(dict(card, generated_at="2026-10-01T00:00:00")) != digest

    def test_content_hash_is_sha256_of_the_documented_canonical_json(self):
        card = make_scorecard()
        body = {k: v for k, v in card.items() if k != "content_hash"}
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert card["content_hash"] == hashlib.sha256(text.encode("utf-8")).hexdigest()


class TestGapsReport(BaseCase):
    """The Markdown gaps report rendered from a scorecard."""

    def test_gaps_report_lists_scores_gaps_risks_and_roadmap(self):
        md = render_gaps_markdown(make_scorecard())
        assert md.startswith("# Gaps report: ERP Q3\n")
        assert "- **Overall:** 78.0 / 100, grade B+ (Good, with gaps)" in md
        assert "### Azure Well-Architected Framework (Score: 78.0/100)" in md
        assert ("| Reliability | 82.0 | 75.0 | 82.0 (Imported from report (line 20)) "
                "| 3 | 1 | 0 | 1 | 0 | 0 |") in md
        assert "| Security | 74.0 | 74.0 | — | 4 | 0 | 0 | 2 | 0 | 1 |" in md
        # every finding that is not implemented, grouped by pillar, with its recommendation
        assert "### azure_waf / reliability" in md and "### azure_waf / security" in md
        assert ("| AZ-REL-05 Multi-zone deployment | high | ❌ Missing "
                "| Single zone (westeurope-1) | Spread the web tier over three zones. |") in md
        assert "AZ-REL-01" not in md  # implemented: not a gap
        # pipes in evidence are escaped, links kept
        assert ("auth_totp for 2 of 3 admins \\| one left "
                "([link](https://erp.example.com/odoo/users))") in md
        # high severity first inside a pillar
        assert md.index("AZ-SEC-06") < md.index("AZ-SEC-09")
        assert "- AZ-COST-04 Reserved capacity: business priorities" in md
        # risks by rating, highest first
        assert md.index("Leaked API key") < md.index("Zone outage stops the ERP")
        assert "| 2 × 5 | 10 high | 4 low |" in md
        # roadmap by phase, in phase order, with effort totals
        assert "### Phase 0-30 (2 items, 4 days)" in md
        assert "### Phase 30-60 (1 items, 8.5 days)" in md
        assert md.index("Phase 0-30") < md.index("Phase 30-60")
        assert "| P1 | Zone-redundant web tier | reliability, performance_efficiency | 8.5 " in md
        assert "| Terraform modules |" in md

    def test_gaps_report_of_an_empty_assessment(self):
        card = make_scorecard()
        card["frameworks"] = card["findings"] = card["risks"] = card["recommendations"] = []
        md = render_gaps_markdown(card)
        assert "No framework was assessed." in md
        assert "No open gap" in md
        assert "No risk recorded." in md and "No recommendation recorded." in md

    def test_gaps_table_rows_keep_their_column_count(self):
        md = render_gaps_markdown(make_scorecard())
        gap_rows = [line for line in md.splitlines() if line.startswith("| AZ-")]
        assert gap_rows
        for row in gap_rows:
            assert row.replace("\\|", "").count("|") == 6, row
        assert scorecard.STATUS_LABELS["not_applicable"] == "Not applicable"


class TestGeneratedAt(BaseCase):
    """Which timestamps generated_at accepts."""

    def test_generated_at_accepts_naive_utc_and_offsets(self):
        for stamp in ["2026-09-30T10:00:00", "2026-09-30 10:00:00.123456",
                      "2026-09-30T10:00:00Z", "2026-09-30T10:00:00+02:00"]:
            with self.subTest(stamp=stamp):
                assert validate(dict(make_scorecard(), generated_at=stamp))

    def test_generated_at_refuses_other_text(self):
        for stamp in ["yesterday", "2026-09-30", "30.09.2026 10:00"]:
            with self.subTest(stamp=stamp):
                with self.assertRaisesRegex(jsonschema.ValidationError, "does not match"):
                    validate(dict(make_scorecard(), generated_at=stamp))
