# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""The assessment report a consultant hands to the customer, as plain data for QWeb.

The template (``ipai_waf_assessment_report.xml``) only lays out what this model prepares:
wkhtmltopdf runs no JavaScript reliably, so the pillar chart is a CSS bar chart whose
widths are computed here, and the risk matrix is a table of counts.
"""

from odoo import api, models

from ..engine.grading import grade_for
from ..engine.risk import IMPACT_LABELS, LIKELIHOOD_LABELS, rate

TOP_RISKS = 5
# grade letter -> bar colour (green to red, readable in black-and-white print too)
GRADE_COLOURS = {"A": "#2e7d32", "B": "#7cb342", "C": "#f9a825", "D": "#ef6c00", "F": "#c62828"}
LEVEL_COLOURS = {"low": "#c8e6c9", "medium": "#fff59d", "high": "#ffcc80",
                 "critical": "#ef9a9a"}
STATUS_ORDER = ("missing", "partial", "planned", "unknown", "implemented", "not_applicable")


def _colour(grade):
    return GRADE_COLOURS.get((grade or "F")[:1].upper(), "#757575")


class ReportIpaiWafAssessment(models.AbstractModel):
    _name = "report.ipai_waf_assessment.report_assessment"
    _description = "Well-Architected Assessment Report"

    @api.model
    def _get_report_values(self, docids, data=None):
        docs = self.env["ipai.waf.assessment"].browse(docids)
        return {
            "doc_ids": docids, "doc_model": "ipai.waf.assessment", "docs": docs,
            "sections": {doc.id: self._sections(doc) for doc in docs},
        }

    @api.model
    def _sections(self, doc):
        bands = self.env["ipai.waf.grade.band"]._get_bands()
        card = doc._scorecard_dict()
        frameworks = []
        for fw in card["frameworks"]:
            if not fw["pillars"]:
                continue
            pillars = []
            for p in fw["pillars"]:
                assessed = any(p["counts"].values()) or p["override_score"] is not None
                grade = grade_for(round(p["score"] or 0.0, 1), bands)[0] if assessed else ""
                pillars.append({
                    "name": p["name"], "score": p["score"] or 0.0, "assessed": assessed,
                    "grade": grade, "colour": _colour(grade),
                    "width": max(0.0, min(100.0, p["score"] or 0.0)),
                    "override": p["override_score"] is not None,
                })
            score = fw["score"]
            grade = grade_for(round(score, 1), bands)[0] if score is not None else ""
            frameworks.append({"name": fw["name"], "score": score, "grade": grade,
                               "colour": _colour(grade), "pillars": pillars})

        counts = {}
        for risk in doc.risk_ids:
            key = (risk.likelihood, risk.impact)
            counts[key] = counts.get(key, 0) + 1
        matrix = [{
            "likelihood": lk, "label": LIKELIHOOD_LABELS[lk],
            "cells": [{"count": counts.get((lk, im), 0),
                       "colour": LEVEL_COLOURS[rate(lk, im)[1]]} for im in range(1, 6)],
        } for lk in range(5, 0, -1)]
        top_risks = doc.risk_ids.sorted(lambda r: (-r.rating, r.id))[:TOP_RISKS]

        phases = []
        Rec = self.env["ipai.waf.recommendation"]
        phase_labels = dict(Rec._fields["phase"]._description_selection(self.env))
        for key, label in phase_labels.items():
            items = doc.recommendation_ids.filtered(lambda r, k=key: r.phase == k)
            if items:
                phases.append({
                    "label": label, "items": items,
                    "effort": sum(items.mapped("effort_days")),
                    "done": len(items.filtered(lambda r: r.state == "done")),
                })

        by_pillar = []
        rank = {s: i for i, s in enumerate(STATUS_ORDER)}
        for pillar in doc.finding_ids.pillar_id.sorted(
                lambda p: (p.framework_id.sequence, p.framework_id.id, p.sequence, p.id)):
            findings = doc.finding_ids.filtered(lambda f, p=pillar: f.pillar_id == p).sorted(
                lambda f: (rank.get(f.status, 99), f.control_id.code or ""))
            by_pillar.append({
                "pillar": pillar, "findings": findings,
                "open": len(findings.filtered(lambda f: f.status in ("missing", "partial"))),
            })
        previous = doc.previous_id
        return {
            "overall": doc.overall_score, "overall_colour": _colour(doc.grade),
            "previous": previous, "delta": (doc.overall_score - previous.overall_score)
            if previous else None,
            "frameworks": frameworks, "impact_labels": IMPACT_LABELS, "matrix": matrix,
            "risk_count": len(doc.risk_ids), "top_risks": top_risks,
            "phases": phases, "findings_by_pillar": by_pillar,
        }
