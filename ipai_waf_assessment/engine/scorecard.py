# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""The exported scorecard: its JSON Schema, a content hash and a Markdown gaps report.

The scorecard is a plain dict built by the Odoo model (``export_scorecard``). Its shape
is published in ``scorecard.schema.json`` (JSON Schema draft 2020-12) next to this file,
so consumers can validate it without Odoo.

``content_hash`` is the sha256 of the canonical JSON of the scorecard *without* the
``content_hash`` key itself: keys sorted, separators ``,`` and ``:`` without spaces,
``ensure_ascii`` off, encoded as UTF-8. A reader recomputes it to prove the document was
not edited. ``generated_at`` is part of the hashed content, so two exports of the same
assessment at different times have different hashes.
"""

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import jsonschema

from .vocabulary import CLOSED_STATUSES

SCHEMA_PATH = Path(__file__).with_name("scorecard.schema.json")

# Keys left out of the hash: the hash itself.
HASH_EXCLUDED_KEYS = ("content_hash",)

STATUS_ORDER = ("missing", "unknown", "planned", "partial", "implemented", "not_applicable")
STATUS_LABELS = {
    "implemented": "Implemented",
    "partial": "Partial",
    "planned": "Planned",
    "missing": "Missing",
    "not_applicable": "Not applicable",
    "unknown": "Unknown",
}
STATUS_ICONS = {
    "implemented": "✅",
    "partial": "⚠️",
    "planned": "🔄",
    "missing": "❌",
    "not_applicable": "➖",
    "unknown": "❓",
}
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


@lru_cache(maxsize=1)
def load_schema():
    """The scorecard JSON Schema as a dict."""
    with SCHEMA_PATH.open(encoding="utf-8") as handle:
        return json.load(handle)


def validate(scorecard):
    """Validate a scorecard dict; raises ``jsonschema.ValidationError`` when it is invalid."""
    schema = load_schema()
    validator_cls = jsonschema.validators.validator_for(schema)
    validator = validator_cls(schema, format_checker=validator_cls.FORMAT_CHECKER)
    error = jsonschema.exceptions.best_match(validator.iter_errors(scorecard))
    if error is not None:
        raise error
    return True


def canonical_json(scorecard):
    """Canonical JSON text of the scorecard, without the keys excluded from the hash."""
    data = {k: v for k, v in scorecard.items() if k not in HASH_EXCLUDED_KEYS}
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def content_hash(scorecard):
    """sha256 hex digest of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(scorecard).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- Markdown


def _cell(value):
    """Text safe inside a Markdown table cell."""
    if value is None or value is False or value == "":
        return "—"
    if isinstance(value, float):
        value = f"{value:.1f}"
    text = " ".join(str(value).split())
    return text.replace("|", "\\|")


def _score(value):
    return "—" if value is None or value is False else f"{float(value):.1f}"


def _text(value):
    return " ".join(str(value).split()) if value else ""


