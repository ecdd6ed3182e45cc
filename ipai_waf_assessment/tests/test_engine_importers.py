# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Plain tests of the importers (no database): the corpus in tests/data, bad input,
statuses, phases, pillars, matching, and the AWS lens and Azure checklist formats."""

import json
import time
from collections import Counter
from pathlib import Path

from odoo.addons.ipai_waf_assessment.engine.importers import (
    Catalog,
    ImportFormatError,
    StatusError,
    apply_changes,
    build_plan,
    fix_mojibake,
    match_pillar,
    normalize_status,
    parse_aws_lens,
    parse_azure_checklist,
    parse_markdown,
    parse_phase,
    read_status,
)
from odoo.tests import BaseCase

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


def read(name):
    return parse_markdown((DATA / name).read_bytes())


def findings(rep):
    return [(f.line_no, f.pillar, f.component, f.status) for f in rep.findings]


class TestMarkdownCorpus(BaseCase):
    """Each report of the corpus, read exactly: findings, statuses, scores, phases."""

    def test_01_pillar_sections_with_the_table_further_down(self):
        rep = read("report_01_pillar_sections.md")
        self.assertEqual(findings(rep), [
            (27, "reliability", "PostgreSQL Backups", "implemented"),
            (28, "reliability", "Container health checks", "partial"),  # ✅ Partial
            (29, "reliability", "Automated failover", "planned"),  # ⚠️ Planned
            (30, "reliability", "Multi-zone deployment", "missing"),
            (31, "reliability", "Restore drill", "partial"),  # ⚠️ Manual
            (34, "reliability", "Connection pooling with PgBouncer", "implemented"),
            (37, "reliability", "Multi-zone deployment", "missing"),  # a gap bullet
            (38, "reliability", "Retry with dead-letter queue", "missing"),
            (50, "security", "MFA", "missing"),
            (51, "security", "Supabase RLS", "implemented"),
            (52, "security", "Secrets management", "unknown"),  # ⚠️ Unknown
            (53, "security", "Quantum flux shielding", "missing"),
        ])
        by_line = {f.line_no: f for f in rep.findings}
        self.assertEqual(by_line[28].note,
                         "the marker says implemented, the word says partial: the word wins")
        self.assertEqual(by_line[53].evidence, "job dependencies; nothing")
        self.assertEqual([(s.pillar, s.score, s.line_no) for s in rep.pillar_scores],
                         [("reliability", 82.0, 17), ("security", 74.0, 44)])
        self.assertEqual(rep.overall_score, 78.0)
        self.assertEqual([(s.name, s.score, s.grade, s.framework, s.status)
                          for s in rep.stated_scores], [
            ("Azure WAF (Aggregate)", 78.0, "B+", "azure_waf", "Production Ready"),
            ("Databricks Lakehouse", 71.0, "B", "databricks_lakehouse", "Needs Work"),
            ("Overall", 76.0, "B+", None, "Production Ready"),
        ])
        self.assertEqual(rep.decision, "Go-Live Status: ✅ APPROVED with conditions "
                                       "(close the two security gaps first)")
        self.assertEqual([(r.title, r.phase, r.gain, r.context_pillar)
                          for r in rep.recommendations], [
            ("Add a second availability zone", "0_30", 5.0, "reliability"),
            ("Automate the restore drill", None, None, "reliability"),
        ])
        self.assertEqual([(r.title, r.likelihood, r.impact, r.severity) for r in rep.risks],
                         [("Single-zone outage", 3, 4, "high"),
                          ("Admin account takeover", 2, 5, "high")])
        self.assertEqual(rep.warnings, [])

    def test_02_evidence_documents_with_mojibake(self):
        rep = read("report_02_evidence_mojibake.md")
        self.assertEqual(findings(rep), [
            (7, "reliability", "Multi-Layer Data Resilience", "implemented"),
            (14, "reliability", "Automated Job Retries", "implemented"),
            (25, "cost_optimization", "Compute Autoscaling", "partial"),
        ])
        self.assertEqual(rep.findings[0].evidence, (
            "Multi-Layer Data Resilience\nSource: migrations/005_rls_policies.sql\n"
            "-- From migrations/005_rls_policies.sql\n"
            "ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;"))
        self.assertIn("Source: .github/workflows/ci.yml", rep.findings[1].evidence)
        self.assertEqual([(s.pillar, s.score) for s in rep.pillar_scores],
                         [("reliability", 85.0), ("cost_optimization", 62.0)])
        self.assertEqual(rep.warnings, [
            "line 34: status marker outside a table or list: 'Some costs are tracked ✅ in "
            "a spreadsheet by finance.'; not read"])

    def test_03_scorecard_sub_areas_never_overwrite_the_pillar_score(self):
        rep = read("report_03_scorecard_subareas.md")
        self.assertEqual([(s.pillar, s.score, s.line_no) for s in rep.pillar_scores],
                         [("reliability", 84.0, 5), ("security", 75.0, 6)])
        self.assertEqual(findings(rep), [
            (13, "reliability", "High Availability", "implemented"),
            (14, "reliability", "Disaster Recovery", "implemented"),
            (15, "reliability", "Backup Verification", "missing"),
            (21, "performance_efficiency", "Query caching", "partial"),
            (22, "performance_efficiency", "Database indexing", "implemented"),
        ])
        self.assertEqual(rep.findings[0].evidence, "Stated score 90%; Notes: two zones")
        self.assertEqual(rep.overall_score, 80.0)
        self.assertEqual(rep.warnings, [
            "line 17: heading 'Performance Efficiency': score 'N/A' is not a number; "
            "not read"])

    def test_04_alignment_tables_without_status_column(self):
        rep = read("report_04_alignment.md")
        self.assertEqual(findings(rep), [
            (7, "bronze", "Bronze layer", "partial"),
            (8, "silver", "Silver", "implemented"),
            (9, "gold", "Gold (Business)", "implemented"),
            (15, "governance", "Unity Catalog", "partial"),  # 65/100
            (16, None, "Data lineage", "missing"),  # 20%: the resolver finds its pillar
            (21, "sql_engine", "Query result caching", "implemented"),
            (28, "reliability", "Job orchestration", "implemented"),
            (28, "security", "Job orchestration", "partial"),
            (28, "operational_excellence", "Job orchestration", "implemented"),
            (29, "security", "Secrets vault", "implemented"),
            (29, "operational_excellence", "Secrets vault", "missing"),
        ])
        # a Recommendation cell is a recommendation; "None" and "-" are nothing
        self.assertEqual([(r.title, r.context_pillar) for r in rep.recommendations],
                         [("Enforce schema on ingest", "bronze")])
        self.assertNotIn("None", [f.component for f in rep.findings])
        self.assertEqual(rep.pillar_scores, [])
        self.assertEqual(rep.warnings, [])

    def test_05_roadmap_phases_from_headings_and_gains(self):
        rep = read("report_05_roadmap.md")
        self.assertEqual([(r.line_no, r.title, r.phase, r.gain) for r in rep.recommendations], [
            (7, "Enable point-in-time restore", "0_30", 5.0),
            (8, "Add health checks to every container", "0_30", None),
            (12, "Multi-zone deployment", "30_60", 8.0),
            (16, "Chaos testing", "later", None),
            (20, "Rotate the admin passwords", "0_30", None),
            (26, "Turn on query caching", "0_30", None),
            (30, "Right-size the warehouses", "0_30", 3.0),
            (34, "Move cold attachments to archive storage", "later", None),
        ])
        self.assertEqual({r.context_pillar for r in rep.recommendations}, {"reliability"})
        self.assertEqual(rep.recommendations[5].priority, "P1")
        self.assertEqual(rep.recommendations[5].effort_days, 2.0)
        self.assertEqual(rep.findings, [])

    def test_05_roadmap_tables_with_a_status_column_keep_their_states(self):
        # A roadmap tracked over months carries its progress; the column is no finding.
        rep = parse_markdown("""# Roadmap

