# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""What the words of a report mean: table columns (findings, risks, roadmaps), bold
labels (gaps, strengths, verdicts...) and the status a list item starts with."""

import re

from .common import (
    STATUS_MARKERS,
    StatusError,
    _word_status,
    norm,
)

COLUMNS = {
    "status": ("status", "state", "result", "implemented", "implementation", "compliance",
               "current status", "état", "etat", "statut", "estado", "durum", "done"),
    "component": ("component", "control", "capability", "item", "feature", "check",
                  "requirement", "practice", "best practice", "area", "topic", "aspect",
                  "criterion", "criteria", "service", "question", "name", "sub area",
                  "subarea", "composant", "contrôle", "componente", "bileşen", "kontrol"),
    "evidence": ("evidence", "gap", "gaps", "notes", "note", "comment", "comments",
                 "details", "detail", "finding", "findings", "observation", "observations",
                 "description", "remarks", "justification", "rationale", "preuve",
                 "evidencia", "kanıt", "purpose", "your equivalent", "equivalent"),
    "pillar": ("pillar", "engine", "layer", "category", "domain", "pilier", "pilar"),
    "code": ("id", "code", "control id", "control code", "ref", "guid", "#"),
    "link": ("link", "url", "reference", "evidence url", "evidence link", "source"),
    "score": ("score", "rating", "points", "alignment score", "maturity", "alignment",
              "note /100"),
    "grade": ("grade",),
    "recommendation": ("recommendation", "recommendations", "next step", "action"),
    "current": ("current", "current state", "today"),
    "target": ("target", "target state", "goal"),
}
RISK_COLUMNS = {
    "title": ("risk", "title", "threat", "scenario", "risk description", "risque",
              "riesgo", "risk name"),
    "likelihood": ("likelihood", "probability", "prob", "l", "probabilité", "probabilidad",
                   "olasılık"),
    "impact": ("impact", "consequence", "i", "impacto", "etki"),
    "residual_likelihood": ("residual likelihood", "residual probability"),
    "residual_impact": ("residual impact",),
    "severity": ("severity", "criticality", "level", "sévérité", "severidad"),
    "mitigation": ("mitigation", "mitigations", "response", "treatment", "action",
                   "actions", "countermeasure"),
    "owner": ("owner", "responsible", "assignee", "risk owner"),
    "due": ("due", "due date", "deadline", "target date", "by"),
    "pillar": ("pillar", "engine", "layer", "category", "domain"),
    "state": ("status", "state"),
}
ROADMAP_COLUMNS = {
    "title": ("recommendation", "action", "task", "initiative", "item", "title", "what",
              "activity", "deliverable", "step", "description", "work item", "improvement"),
    "phase": ("phase", "timeline", "timeframe", "time frame", "when", "horizon", "window"),
    "priority": ("priority", "prio"),
    "effort": ("effort", "effort days", "effort d", "estimate", "days", "duration", "size"),
    "pillar": ("pillar", "pillars", "engine", "layer", "category", "domain"),
    "owner": ("owner", "responsible", "assignee", "who"),
    "depends": ("depends on", "dependencies", "dependency", "after", "blocked by",
                "prerequisites"),
    "state": ("status", "state"),
    "gain": ("impact", "score gain", "gain", "expected gain"),
}
_OVERALL = ("overall", "total", "overall score", "total score", "aggregate", "summary",
            "global", "score global", "puntuación global", "genel")
_LABEL_RE = re.compile(r"^\*\*(?P<label>[^*]{1,80}?)\*\*\s?:?\s?(?P<rest>.*)$|"
                       r"^(?P<plain>[A-Za-z][\w /-]{0,40}?):\s(?P<prest>.*)$", re.S)
_NUMBERED_RE = re.compile(r"^(?:\*\*)?\s?(?:\d{1,3}(?:\.\d{1,3}){0,3}|[a-z])[.)]\s")
_SOURCE_RE = re.compile(r"^\s{0,8}(?:--|#|//|/\*|<!--|;|%)\s{0,4}(?:from|source|file|fichier|"
                        r"archivo|kaynak)\s?:?\s{0,4}(?P<path>[^\s*>]{1,300})", re.I)
_GAP_PREFIX_RE = re.compile(r"^(?:no|missing|lack of|without|pas de|sin|aucun|aucune) ", re.I)
_MARKER_CHARS = "".join(STATUS_MARKERS) + "\ufe0f\ufe0e "
_TRAILING_STATUS_RE = re.compile(r"\s(missing|not implemented|absent|not configured|"
                                 r"manquant|faltante|eksik)$", re.I)


def _kind_of_label(label):
    low = norm(label)
    for words, kind in (
        (("gap", "weakness", "issue", "missing", "lacune", "brecha", "eksik"), "gaps"),
        (("strength", "what works", "positive", "point fort", "fortaleza", "güçlü"),
         "strengths"),
        (("recommendation", "next step", "improvement", "action", "recommandation",
          "recomendación", "recomendacion", "öneri", "roadmap"), "recs"),
        (("evaluated", "scope", "what we checked", "périmètre", "alcance"), "evaluated"),
        (("risk",), "risks"),
        (("status", "verdict", "decision", "go live", "approval", "conclusion",
          "readiness", "karar", "décision", "decisión", "production ready",
          "ready for production", "go no go"), "verdict"),
    ):
        if any(word in low for word in words):
            return kind
    return None


def _roles(header, spec):
    """Column index of each role of ``spec`` found in ``header``."""
    roles = {}
    names = [norm(h) or h.strip() for h in header]
    for pass_no in (0, 1):
        for idx, name in enumerate(names):
            if idx in roles.values() or not name:
                continue
            for role, words in spec.items():
                if role in roles:
                    continue
                hit = name in words if pass_no == 0 else any(
                    name.startswith(w + " ") or name.endswith(" " + w) for w in words
                    if len(w) > 2
                )
                if hit:
                    roles[role] = idx
                    break
    return roles


def _leading_status(text):
    """``(status, note, raw, rest)`` of a list item that starts with a marker, else None.

    A status word right after the marker (``⚠️ Missing: ...``, ``✅ Done``) states the
    status and wins over the marker; otherwise the text is the component.
    """
    body = text
    while body and (body[0] in STATUS_MARKERS or body[0] in "\ufe0f\ufe0e "):
        body = body[1:]
    marker = text[: len(text) - len(body)].strip()
    markers = {STATUS_MARKERS[ch] for ch in marker if ch in STATUS_MARKERS}
    if not markers:
        return None
    if len(markers) > 1:
        raise StatusError(f"status {marker!r} has conflicting markers")
    status, note, raw = markers.pop(), "", marker
    plain = body.replace("**", "")
    word, phrase = _word_status(plain)
    if word and (len(plain) == len(phrase) or plain[len(phrase):][:2] in (
            ": ", " -", " —", " –", ":")):
        if word != status:
            note = f"the marker says {status}, the word says {word}: the word wins"
        status, raw = word, f"{marker} {plain[:len(phrase)]}"
        body = plain[len(phrase):].strip(" :-–—")
    return status, note, raw, body