def render_gaps_markdown(scorecard):
    """A Markdown gaps report of a scorecard dict (see the module docstring)."""
    assessment = scorecard.get("assessment") or {}
    overall = scorecard.get("overall") or {}
    out = [f"# Gaps report: {_text(assessment.get('name')) or 'assessment'}", ""]
    facts = [
        ("Workload", assessment.get("workload")),
        ("Repository", assessment.get("repository")),
        ("Branch", assessment.get("branch")),
        ("Date", assessment.get("date")),
        ("Milestone", assessment.get("milestone")),
        ("Rubric", scorecard.get("rubric_version")),
    ]
    for label, value in facts:
        if value not in (None, "", False):
            out.append(f"- **{label}:** {_text(value)}")
    grade = overall.get("grade") or "—"
    status = overall.get("status") or ""
    out.append(f"- **Overall:** {_score(overall.get('score'))} / 100, grade {grade}"
               + (f" ({status})" if status else ""))
    out.append("")

    # scores
    out += ["## Scores", ""]
    frameworks = scorecard.get("frameworks") or []
    if not frameworks:
        out += ["No framework was assessed.", ""]
    for framework in frameworks:
        out.append(f"### {_text(framework.get('name')) or framework.get('code')} "
                   f"(Score: {_score(framework.get('score'))}/100)")
        out.append("")
        out.append("| Pillar | Score | Computed | Override | Implemented | Partial | Planned "
                   "| Missing | Unknown | N/A |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for pillar in framework.get("pillars") or []:
            counts = pillar.get("counts") or {}
            override = pillar.get("override_score")
            override_cell = _score(override)
            if override is not None and pillar.get("override_justification"):
                override_cell += f" ({_cell(pillar['override_justification'])})"
            out.append(
                f"| {_cell(pillar.get('name') or pillar.get('code'))} "
                f"| {_score(pillar.get('score'))} | {_score(pillar.get('computed_score'))} "
                f"| {override_cell} "
                + " ".join(
                    f"| {counts.get(s, 0)}"
                    for s in ("implemented", "partial", "planned", "missing", "unknown",
                              "not_applicable")
                )
                + " |"
            )
        out.append("")

    # gaps
    out += ["## Gaps", ""]
    gaps = [
        f for f in scorecard.get("findings") or []
        if f.get("status") not in CLOSED_STATUSES
    ]
    if not gaps:
        out += ["No open gap: every applicable control is implemented.", ""]
    groups = {}
    for finding in gaps:
        key = (finding.get("framework") or "", finding.get("pillar") or "")
        groups.setdefault(key, []).append(finding)
    for (framework, pillar), items in sorted(groups.items()):
        title = " / ".join(p for p in (framework, pillar) if p) or "Unassigned"
        out += [f"### {title}", ""]
        items.sort(key=lambda f: (
            SEVERITY_ORDER.get(f.get("severity"), 3),
            STATUS_ORDER.index(f["status"]) if f.get("status") in STATUS_ORDER else 9,
            f.get("control_code") or "",
        ))
        out.append("| Control | Severity | Status | Evidence | Recommendation |")
        out.append("|---|---|---|---|---|")
        for f in items:
            status = f.get("status")
            evidence = _cell(f.get("evidence"))
            if f.get("evidence_url"):
                evidence = f"{evidence} ([link]({f['evidence_url']}))"
            out.append(
                f"| {_cell(f.get('control_code'))} {_cell(f.get('control_name'))} "
                f"| {_cell(f.get('severity'))} "
                f"| {STATUS_ICONS.get(status, '')} {STATUS_LABELS.get(status, status)} "
                f"| {evidence} | {_cell(f.get('recommendation'))} |"
            )
        out.append("")

    not_applicable = [f for f in scorecard.get("findings") or []
                      if f.get("status") == "not_applicable"]
    if not_applicable:
        out += ["### Not applicable (excluded from the scores)", ""]
        for f in not_applicable:
            reason = (f.get("na_reason") or "no reason given").replace("_", " ")
            out.append(f"- {_text(f.get('control_code'))} {_text(f.get('control_name'))}: "
                       f"{reason}")
        out.append("")

    # risks
    out += ["## Risks", ""]
    risks = sorted(scorecard.get("risks") or [], key=lambda r: -(r.get("rating") or 0))
    if risks:
        out.append("| Risk | Pillar | L × I | Rating | Residual | Mitigation | Owner | Due |")
        out.append("|---|---|---|---|---|---|---|---|")
        for r in risks:
            out.append(
                f"| {_cell(r.get('title'))} | {_cell(r.get('pillar'))} "
                f"| {_cell(r.get('likelihood'))} × {_cell(r.get('impact'))} "
                f"| {_cell(r.get('rating'))} {_cell(r.get('level'))} "
                f"| {_cell(r.get('residual_rating'))} {_cell(r.get('residual_level'))} "
                f"| {_cell(r.get('mitigation'))} | {_cell(r.get('owner'))} "
                f"| {_cell(r.get('due_date'))} |"
            )
    else:
        out.append("No risk recorded.")
    out.append("")

    # roadmap
    out += ["## Roadmap", ""]
    recommendations = scorecard.get("recommendations") or []
    if not recommendations:
        out += ["No recommendation recorded.", ""]
    phases = {}
    for rec in recommendations:
        phases.setdefault(rec.get("phase") or "unplanned", []).append(rec)

    def phase_key(phase):
        head = phase.split("-")[0].strip()
        return (0, int(head), phase) if head.isdigit() else (1, 0, phase)

    for phase in sorted(phases, key=phase_key):
        items = sorted(phases[phase], key=lambda r: (r.get("priority") or "P9",
                                                     r.get("title") or ""))
        total = sum(float(r.get("effort_days") or 0) for r in items)
        out += [f"### Phase {phase} ({len(items)} items, {total:g} days)", ""]
        out.append("| Priority | Recommendation | Pillars | Effort (days) | State | Owner "
                   "| Depends on |")
        out.append("|---|---|---|---:|---|---|---|")
        for r in items:
            out.append(
                f"| {_cell(r.get('priority'))} | {_cell(r.get('title'))} "
                f"| {_cell(', '.join(r.get('pillars') or []))} "
                f"| {_cell(r.get('effort_days'))} | {_cell(r.get('state'))} "
                f"| {_cell(r.get('owner'))} | {_cell(', '.join(r.get('depends_on') or []))} |"
            )
        out.append("")
    return "\n".join(out).rstrip() + "\n"
