"""Plain tests of the importers on the sample files in tests/data (no database)."""

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from odoo.addons.ipai_waf_assessment.engine.importers import (
    ImportFormatError,
    StatusError,
    fix_mojibake,
    match_pillar,
    normalize_status,
    parse_aws_lens,
    parse_azure_checklist,
    parse_markdown,
)

DATA = Path(__file__).resolve().parent / "data"
AZURE_PILLARS = [
    ("reliability", "Reliability", ()),
    ("security", "Security", ()),
    ("cost_optimization", "Cost Optimization", ()),
    ("operational_excellence", "Operational Excellence", ()),
    ("performance_efficiency", "Performance Efficiency", ()),
]
ALL_PILLARS = AZURE_PILLARS + [
    ("storage_engine", "Storage Engine", ()), ("sql_engine", "SQL Engine", ()),
    ("ml_engine", "ML Engine", ()), ("streaming_engine", "Streaming Engine", ()),
    ("governance", "Governance", ()), ("bronze", "Bronze", ()), ("silver", "Silver", ()),
    ("gold", "Gold", ()), ("platinum", "Platinum", ()),
]


@pytest.fixture(scope="module")
def report_bytes():
    return (DATA / "assessment_report.md").read_bytes()


@pytest.fixture(scope="module")
def report(report_bytes):
    return parse_markdown(report_bytes)


def by_component(rep):
    return {f.component: f for f in rep.findings}


# --------------------------------------------------------------------------- Markdown

def test_markdown_title_overall_and_counts(report):
    assert report.title == "ERP Platform Well-Architected Assessment"
    assert report.overall_score == 78.0
    assert len(report.findings) == 36
    assert Counter(f.status for f in report.findings) == {
        "implemented": 15, "partial": 8, "missing": 6, "planned": 3, "unknown": 2,
        "not_applicable": 2,
    }


def test_markdown_statuses_evidence_and_pillars(report):
    found = by_component(report)
    backups = found["Backups with point-in-time restore"]
    assert (backups.pillar, backups.status, backups.line_no) == ("Reliability", "implemented", 24)
    assert backups.evidence.startswith("WAL archiving to object storage")
    assert backups.raw_status == "✅ Implemented"
    assert found["Container health checks"].evidence.startswith("HEALTHCHECK in Dockerfile")
    assert found["Automated failover"].status == "planned"  # the word alone
    assert found["Database connection pooling"].status == "implemented"  # "✅ Done"
    assert found["Multi-zone deployment"].status == "missing"
    assert found["Secret rotation"].status == "missing"  # "❌ No"
    assert found["Container scanning"].status == "unknown"
    assert found["Query caching"].status == "unknown"  # ❓
    assert found["SLOs"].status == "planned"  # ⏳
    assert found["Runbooks"].status == "not_applicable"
    assert found["Runbooks"].evidence == "Managed service contract covers incidents"
    # "Manual" is read as partial (documented choice)
    assert found["Restore drill"].status == "partial"
    assert found["Network segmentation"].status == "partial"
    # the "Gap" column is the evidence column of the Operational Excellence table
    assert found["Alerting with escalation"].evidence == "Alerts go to a shared mailbox"
    assert found["Alerting with escalation"].pillar == "Operational Excellence"
    assert found["Gold quality gates"].pillar == "Gold Layer"


def test_markdown_links_and_control_codes(report):
    found = by_component(report)
    drill = found["Restore drill"]
    assert drill.evidence_url == "https://wiki.example.com/restore"
    assert "runbook (https://wiki.example.com/restore)" in drill.evidence
    dbm = found["Database manager not exposed"]
    assert dbm.control_code == "AZ-SEC-11"
    assert dbm.evidence == "list_db = False in odoo.conf"
    assert found["Backups with point-in-time restore"].control_code is None


def test_markdown_bullets_are_findings(report):
    found = by_component(report)
    assert found["Compute autoscaling"].status == "implemented"
    assert found["Compute autoscaling"].evidence == "HPA on the web tier, 2–8 pods"
    assert found["Storage tiering"].status == "partial"
    assert found["Storage tiering"].evidence == "cold attachments still on premium disks"
    assert found["Reserved capacity"].status == "missing"
    assert found["Reserved capacity"].evidence == ""
    assert found["Resource tagging"].status == "planned"
    assert found["Cold-data path"].status == "not_applicable"
    assert {found[c].pillar for c in ("Compute autoscaling", "Cold-data path")} == {
        "Cost Optimization"}