## Reliability

### Improvement Roadmap

| # | Recommendation | Phase | Owner | Status |
|---|----------------|-------|-------|--------|
| 1 | Enable PITR | 0-30 days | ops | âœ… Done |
| 2 | Multi-zone deployment | 30-60 days | | In Progress |
| 3 | Chaos testing | 60-90 days | | not started |
| 4 | Retire the FTP drop | Later | | Won't do |
| 5 | Archive cold data | Later | | |
""")
        self.assertEqual(rep.findings, [])
        self.assertEqual([(r.title, r.phase, r.state) for r in rep.recommendations], [
            ("Enable PITR", "0_30", "done"), ("Multi-zone deployment", "30_60", "doing"),
            ("Chaos testing", "60_90", "todo"), ("Retire the FTP drop", "later", "dropped"),
            ("Archive cold data", "later", None),
        ])
        # a findings table with a Recommendation column is still a findings table
        rep = parse_markdown("""## Reliability

| Recommendation | Phase | Status |
|----------------|-------|--------|
| Backups | 0-30 days | ✅ Implemented |
| Failover | 30-60 days | ❌ Missing |
""")
        self.assertEqual([f.status for f in rep.findings], ["implemented", "missing"])

    def test_06_risk_tables_colours_and_register_statuses(self):
        rep = read("report_06_risks.md")
        self.assertEqual([(r.title, r.likelihood, r.impact, r.severity, r.state,
                           r.context_pillar) for r in rep.risks], [
            ("Credential leak", 2, 5, "high", None, "security"),
            ("DDoS", 3, 4, "high", None, "security"),
            ("Slow queries", 4, 2, "low", None, "security"),
            ("Single on-call engineer", None, None, "high", "accepted",
             "operational_excellence"),
            ("No runbook for restore", None, None, "medium", "mitigated",
             "operational_excellence"),
            ("Expired TLS certificate", None, None, "low", "closed", "operational_excellence"),
        ])
        self.assertEqual(rep.findings, [])  # colours in a severity column are no statuses

    def test_07_french_report(self):
        rep = read("report_07_french.md")
        self.assertEqual(findings(rep), [
            (7, "reliability", "Sauvegardes PostgreSQL", "implemented"),
            (8, "reliability", "Basculement automatique", "partial"),
            (9, "reliability", "Déploiement multi-zone", "missing"),
            (15, "security", "MFA", "planned"),
        ])
        self.assertEqual([(s.pillar, s.score) for s in rep.pillar_scores],
                         [("reliability", 70.0)])

    def test_08_spanish_report(self):
        rep = read("report_08_spanish.md")
        self.assertEqual(findings(rep), [
            (7, "security", "MFA", "missing"),
            (8, "security", "RLS Enforcement", "implemented"),
            (9, "security", "Cifrado en tránsito", "partial"),
        ])
        self.assertEqual([(r.title, r.likelihood, r.impact) for r in rep.risks],
                         [("Fuga de datos", 3, 4)])

    def test_09_turkish_report(self):
        rep = read("report_09_turkish.md")
        self.assertEqual(findings(rep), [
            (7, "security", "MFA", "missing"),
            (8, "security", "Gizli anahtar yönetimi", "partial"),
            (9, "security", "Denetim kaydı", "implemented"),
            (13, "cost_optimization", "Compute autoscaling", "implemented"),
        ])
        self.assertEqual(rep.pillar_scores[0].score, 55.0)

    def test_10_messy_report_nul_bytes_nulls_huge_values(self):
        rep = read("report_10_messy_utf8.md")
        self.assertEqual(findings(rep), [
            (7, "reliability", "Backups with point-in-time restore", "implemented"),
            (10, "reliability", "Multi-zone deployment", "missing"),
            (15, "security", "Encryption at rest", "implemented"),
            (16, "security", "Network segmentation", "partial"),
        ])
        self.assertEqual(rep.findings[0].evidence, "nightly dump – 14 days")
        self.assertEqual(rep.findings[1].evidence, "x" * 2000)  # a huge cell is cut
        self.assertEqual(rep.warnings, [
            "line 1: 2 NUL byte(s) removed",
            "line 3: heading 'Reliability': score '180/100' is outside 0-100; not read",
            "line 8: status 'null' not recognised for 'Container health checks'; not read",
            "line 9: status 'Maybe' not recognised for 'Automated failover'; not read",
            "line 11: row with status '✅' has no component; not read",
        ])

    def test_10_the_same_report_in_windows_1252(self):
        rep = read("report_10_messy_cp1252.md")
        self.assertEqual(findings(rep), [
            (7, "reliability", "Backups with point-in-time restore", "implemented"),  # OK Done
            (10, "reliability", "Multi-zone deployment", "missing"),  # NO
        ])
        self.assertEqual(rep.warnings[0], "line 7: the file is not UTF-8; read as Windows-1252")

    def test_11_utf16_with_bom_and_latin1(self):
        rep = read("report_11_utf16_bom.md")
        self.assertEqual(findings(rep), [(7, "security", "MFA", "missing"),
                                         (8, "security", "Chiffrement en transit",
                                          "implemented")])
        self.assertEqual(rep.title, "Rapport UTF-16")
        rep = read("report_11_latin1.md")
        self.assertEqual(findings(rep), [(7, "reliability", "Sauvegardes PostgreSQL",
                                          "partial")])
        self.assertEqual(rep.findings[0].evidence, "pas de restauration testée")
        # a byte cp1252 does not define: read as Latin-1
        rep = parse_markdown(b"## Security\n\n- \xe2\x9c\x85 MFA: on\n\n- x \x81\n")
        self.assertEqual(findings(rep), [(3, "security", "MFA", "implemented")])
        rep = parse_markdown("## Security\n\n- ✅ MFA: été\n".encode() + b"\x81")
        self.assertEqual(rep.warnings, ["line 4: the file is not UTF-8; read as Latin-1"])

    def test_12_loose_pillar_names(self):
        rep = read("report_12_loose_names.md")
        self.assertEqual(findings(rep), [
            (11, "cost_optimization", "Reserved capacity", "missing"),  # ❌ Not Used
            (15, "operational_excellence", "CI/CD", "implemented"),
            (16, "operational_excellence", "Runbooks", "partial"),
            (22, "governance", "Unity Catalog", "implemented"),
            (26, "gold", "Gold quality gates", "missing"),
            (30, "bronze", "Bronze monitoring", "partial"),
        ])
        self.assertEqual([(s.pillar, s.score) for s in rep.pillar_scores],
                         [("operational_excellence", 66.0)])

    def test_the_corpus_holds_at_least_twelve_reports(self):
        self.assertGreaterEqual(len(list(DATA.glob("report_*.md"))), 12)


class TestMarkdownBadInput(BaseCase):
    def test_empty_or_unrecognisable_documents_are_refused_with_what_is_expected(self):
        for content in ("", "   \n\n", b"", "just some prose\n\nwith no structure",
                        '{"a": 1}', b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"):
            with self.subTest(content=content[:10]):
                with self.assertRaisesRegex(ImportFormatError, "expected a Markdown "
                                            "assessment report"):
                    parse_markdown(content)

    def test_a_long_line_is_reported_and_linear(self):
        for line in ("# " + "a " * 500_000, "#" * 1_000_000, "[" * 1_000_000,
                     "## " + "Score: " * 600, "*a" * 500_000, "<" * 1_000_000):
            doc = "## Security\n\n- ✅ MFA: on\n\n" + line + "\n"
            start = time.perf_counter()
            rep = parse_markdown(doc)
            self.assertLess(time.perf_counter() - start, 2.0)
            self.assertEqual(findings(rep), [(3, "security", "MFA", "implemented")])
        self.assertRegex(rep.warnings[0], r"^line 5: 1000000 characters long")

    def test_a_4kb_heading_is_read_at_once(self):
        start = time.perf_counter()
        rep = parse_markdown("## Reliability " + "(Score: 8" * 500 + "\n\n- ✅ Backups: ok\n")
        self.assertLess(time.perf_counter() - start, 0.5)
        self.assertEqual(rep.findings[0].component, "Backups")

    def test_a_10_mb_document_is_read_whole_or_refused_within_its_budget(self):
        row = "| Backups with point-in-time restore | ✅ Implemented | nightly pg_dump |\n"
        section = ("## Reliability (Score: 80/100)\n\n| Component | Status | Evidence |\n"
                   "|---|---|---|\n" + row * 200 + "\n- ✅ item: x\n\n")
        doc = section * (10_000_000 // len(section))
        # Whatever the machine's speed: the whole report, or the budget's refusal.
        try:
            rep = parse_markdown(doc)
        except ImportFormatError as exc:
            self.assertIn("could not be read within", str(exc))
        else:
            self.assertEqual({f.component for f in rep.findings},
                             {"Backups with point-in-time restore", "item"})
        # A budget far shorter than the parse stops it, about when it runs out.
        start = time.perf_counter()
        with self.assertRaisesRegex(ImportFormatError, r"could not be read within 0\.05 s"):
            parse_markdown(doc, time_budget=0.05)
        self.assertLess(time.perf_counter() - start, 1.5, "stopped, not run to the end")

    def test_5000_rows_are_read_quickly(self):
        row = "| Backups with point-in-time restore | ✅ Implemented | nightly pg_dump |\n"
        doc = "## Reliability\n\n| Component | Status | Evidence |\n|---|---|---|\n" + \
            row * 5000
        start = time.perf_counter()
        rep = parse_markdown(doc)
        self.assertLess(time.perf_counter() - start, 1.0)
        self.assertEqual(len(rep.findings), 5000)

    def test_deeply_nested_json_is_a_format_error(self):
        for parse in (parse_aws_lens, parse_azure_checklist):
            with self.assertRaisesRegex(ImportFormatError, "nested too deeply"):
                parse("[" * 100_000 + "]" * 100_000)


class TestStatusesPhasesPillars(BaseCase):
    def test_marker_and_word(self):
        cases = [
            ("✅ Implemented", "implemented", ""), ("⚠️ Partial", "partial", ""),
            ("❌ Not Implemented", "missing", ""), ("⚠️ Planned", "planned", "word wins"),
            ("✅ Partial", "partial", "word wins"), ("⚠️ Unknown", "unknown", "word wins"),
            ("⚠️ Manual", "partial", ""), ("❌ Not Used", "missing", ""),
            ("⚠️ Missing job dependencies", "missing", "word wins"),
            ("✅ Shipped", "implemented", "marker (implemented) decides"),
            ("âœ… Implemented", "implemented", ""), ("âš ï¸ Partial", "partial", ""),
            ("âŒ Missing", "missing", ""), ("Implementado", "implemented", ""),
            ("Kısmi", "partial", ""), ("Non implémenté", "missing", ""),
            ("N/A", "not_applicable", ""), ("❓", "unknown", ""),
        ]
        for cell, status, note in cases:
            with self.subTest(cell=cell):
                reading = read_status(cell)
                self.assertEqual(reading.status, status)
                if note:
                    self.assertIn(note, reading.note)
                else:
                    self.assertEqual(reading.note, "")
        self.assertEqual(read_status("⚠️ Missing job dependencies").rest, "job dependencies")
        self.assertEqual(normalize_status("**✅ Done**"), ("implemented", "✅ Done"))

    def test_unreadable_statuses(self):
        for cell, why in (("", "no status"), ("Maybe", "not recognised"),
                          ("✅ ❌", "conflicting markers"), ("Notable", "not recognised")):
            with self.subTest(cell=cell), self.assertRaisesRegex(StatusError, why):
                read_status(cell)

    def test_phases(self):
        for text, phase in (("30 days", "0_30"), ("Days 31–60", "30_60"), ("Q2", "later"),
                            ("Q1", "60_90"), ("Week 1-2", "0_30"),
                            ("Quick Improvements (2 weeks)", "0_30"),
                            ("Medium-term (1 month)", "0_30"), ("Medium-term", "30_60"),
                            ("60-90 days", "60_90"), ("90+", "later"), ("Long-term", "later"),
                            ("Phase 3 (3 months)", "60_90"), ("Phase 4 (6 months)", "later"),
                            ("Foundation", None)):
            with self.subTest(text=text):
                self.assertEqual(parse_phase(text), phase)

    def test_loose_pillar_names(self):
        for heading, code in (
            ("Cost Optimization Implementation", "cost_optimization"),
            ("Ops Excellence", "operational_excellence"),
            ("Operational Excellence (OpEx)", "operational_excellence"),
            ("Data Governance", "governance"), ("Bronze layer", "bronze"),
            ("Gold (Business)", "gold"), ("Pillar 1: Reliability (Score: 82/100)", "reliability"),
            ("## **✅ Reliability Implementation (85/100)**", "reliability"),
            ("Seguridad", "security"), ("安全", "security"), ("Fiabilité", "reliability"),
            ("Security and Reliability", None), ("Executive summary", None), ("", None),
        ):
            with self.subTest(heading=heading):
                self.assertEqual(match_pillar(heading, ALL_PILLARS), code)

    def test_fix_mojibake_leaves_clean_text_alone(self):
        self.assertEqual(fix_mojibake("Café ✅ – déjà vu"), "Café ✅ – déjà vu")
        self.assertEqual(fix_mojibake("Ã©tÃ© âœ…"), "été ✅")


def _catalog():
    pillars = [{"id": i + 1, "code": code, "name": name, "framework": fw}
               for i, (code, name, fw) in enumerate([
                   ("reliability", "Reliability", "azure_waf"),
                   ("security", "Security", "azure_waf"),
                   ("governance", "Governance", "databricks_lakehouse")])]
    controls = [
        {"id": 11, "code": "AZ-REL-01", "name": "Backups with point-in-time restore",
         "pillar_id": 1, "aliases": ["PostgreSQL Backups"]},
        {"id": 12, "code": "AZ-REL-02", "name": "Container health checks", "pillar_id": 1},
        {"id": 21, "code": "AZ-SEC-06", "name": "Multi-factor authentication", "pillar_id": 2,
         "aliases": ["MFA"]},
        {"id": 22, "code": "AZ-SEC-04", "name": "Row-level security", "pillar_id": 2,
         "aliases": ["Supabase RLS", "RLS Enforcement"]},
        {"id": 23, "code": "AZ-SEC-01", "name": "Secrets management", "pillar_id": 2},
        {"id": 31, "code": "DBX-GOV-02", "name": "Data lineage", "pillar_id": 3},
    ]
    return Catalog(pillars=pillars, controls=controls)


class TestResolver(BaseCase):
    def test_aliases_then_fuzzy_then_unmatched_company_controls(self):
        plan = build_plan(read("report_01_pillar_sections.md"), _catalog(), "markdown")
        rows = [(r["line"], r["control_code"], r["match"], r["action"])
                for r in plan["findings"]]
        self.assertEqual(rows[0], (27, "AZ-REL-01", "name", "match"))  # alias
        self.assertEqual(rows[1][1:], ("AZ-REL-02", "name", "match"))
        self.assertEqual(rows[8][1:], ("AZ-SEC-06", "name", "match"))  # MFA
        self.assertEqual(rows[9][1:], ("AZ-SEC-04", "name", "match"))  # Supabase RLS
        # below the threshold: an unmatched row, to become a company control
        flux = plan["findings"][11]
        self.assertEqual((flux["action"], flux["match"], flux["control_id"]),
                         ("create", "none", None))
        self.assertTrue(flux["control_code"].startswith("IMP-QUANTUM-FLUX-SHIELDING-"))
        self.assertLess(flux["confidence"], 85)
        self.assertEqual(plan["stated"]["overall"], 78.0)
        self.assertEqual([p["pillar"] for p in plan["stated"]["pillars"]],
                         ["Reliability", "Security"])
        self.assertEqual(plan["recommendations"][0]["pillar_ids"], [1])
        json.dumps(plan)  # JSON-ready for the preview

    def test_fuzzy_match_within_the_pillar(self):
        rep = parse_markdown("## Reliability\n\n- ✅ Container healthchecks: ok\n"
                             "- ✅ Multi-factor authentication: wrong pillar\n")
        plan = build_plan(rep, _catalog(), "markdown")
        first, second = plan["findings"]
        self.assertEqual((first["control_code"], first["match"]), ("AZ-REL-02", "fuzzy"))
        self.assertGreaterEqual(first["confidence"], 85)
        self.assertEqual(second["action"], "create")  # never a control of another pillar

    def test_a_row_without_pillar_matches_an_exact_name_or_is_skipped(self):
        plan = build_plan(read("report_04_alignment.md"), _catalog(), "markdown")
        lineage = plan["findings"][4]
        self.assertEqual((lineage["control_code"], lineage["pillar"]),
                         ("DBX-GOV-02", "Governance"))
        rep = parse_markdown("| Component | Status |\n|---|---|\n| Flux | ✅ |\n")
        row = build_plan(rep, _catalog(), "markdown")["findings"][0]
        self.assertEqual(row["action"], "skip")
        self.assertIn("no pillar", row["reason"])

    def test_assessor_changes(self):
        plan = build_plan(read("report_01_pillar_sections.md"), _catalog(), "markdown")
        warnings = apply_changes(plan, {"findings": [
            {"key": "f12", "action": "match", "control_id": 23},
            {"key": "f1", "action": "skip"},
            {"key": "f2", "action": "match", "control_id": 999},  # not in the catalog
            {"key": "nope", "action": "skip"},
        ]}, _catalog())
        self.assertEqual((plan["findings"][11]["control_id"],
                          plan["findings"][11]["control_code"]), (23, "AZ-SEC-01"))
        self.assertEqual(plan["findings"][0]["action"], "skip")
        self.assertEqual(plan["findings"][1]["control_id"], 12)  # refused change
        self.assertEqual(len(warnings), 2)

    def test_lens_controls_are_identified_by_source(self):
        rep = parse_aws_lens((DATA / "aws_lens_serverless.json").read_bytes())
        plan = build_plan(rep, _catalog(), "aws_lens")
        self.assertEqual([c["code"] for c in plan["controls"]], [
            "aws_lens:serverless-data-lens:SEC1", "aws_lens:serverless-data-lens:SEC2",
            "aws_lens:serverless-data-lens:SUS1", "aws_lens:serverless-data-lens:NET1"])
        self.assertEqual([p["name"] for p in plan["new_pillars"]],
                         ["Security", "Sustainability", "Network"])
        self.assertEqual(plan["framework"], "Serverless Data Lens")

    def test_azure_pillars_stay_in_the_azure_framework(self):
        rep = parse_azure_checklist(json.dumps({"items": [
            {"guid": "g-1", "text": "Govern policies", "waf": "Governance",
             "category": "Governance", "severity": "High"},
            {"guid": "g-2", "text": "Encrypt", "waf": "Seguridad", "severity": "Medio"},
        ], "metadata": {"name": "Gov"}}))
        plan = build_plan(rep, _catalog(), "azure_checklist")
        self.assertEqual([c["pillar_id"] for c in plan["controls"]], [1, 2])
        self.assertEqual(plan["warnings"][0],
                         "item g-1: no pillar matches 'Governance'; control filed under "
                         "Reliability")


class TestAwsAzureFormats(BaseCase):
    def test_aws_lens_controls_and_findings(self):
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

    def test_aws_lens_warnings(self):
        rep = parse_aws_lens((DATA / "aws_custom_lens.json").read_bytes())
        assert rep.warnings == [
            "pillars[1].questions[0] (erp_gov_quality): no 'default' risk rule; "
            "severity high, the highest its rules state",
            "pillars[1].questions[1].choices[0] (erp_gov_lineage_uc): no improvementPlan",
            "pillars[1].questions[1] (erp_gov_lineage): risk 'LOW_RISK' not recognised; "
            "severity left empty",
            "pillars[1].questions[2]: question id 'erp_rel_backup' appears twice; "
            "second one not read",
            "pillars[1].questions[3]: question without id or title; not read",
            "lens: the file carries no answers; its 4 question(s) are imported with status "
            "unknown (AWS UNANSWERED)",
        ]


    @staticmethod
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

    def test_aws_lens_answers_give_statuses(self):
        rep = parse_aws_lens(json.dumps(self._answered_lens()))
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

    def test_aws_lens_answers_that_cannot_be_read_are_reported(self):
        lens = self._answered_lens()
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

    def test_aws_lens_risk_alone_gives_the_status(self):
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

    def test_aws_lens_format_limits_are_reported(self):
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

    def test_aws_lens_broken_json_names_the_line(self):
        with self.assertRaisesRegex(ImportFormatError, "line 3 column") as info:
            parse_aws_lens('{\n  "name": "x",\n  "pillars": [,]\n}')
        assert info.exception.line_no == 3
        with self.assertRaisesRegex(ImportFormatError, "a 'pillars' list"):
            parse_aws_lens('{"items": []}')


    # --------------------------------------------------------------------------- Azure

    def test_azure_checklist_guid_becomes_the_control_code(self):
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

    def test_azure_checklist_warnings(self):
        rep = parse_azure_checklist((DATA / "azure_review_checklist.json").read_bytes())
        assert rep.warnings == [
            "items[5] (e6f7a8b9-c0d1-4e2f-8a3b-4c5d6e7f8091): status 'Maybe later' not "
            "recognised; not read",
            "items[6] ('Store secrets in Key Vault'): no guid; not read",
            "items[7] (9c3d1c0e-5b7a-4e4b-9f2a-1f0c2d3e4a51): guid appears twice; "
            "second one not read",
        ]

    def test_azure_checklist_wrong_shape_is_refused(self):
        with self.assertRaisesRegex(ImportFormatError, "an 'items' list"):
            parse_azure_checklist("[1, 2]")
        with self.assertRaisesRegex(ImportFormatError, "expected text or bytes"):
            parse_azure_checklist(42)



    # N/A, risks, roadmap

    def test_azure_not_required_item_reads_its_reason_from_the_comments(self):
        rep = parse_azure_checklist(json.dumps({"items": [
            {"guid": "g1", "text": "t1", "severity": "Low", "status": "Not required",
             "comments": "Out of scope: single region"},
            {"guid": "g2", "text": "t2", "severity": "Low", "status": "Not required"},
        ]}))
        assert [(f.status, f.na_reason) for f in rep.findings] == [
            ("not_applicable", "out_of_scope"), ("not_applicable", None)]


    def test_aws_lens_variations(self):
        rep = parse_aws_lens((DATA / "aws_lens_serverless.json").read_bytes())
        self.assertEqual([(c.code, c.pillar, c.severity) for c in rep.controls], [
            ("SEC1", "Security", "high"), ("SEC2", "Security", "high"),
            ("SUS1", "Sustainability", "medium"), ("NET1", "Network", "high")])
        self.assertEqual([(f.control_code, f.status, f.na_reason) for f in rep.findings], [
            ("SEC1", "partial", None), ("SEC2", "unknown", None),
            ("SUS1", "missing", None), ("NET1", "not_applicable", "out_of_scope")])
        self.assertEqual(rep.warnings, [
            "pillars[0].questions[1] (SEC2): no 'default' risk rule; severity high, the "
            "highest its rules state",
            "pillars[0].questions[1] (SEC2): choiceAnswers is int, not a list; ignored",
            "pillars[0].questions[1] (SEC2): answer selects no choice and states no risk; "
            "status unknown"])

    def test_azure_checklist_of_520_items(self):
        rep = parse_azure_checklist((DATA / "azure_checklist_app_service.json").read_bytes())
        self.assertEqual(rep.source, "azure_checklist:app-service-review")
        self.assertEqual(len(rep.controls), 520)
        self.assertEqual(Counter(f.status for f in rep.findings), {
            "not_applicable": 208, "unknown": 104, "missing": 104, "implemented": 104})
        self.assertEqual(Counter(c.severity for c in rep.controls),
                         {"high": 208, "medium": 208, "low": 104})  # Medio, 高 read
        self.assertEqual(Counter(c.pillar for c in rep.controls)["Seguridad"], 26)
        plan = build_plan(rep, _catalog(), "azure_checklist")
        by_name = {p["id"]: p["name"] for p in _catalog().pillars}
        pillars = Counter(by_name[c["pillar_id"]] for c in plan["controls"])
        self.assertEqual(pillars["Security"], 104)  # Security, Seguridad and 安全
        self.assertEqual(rep.warnings, [])

    def test_names_whose_numbers_differ_never_match(self):
        catalog = Catalog(pillars=[{"id": 1, "code": "reliability", "name": "Reliability",
                                    "framework": "azure_waf"}],
                          controls=[{"id": 5, "code": "X-1", "name": "Batch 2 item 0",
                                     "pillar_id": 1}])
        rep = parse_markdown("## Reliability\n\n- ✅ Batch 5 item 0: x\n- ✅ Batch 2 item 0: y\n")
        plan = build_plan(rep, catalog, "markdown")
        self.assertEqual([r["action"] for r in plan["findings"]], ["create", "match"])

    def test_list_items_with_a_marker_and_a_word(self):
        rep = parse_markdown("## Security\n\n- ⚠️ Missing: Secret rotation\n"
                             "- ✅ ❌ Odd: x\n- ✅ Compute autoscaling: HPA\n")
        self.assertEqual(findings(rep), [(3, "security", "Secret rotation", "missing"),
                                         (5, "security", "Compute autoscaling",
                                          "implemented")])
        self.assertIn("the word wins", rep.findings[0].note)
        self.assertEqual(rep.findings[1].note, "")
        self.assertEqual(rep.warnings, ["line 4: status '✅ ❌' has conflicting markers"])

    def test_an_assessor_created_control_gets_the_resolvers_company_code(self):
        plan = build_plan(read("report_01_pillar_sections.md"), _catalog(), "markdown")
        apply_changes(plan, {"findings": [{"key": "f9", "action": "create"}]}, _catalog())
        row = plan["findings"][8]  # MFA, matched by alias, made a company control instead
        self.assertEqual((row["action"], row["control_id"], row["control_name"]),
                         ("create", None, "MFA"))
        self.assertTrue(row["control_code"].startswith("IMP-MFA-"))
