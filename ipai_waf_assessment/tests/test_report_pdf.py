# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
import io
import shutil
import subprocess
import tempfile

from odoo.fields import Command
from odoo.tests import TransactionCase, tagged
from odoo.tools.pdf import PdfFileReader

PDFTOTEXT_TIMEOUT = 60  # seconds; a few pages take well under one


@tagged("post_install", "-at_install")
class TestAssessmentPdf(TransactionCase):
    """The printed report, rendered by the real wkhtmltopdf and read back with pdftotext."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        waf = cls.env.ref("ipai_waf_assessment.framework_azure_waf")
        cls.reliability = cls.env.ref("ipai_waf_assessment.pillar_azure_waf_reliability")
        cls.security = cls.env.ref("ipai_waf_assessment.pillar_azure_waf_security")
        cls.assessment = cls.env["ipai.waf.assessment"].create({
            "name": "Wombat Retail Platform", "workload": "wombat-retail",
            "framework_ids": [Command.set(waf.ids)],
        })
        Control = cls.env["ipai.waf.control"]
        cls.env["ipai.waf.finding"].create([
            {"assessment_id": cls.assessment.id, "status": status, "evidence": evidence,
             "control_id": Control.search([("code", "=", code)]).id}
            for code, status, evidence in (
                ("AZ-REL-01", "implemented", "PITR drill 2026-10-02 ✅"),
                ("AZ-REL-05", "missing", "one zone only"),
                ("AZ-SEC-06", "partial", "TOTP for 3 of 5 admins"),
            )
        ])
        cls.assessment._recompute_scores()
        scores = {s.pillar_id: s for s in cls.assessment.pillar_score_ids}
        scores[cls.reliability].write({
            "override_score": 73.5, "override_justification": "agreed in the read-out"})
        scores[cls.security].write({
            "override_score": 41.2, "override_justification": "MFA gap"})
        cls.assessment._recompute_scores()
        # six risks: the five highest ratings are the "top risks"
        cls.env["ipai.waf.risk"].create([
            {"assessment_id": cls.assessment.id, "title": title, "likelihood": lk,
             "impact": im, "mitigation": "see roadmap"}
            for title, lk, im in (
                ("Zonefail", 4, 5), ("Keyleak", 5, 4), ("Queuejam", 3, 4),
                ("Certlapse", 3, 3), ("Diskfull", 2, 4), ("Typosquat", 1, 2),
            )
        ])
        cls.env["ipai.waf.recommendation"].create([
            {"assessment_id": cls.assessment.id, "title": "Enable zone redundancy",
             "phase": "30_60", "priority": "P0", "effort_days": 5},
            {"assessment_id": cls.assessment.id, "title": "Enforce TOTP", "phase": "0_30",
             "priority": "P1", "effort_days": 1, "state": "done"},
        ])

    def _pdf(self):
        # Odoo returns HTML instead of a PDF while tests run, unless forced.
        content, fmt = self.env["ir.actions.report"].with_context(
            force_report_rendering=True)._render_qweb_pdf(
            "ipai_waf_assessment.report_assessment", self.assessment.ids)
        self.assertEqual(fmt, "pdf")
        self.assertTrue(content.startswith(b"%PDF-"), content[:40])
        return content

    def _text(self, pdf, *pages):
        with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
            fh.write(pdf)
            fh.flush()
            args = [shutil.which("pdftotext") or "pdftotext", "-layout"]
            if pages:
                args += ["-f", str(pages[0]), "-l", str(pages[1])]
            res = subprocess.run(args + [fh.name, "-"], capture_output=True, text=True,
                                 timeout=PDFTOTEXT_TIMEOUT, check=True)
        return res.stdout

    def test_the_pdf_shows_cover_scores_matrix_top_risks_and_roadmap(self):
        pdf = self._pdf()
        pages = len(PdfFileReader(io.BytesIO(pdf)).pages)
        self.assertGreater(pages, 1, "a cover page, then the report")
        cover = self._text(pdf, 1, 1)
        self.assertIn("Wombat Retail Platform", cover)
        self.assertIn("wombat-retail", cover)
        self.assertIn(self.env.company.name, cover)
        self.assertIn(f"{self.assessment.overall_score:.1f} / 100", cover)
        self.assertIn(f"Grade {self.assessment.grade}", cover)
        self.assertNotIn("Scores per pillar", cover, "the cover page is a page of its own")

        text = self._text(pdf)
        # the pillar chart: name and score on one line, with its grade
        self.assertRegex(text, r"Reliability\s+73\.5 B\s?\*")
        self.assertRegex(text, r"Security\s+41\.2 D\s?\*")
        self.assertRegex(text, r"Performance Efficiency\s+not assessed")
        # the risk matrix and the five top risks (the sixth, lowest one is not listed)
        self.assertIn("Risk matrix", text)
        self.assertIn("6 risks", text)
        for title in ("Zonefail", "Keyleak", "Queuejam", "Certlapse", "Diskfull"):
            self.assertIn(title, text)
        self.assertNotIn("Typosquat", text)
        self.assertLess(text.index("Keyleak"), text.index("Diskfull"), "highest rating first")
        # roadmap by phase, in phase order, with progress
        self.assertRegex(text, r"0-30 days · 1 items, 1 done, 1 days of effort")
        self.assertLess(text.index("Enforce TOTP"), text.index("Enable zone redundancy"))
        # findings grouped by pillar, open ones first
        self.assertRegex(text, r"Reliability · 2 findings, 1 missing or partial")
        self.assertIn("one zone only", text)
        self.assertLess(text.index("AZ-REL-05"), text.index("AZ-REL-01"))

    def test_the_form_prints_the_report_and_offers_the_exports(self):
        # Print and Action menus of the form: the header keeps the review's own steps
        report = self.env.ref("ipai_waf_assessment.ipai_waf_assessment_report_action")
        toolbar = self.env["ipai.waf.assessment"].get_views(
            [(False, "form")], {"toolbar": True})["views"]["form"]["toolbar"]
        self.assertIn(report.id, [a["id"] for a in toolbar["print"]])
        self.assertEqual(report.report_type, "qweb-pdf")
        self.assertLessEqual({"Gaps report (Markdown)", "Apply review results"},
                             {a["name"] for a in toolbar["action"]})