def test_markdown_mojibake_is_repaired(report, report_bytes):
    text = report_bytes.decode("utf-8")
    # the sample really holds the three kinds of mojibake ...
    assert "âš\xa0ï¸" in text and "âœ…" in text and "â\x9dŒ" in text
    assert "âš ï¸ Partial" in text and "‚úÖ" in text
    found = by_component(report)
    # ... and each is read as the emoji it was
    assert found["Retry with dead-letter queue"].status == "partial"
    assert found["Retry with dead-letter queue"].raw_status == "⚠️ Partial"
    assert found["Backup encryption"].status == "implemented"
    assert found["MFA for administrators"].status == "missing"
    assert found["MFA for administrators"].raw_status == "❌ Not Implemented"
    assert found["SSO / OAuth"].status == "partial"  # "âš ï¸" with the invisible byte lost
    assert found["Encryption at rest"].status == "implemented"
    assert found["Audit trail"].status == "implemented"  # Mac Roman "‚úÖ"


def test_markdown_stated_scores_become_pillar_scores(report):
    scores = {(s.pillar, s.score, s.line_no) for s in report.pillar_scores}
    assert scores == {
        ("Reliability", 82.0, 12), ("Security", 74.0, 13), ("Cost Optimization", 68.0, 14),
        ("Operational Excellence", 80.0, 15), ("Gold Layer", 70.0, 90),
    }


def test_markdown_warns_line_by_line_about_what_it_did_not_read(report):
    assert report.warnings == [
        "line 16: 'Performance Efficiency': score 'N/A' is not a number; not read",
        "line 18: status marker outside a table or list: "
        "'Legend: ✅ implemented, ⚠️ partial, ❌ missing.'; not read",
        "line 31: status 'Maybe' not recognised for 'Geo-redundant storage'; not read",
        "line 52: status '✅ Missing': marker says implemented, word says missing for "
        "'Vulnerability scanning'; not read",
        "line 56: no status for 'Web application firewall'; not read",
        "line 66: status marker outside a table or list: "
        "'Some costs are tracked ✅ in a spreadsheet by finance.'; not read",
        "line 78: row 'Change management | ✅ | CAB weekly | ex…' has 4 cells, the header "
        "has 3 (an unescaped '|'?); not read",
        "line 80: heading 'Performance Efficiency': score '??/100' is not a number; not read",
    ]
    lines = (DATA / "assessment_report.md").read_text(encoding="utf-8").splitlines()
    assert "Maybe" in lines[31 - 1] and "extra cell" in lines[78 - 1]


def test_markdown_with_known_pillars_gives_codes_and_inherits_parent_pillar(report_bytes):
    rep = parse_markdown(report_bytes, pillars=ALL_PILLARS)
    found = by_component(rep)
    assert found["Backups with point-in-time restore"].pillar == "reliability"
    # "### Backup details" names no pillar: it keeps "## 1. Reliability"
    assert found["Restore drill"].pillar == "reliability"
    assert found["Gold quality gates"].pillar == "gold"
    assert found["Compute autoscaling"].pillar == "cost_optimization"
    assert {s.pillar: s.score for s in rep.pillar_scores} == {
        "reliability": 82.0, "security": 74.0, "cost_optimization": 68.0,
        "operational_excellence": 80.0, "gold": 70.0,
    }
    assert len(rep.findings) == 36


def test_markdown_str_and_bytes_give_the_same_report(report_bytes, report):
    again = parse_markdown(report_bytes.decode("utf-8"))
    assert again.findings == report.findings and again.warnings == report.warnings
    with_bom = parse_markdown(b"\xef\xbb\xbf" + report_bytes)
    assert with_bom.findings == report.findings


def test_markdown_that_is_not_utf8_is_refused_with_its_line():
    with pytest.raises(ImportFormatError, match="line 3") as info:
        parse_markdown(b"# T\n\n| a | \xff |\n")
    assert info.value.line_no == 3


def test_markdown_conflicting_duplicate_score_is_reported():
    text = "# R\n\n## Security (Score: 70/100)\n\n## Security (Score: 60/100)\n"
    rep = parse_markdown(text)
    assert [(s.pillar, s.score) for s in rep.pillar_scores] == [("Security", 70.0)]
    assert rep.warnings == [
        "line 5: second score 60 for 'Security' (line 3 says 70); kept the first"]


def test_markdown_table_without_header_separator_or_component_is_reported():
    text = (
        "## Security\n"
        "| Control | Status |\n"
        "| MFA | ✅ |\n"
        "\n"
        "| Status | Owner |\n"
        "|---|---|\n"
        "| ✅ | | \n"
    )
    rep = parse_markdown(text)
    assert rep.findings == []
    assert rep.warnings == [
        "line 2: table without a header separator row; not read",
        "line 7: row with status '✅' has no component; not read",
    ]


def test_markdown_short_row_is_reported_with_its_text():
    text = ("## Reliability\n\n| Component | Status | Evidence |\n|---|---|---|\n"
            "| Backups | ✅ | nightly |\n| garbage row without status |\n")
    rep = parse_markdown(text)
    assert [f.component for f in rep.findings] == ["Backups"]
    assert rep.warnings == [
        "line 6: row 'garbage row without status' has 1 cells, the header has 3; not read"]


def test_markdown_status_column_found_by_its_markers_when_unnamed():
    text = "## Reliability\n\n| Item | | Notes |\n|---|---|---|\n| Backups | ✅ | nightly |\n"
    rep = parse_markdown(text)
    assert [(f.component, f.status, f.evidence) for f in rep.findings] == [
        ("Backups", "implemented", "nightly")]


def test_markdown_large_report_is_read_quickly():
    rows = "\n".join(f"| Control {i} | {'✅' if i % 3 else '❌ Missing'} | evidence {i} |"
                     for i in range(1000))
    text = f"# Big\n\n## Security (Score: 50/100)\n\n| Control | Status | Evidence |\n" \
           f"|---|---|---|\n{rows}\n"
    start = time.perf_counter()
    rep = parse_markdown(text)
    elapsed = time.perf_counter() - start
    assert len(rep.findings) == 1000 and not rep.warnings
    assert sum(f.status == "missing" for f in rep.findings) == 334
    assert elapsed < 2.0, elapsed


# --------------------------------------------------------------------------- statuses

@pytest.mark.parametrize(("cell", "status"), [
    ("✅", "implemented"), ("Implemented", "implemented"), ("Done", "implemented"),
    ("yes", "implemented"), ("**✅ Implemented**", "implemented"),
    ("⚠️", "partial"), ("⚠", "partial"), ("Partial", "partial"), ("Manual", "partial"),
    ("Partially implemented", "partial"), ("⚠️ Partial (no PITR)", "partial"),
    ("Planned", "planned"), ("🔄", "planned"), ("⏳ Planned", "planned"),
    ("In progress", "planned"),
    ("❌", "missing"), ("Missing", "missing"), ("Not Implemented", "missing"),
    ("No", "missing"), ("❌ Not implemented", "missing"),
    ("N/A", "not_applicable"), ("n/a", "not_applicable"), ("Not applicable", "not_applicable"),
    ("Unknown", "unknown"), ("❓", "unknown"),
    ("âœ…", "implemented"), ("âš ï¸", "partial"), ("âŒ", "missing"),
])
def test_normalize_status(cell, status):
    assert normalize_status(cell)[0] == status


@pytest.mark.parametrize(("cell", "why"), [
    ("", "no status"), ("Maybe", "not recognised"), ("✅ ❌", "conflicting markers"),
    ("✅ Missing", "marker says implemented"), ("Nope", "not recognised"),
    ("Notable", "not recognised"),
])
def test_normalize_status_refuses_to_guess(cell, why):
    with pytest.raises(StatusError, match=why):
        normalize_status(cell)


def test_fix_mojibake_leaves_clean_text_alone():
    assert fix_mojibake("Café ✅ – déjà vu") == "Café ✅ – déjà vu"
    assert fix_mojibake("plain") == "plain"
    assert fix_mojibake("Ã©tÃ© âœ…") == "été ✅"


# --------------------------------------------------------------------------- pillars

@pytest.mark.parametrize(("heading", "code"), [
    ("Reliability (Score: 82/100)", "reliability"),
    ("## 1. Reliability (Score: 82/100)", "reliability"),
    ("Security Pillar", "security"),
    ("Cost Optimization", "cost_optimization"),
    ("Storage Engine", "storage_engine"),
    ("Gold Layer", "gold"),
    ("🥇 Gold layer (Score: 7/10)", "gold"),
    ("Pillar 3: Operational Excellence", "operational_excellence"),
    ("Performance", "performance_efficiency"),
    ("Databricks SQL Warehouse", "sql_engine"),
    ("Data Governance", "governance"),
    ("Security and Reliability", None),
    ("Executive summary", None),
    ("", None),
])
def test_match_pillar(heading, code):
    assert match_pillar(heading, ALL_PILLARS) == code


def test_match_pillar_with_plain_names_returns_the_matching_name():
    names = ["Reliability", "reliability", "Security", "security", "Gold", "gold"]
    assert match_pillar("Reliability (Score: 82/100)", names) == "Reliability"
    assert match_pillar("Gold Layer", names) == "Gold"
    assert match_pillar("Zone redundancy", names) is None
    assert match_pillar("Cost", ["cost_optimization", "Cost Optimization"]) == \
        "cost_optimization"


def test_match_pillar_uses_given_aliases():
    pillars = [("reliability", "Reliability", ("Resiliency", "HA/DR"))]
    assert match_pillar("HA/DR", pillars) == "reliability"
    assert match_pillar("Resiliency review", pillars) == "reliability"


# --------------------------------------------------------------------------- AWS lens

def test_aws_lens_controls_and_findings():
    rep = parse_aws_lens((DATA / "aws_custom_lens.json").read_text(encoding="utf-8"))
    assert rep.title == "ERP Data Platform Lens"
    codes = [c.code for c in rep.controls]
    assert codes == ["erp_rel_backup", "erp_rel_jobs", "erp_gov_quality", "erp_gov_lineage"]
    backup = rep.controls[0]
    assert backup.pillar == "Reliability"
    assert backup.severity == "high"  # default rule HIGH_RISK
    assert backup.reference_url == (
        "https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-backup-restore")
    assert "Continuous WAL archiving with point-in-time restore" in backup.description
    assert "None of these" not in backup.description  # the _no choice is not a practice
    assert "quarterly restore drill" in backup.recommendation
    assert rep.controls[1].severity == "medium"
    assert rep.controls[1].reference_url == \
        "https://learn.microsoft.com/azure/architecture/patterns/retry"
    assert rep.controls[2].pillar == "Data Governance"
    assert match_pillar(rep.controls[2].pillar, ALL_PILLARS) == "governance"
    # a lens has no answers: every question is unanswered
    assert [(f.control_code, f.status, f.raw_status) for f in rep.findings] == [
        (code, "unknown", "UNANSWERED") for code in codes]


def test_aws_lens_warnings():
    rep = parse_aws_lens((DATA / "aws_custom_lens.json").read_bytes())
    assert rep.warnings == [
        "pillars[1].questions[0] (erp_gov_quality): no 'default' risk rule; "
        "severity left empty",
        "pillars[1].questions[1].choices[0] (erp_gov_lineage_uc): no improvementPlan",
        "pillars[1].questions[1] (erp_gov_lineage): risk 'LOW_RISK' not recognised; "
        "severity left empty",
        "pillars[1].questions[2]: question id 'erp_rel_backup' appears twice; "
        "second one not read",
        "pillars[1].questions[3]: question without id or title; not read",
        "lens: the file carries no answers; its 4 question(s) are imported with status "
        "unknown (AWS UNANSWERED)",
    ]


def _answered_lens():
    lens = json.loads((DATA / "aws_custom_lens.json").read_text(encoding="utf-8"))
    reliability, governance = lens["pillars"]
    # inline answer on the question (lens camelCase)
    reliability["questions"][0]["answer"] = {
        "selectedChoices": ["erp_rel_backup_pitr"], "notes": "PITR on, no drill yet",
        "risk": "MEDIUM",
    }
    # answer keys directly on the question, every practice selected
    reliability["questions"][1]["selectedChoices"] = ["erp_rel_jobs_retry",
                                                      "erp_rel_jobs_alert"]
    # answers beside the lens, in the Well-Architected Tool API shape (PascalCase)
    lens["AnswerSummaries"] = [
        {"QuestionId": "erp_gov_quality", "SelectedChoices": ["erp_gov_quality_no"],
         "Risk": "HIGH"},
        {"QuestionId": "erp_gov_lineage", "IsApplicable": False,
         "Reason": "ARCHITECTURE_CONSTRAINTS", "Notes": "no Unity Catalog in this region"},
        {"QuestionId": "not_in_the_lens", "Risk": "NONE"},
    ]
    return lens


def test_aws_lens_answers_give_statuses():
    rep = parse_aws_lens(json.dumps(_answered_lens()))
    got = {f.control_code: (f.status, f.raw_status, f.na_reason) for f in rep.findings}
    assert got == {
        "erp_rel_backup": ("partial", "1/2 SELECTED", None),
        "erp_rel_jobs": ("implemented", "2/2 SELECTED", None),
        "erp_gov_quality": ("missing", "NONE OF THESE", None),
        "erp_gov_lineage": ("not_applicable", "NOT_APPLICABLE", "architecture_constraints"),
    }
    backup = rep.findings[0]
    assert backup.evidence.splitlines() == [
        "PITR on, no drill yet",
        "Selected: Continuous WAL archiving with point-in-time restore", "AWS risk: MEDIUM"]
    assert "lens: the file carries no answers" not in " ".join(rep.warnings)
    assert rep.warnings[-1] == "answers: question id 'not_in_the_lens' is not in the lens; " \
                               "not read"


def test_aws_lens_answers_that_cannot_be_read_are_reported():
    lens = _answered_lens()
    reliability = lens["pillars"][0]["questions"]
    reliability[0]["answer"] = {"selectedChoices": ["erp_rel_backup_pitr", "erp_rel_backup_no"]}
    reliability[1].pop("selectedChoices")  # now unanswered, while others are answered
    lens["AnswerSummaries"][0] = {"QuestionId": "erp_gov_quality",
                                  "SelectedChoices": ["ghost_choice"]}
    rep = parse_aws_lens(json.dumps(lens))
    got = {f.control_code: f.status for f in rep.findings}
    assert got == {"erp_rel_backup": "unknown", "erp_rel_jobs": "unknown",
                   "erp_gov_quality": "unknown", "erp_gov_lineage": "not_applicable"}
    text = "\n".join(rep.warnings)
    assert "pillars[0].questions[0] (erp_rel_backup): 'None of these' selected together " \
           "with best practices; status unknown" in text
    assert "pillars[0].questions[1] (erp_rel_jobs): no answer; status unknown " \
           "(AWS UNANSWERED)" in text
    assert "(erp_gov_quality): selected choice(s) ghost_choice not in the question; " \
           "ignored" in text
    assert "(erp_gov_quality): answer selects no choice and states no risk; status " \
           "unknown" in text


def test_aws_lens_risk_alone_gives_the_status():
    lens = {"schemaVersion": "2021-11-01", "name": "L", "pillars": [{
        "id": "p", "name": "P", "questions": [
            {"id": f"q{i}", "title": f"Q{i}", "risk": risk,
             "choices": [{"id": f"q{i}_a", "title": "a",
                          "improvementPlan": {"displayText": "x"}}],
             "riskRules": [{"condition": "default", "risk": "HIGH_RISK"}]}
            for i, risk in enumerate(["NONE", "MEDIUM", "HIGH", "UNANSWERED"])]}]}
    rep = parse_aws_lens(json.dumps(lens))
    assert [f.status for f in rep.findings] == ["implemented", "partial", "missing", "unknown"]
    assert rep.warnings == ["pillars[0].questions[3] (q3): answer says UNANSWERED; status "
                            "unknown"]


def test_aws_lens_format_limits_are_reported():
    lens = {"schemaVersion": "2021-11-01", "name": "L", "pillars": [{
        "id": "p", "name": "P", "questions": [{
            "id": f"q{i}", "title": f"Q{i}",
            "choices": [{"id": f"c{i}_{j}", "title": "c",
                         "improvementPlan": {"displayText": "x"}} for j in range(16)],
            "riskRules": [{"condition": "default", "risk": "NO_RISK"}],
        } for i in range(21)]}]}
    rep = parse_aws_lens(json.dumps(lens))
    assert len(rep.controls) == 21
    assert rep.warnings[0] == "pillars[0] (P): 21 questions, the format allows 20; all read"
    assert "16 choices, the format allows 15" in rep.warnings[1]
    assert rep.controls[0].severity == "low"


def test_aws_lens_broken_json_names_the_line():
    with pytest.raises(ImportFormatError, match="line 3 column") as info:
        parse_aws_lens('{\n  "name": "x",\n  "pillars": [,]\n}')
    assert info.value.line_no == 3
    with pytest.raises(ImportFormatError, match="no 'pillars' list"):
        parse_aws_lens('{"items": []}')


# --------------------------------------------------------------------------- Azure

def test_azure_checklist_guid_becomes_the_control_code():
    rep = parse_azure_checklist((DATA / "azure_review_checklist.json").read_text("utf-8"))
    assert rep.title == "ERP Platform Review"
    assert [c.code for c in rep.controls] == [
        "9c3d1c0e-5b7a-4e4b-9f2a-1f0c2d3e4a51", "0b8e3f6a-2c4d-4a1e-8f7b-6d5c4b3a2910",
        "4f2a9b1c-7d3e-4c5f-a6b7-8c9d0e1f2a3b", "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
        "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70", "e6f7a8b9-c0d1-4e2f-8a3b-4c5d6e7f8091",
    ]
    first = rep.controls[0]
    assert (first.pillar, first.severity) == ("Reliability", "high")
    assert first.reference_url.startswith("https://learn.microsoft.com/azure/postgresql")
    assert first.description.startswith("Resiliency / Backup")
    statuses = [(f.control_code[:8], f.status, f.raw_status) for f in rep.findings]
    assert statuses == [
        ("9c3d1c0e", "implemented", "Fulfilled"), ("0b8e3f6a", "missing", "Open"),
        ("4f2a9b1c", "unknown", "Not verified"), ("a1b2c3d4", "not_applicable", "Not required"),
        ("d4e5f6a7", "unknown", "Not verified"),
    ]
    geo = rep.findings[0]
    assert geo.evidence.startswith("Geo-redundant backup enabled on 2026-07-01")
    assert geo.evidence_url == "https://portal.azure.com/#resource/erp-pg"
    assert {match_pillar(f.pillar, ALL_PILLARS) for f in rep.findings} == {
        "reliability", "security", "cost_optimization", "operational_excellence"}


def test_azure_checklist_warnings():
    rep = parse_azure_checklist((DATA / "azure_review_checklist.json").read_bytes())
    assert rep.warnings == [
        "items[5] (e6f7a8b9-c0d1-4e2f-8a3b-4c5d6e7f8091): severity 'Critical' not "
        "recognised; left empty",
        "items[5] (e6f7a8b9-c0d1-4e2f-8a3b-4c5d6e7f8091): status 'Maybe later' not "
        "recognised; not read",
        "items[6] ('Store secrets in Key Vault'): no guid; not read",
        "items[7] (9c3d1c0e-5b7a-4e4b-9f2a-1f0c2d3e4a51): guid appears twice; "
        "second one not read",
    ]


def test_azure_checklist_wrong_shape_is_refused():
    with pytest.raises(ImportFormatError, match="no 'items' list"):
        parse_azure_checklist("[1, 2]")
    with pytest.raises(ImportFormatError, match="expected text or bytes"):
        parse_azure_checklist(42)



# --------------------------------------------------------------------------- N/A, risks, roadmap


def test_not_applicable_reason_is_read_only_when_stated(report):
    na = {f.component: f.na_reason for f in report.findings if f.status == "not_applicable"}
    assert len(na) == 2
    assert set(na.values()) <= {None, "out_of_scope", "business_priorities",
                                "architecture_constraints"}
    rep = parse_markdown(
        "## Reliability\n\n| Component | Status | Evidence |\n|---|---|---|\n"
        "| A | N/A | out of scope for the pilot |\n| B | Not applicable | |\n"
        "| C | ➖ | business priorities first |\n| D | ✅ | out of scope |\n")
    assert [(f.component, f.status, f.na_reason) for f in rep.findings] == [
        ("A", "not_applicable", "out_of_scope"), ("B", "not_applicable", None),
        ("C", "not_applicable", "business_priorities"), ("D", "implemented", None)]


def test_azure_not_required_item_reads_its_reason_from_the_comments():
    rep = parse_azure_checklist(json.dumps({"items": [
        {"guid": "g1", "text": "t1", "severity": "Low", "status": "Not required",
         "comments": "Out of scope: single region"},
        {"guid": "g2", "text": "t2", "severity": "Low", "status": "Not required"},
    ]}))
    assert [(f.status, f.na_reason) for f in rep.findings] == [
        ("not_applicable", "out_of_scope"), ("not_applicable", None)]


def test_markdown_risk_table_of_the_sample_is_read(report):
    assert [(r.title, r.likelihood, r.impact, r.line_no) for r in report.risks] == [
        ("Zone outage", 2, 5, 101)]


RISKS_AND_ROADMAP = """# Plan

## Reliability

| Risk | Likelihood | Impact | Mitigation | Owner | Due |
|---|---|---|---|---|---|
| Zone outage | 2 | Severe | Multi-zone replica | Mitchell Admin | 2026-03-01 |
| Lost backups | often | 4 (Major) | Restore drill | | soon |

## Roadmap

### Phase 1 (0–30 days)

| Action | Priority | Effort | Pillar | Depends on |
|---|---|---|---|---|
| Enable PITR | P0 | 2 d | Reliability | |
| Restore drill | High | 1 week | Reliability, Security | Enable PITR |
| Size it | P5 | 3-5 days | | #1 |

### Later

| Phase | Action | Priority | Status |
|---|---|---|---|
| 60-90 days | Multi-zone | P1 | In progress |
| Q3 | Vector index | P3 | ✅ |

## Notes

| Metric | Value |
|---|---|
| Users | 120 |
"""


def test_markdown_risk_and_roadmap_tables():
    rep = parse_markdown(RISKS_AND_ROADMAP)
    assert rep.findings == []
    risk = rep.risks[0]
    assert (risk.title, risk.likelihood, risk.impact, risk.mitigation, risk.owner,
            risk.due_date, risk.context_pillar) == (
        "Zone outage", 2, 5, "Multi-zone replica", "Mitchell Admin", "2026-03-01",
        "Reliability")
    assert (rep.risks[1].likelihood, rep.risks[1].impact, rep.risks[1].due_date) == (
        None, 4, None)
    plan = [(r.title, r.phase, r.priority, r.effort_days, r.pillars, r.depends_on, r.state)
            for r in rep.recommendations]
    assert plan == [
        ("Enable PITR", "0_30", "P0", 2.0, ["Reliability"], [], None),
        ("Restore drill", "0_30", "P1", 5.0, ["Reliability", "Security"], ["Enable PITR"],
         None),
        ("Size it", "0_30", None, 5.0, [], ["#1"], None),
        ("Multi-zone", "60_90", "P1", None, [], [], "doing"),
        ("Vector index", None, "P3", None, [], [], "done"),
    ]
    assert rep.warnings == [
        "line 8: risk 'Lost backups': likelihood 'often' is not 1-5 or a known word; left "
        "at the default",
        "line 8: risk 'Lost backups': due date 'soon' is not a date (YYYY-MM-DD); left empty",
        "line 18: recommendation 'Size it': priority 'P5' not recognised; left to the default",
        "line 18: recommendation 'Size it': effort '3-5 days' is a range; the upper bound 5 "
        "days is kept",
        "line 25: recommendation 'Vector index': phase 'Q3' not recognised (0-30, 30-60, "
        "60-90 days or later); left to the default",
        "line 29: table with columns ['Metric', 'Value'] has no status or score column; its "
        "1 row(s) not read",
    ]
