# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Markdown assessment reports, read the way an assessor reads them.

The document goes through markdown-it-py's block parser (CommonMark plus tables), whose
token stream gives headings, tables, lists, paragraphs and fenced code with their line
numbers. Inline parsing is switched off: cell and heading text is read from the source
by :mod:`.common` (its regexes look at bounded text only), so parsing is linear in the
size of the document. The text is parsed in chunks cut at blank lines, and a time budget
is checked between chunks and while walking tokens: a document that cannot be read in
time is refused, it never holds a worker.

What is read (the patterns of real reports, in any combination):

1. Pillar sections: the pillar of anything is found by walking up the heading tree
   (``### Pillar 1: Reliability (Score: 82/100)`` > ``#### Findings`` > table).
   ``**Key Strengths:**``, ``**Gaps Identified:**`` and ``**Recommendations:**`` lists
   under a pillar belong to it; ``**What We Evaluated:**`` is scope, not findings.
2. Statuses: marker and word (``✅ Partial``): the word wins, the marker decides when
   the word is no status (with a note); text after the word is evidence.
3. Evidence documents: ``## **✅ Reliability Implementation (85/100)**`` >
   ``### Evidence in Your Code`` > ``#### 1. Multi-Layer Data Resilience`` + a fenced
   block: each numbered sub-section is a finding with the section's status, and its
   evidence is the title, the source path of the block's first comment and the excerpt.
4. Summary and scorecard tables: stated overall and framework scores and grades are kept
   as stated values; a sub-area score (``High Availability 90%``) is a finding of its
   pillar, never the pillar's score.
5. Alignment tables without a status column: score cells give a status through
   :data:`.common.SCORE_BANDS`; capability x pillar matrices give one finding per cell;
   a Recommendation cell becomes a recommendation; "None", "-" or empty is no finding.
6. Roadmaps: ``### Phase 1: Foundation Hardening (30 days)`` headings hold lists or
   tables of recommendations; the phase comes from the heading or the item; ``(+5
   points)`` is the expected gain.
7. Risk tables (``Risk | Impact | Probability | Mitigation``, or ``ID | Risk | Severity |
   Status``), High / Medium / Low / Critical and coloured markers read as levels.
8. Prose verdicts (``**Go-Live Status**: ✅ **APPROVED** with ...``, ``Production Ready:
   Yes``) become the decision, read as go / go with conditions / no-go by :mod:`.decision`.
9. Loose pillar names: "Cost Optimization Implementation", "Ops Excellence",
   "Operational Excellence (OpEx)", "Data Governance", "Bronze layer", "Gold (Business)".

Whatever carries a status but cannot be read is listed in ``warnings`` with its line.
"""

import re
import time

from markdown_it import MarkdownIt

from .common import (
    IMPACT_WORDS,
    LIKELIHOOD_WORDS,
    MAX_FIELD,
    PLAN_STATE_WORDS,
    STATUS_MARKERS,
    ImportFormatError,
    ParsedFinding,
    ParsedPillarScore,
    ParsedRecommendation,
    ParsedReport,
    ParsedRisk,
    ParsedStatedScore,
    StatusError,
    _word_status,
    clean_heading,
    clean_inline,
    empty_cell,
    extract_url,
    fix_mojibake,
    has_status_marker,
    match_framework,
    match_pillar,
    na_reason_for,
    norm,
    parse_date,
    parse_effort,
    parse_gain,
    parse_grade,
    parse_phase,
    parse_plan_state,
    parse_priority,
    parse_score,
    read_status,
    risk_state,
    scale_value,
    severity_value,
    status_for_score,
    strip_gain,
    to_text,
    unlink,
)
from .decision import read_decision

MAX_LINE = 20_000  # longer lines are reported and not read
CHUNK_LINES = 400  # the parser runs on chunks of about this many lines
TIME_BUDGET = 1.5  # seconds of parsing before the document is refused

_CELL_SPLIT_RE = re.compile(r"(?<!\\)\|")
_DELIMITER_CELL_RE = re.compile(r"^ {0,8}:?-{1,200}:? {0,8}$")


def _row_cells(line):
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [cell.replace("\\|", "|").strip() for cell in _CELL_SPLIT_RE.split(body)]


def _table_rule(state, start, end, silent):
    """GFM tables as one ``waf_row`` token per row (cells in ``meta``).

    markdown-it-py's own table rule emits eleven tokens per row of three cells and is
    the slowest part of reading a large report; this rule reads the same tables (a
    header row, a delimiter row, rows up to a blank line or a line without ``|``) in
    one pass.
    """
    if start + 2 > end or state.sCount[start] - state.blkIndent >= 4:
        return False
    first = state.src[state.bMarks[start] + state.tShift[start]:state.eMarks[start]]
    second = state.src[state.bMarks[start + 1] + state.tShift[start + 1]:
                       state.eMarks[start + 1]]
    if "|" not in first or "-" not in second or not set(second) <= set("|:- \t"):
        return False
    delimiter = _row_cells(second)
    if not delimiter or not all(_DELIMITER_CELL_RE.match(c) for c in delimiter):
        return False
    if silent:
        return True
    line = start + 2
    while line < end:
        text = state.src[state.bMarks[line] + state.tShift[line]:state.eMarks[line]]
        if not text.strip() or "|" not in text or state.sCount[line] - state.blkIndent >= 4:
            break
        line += 1
    token = state.push("table_open", "table", 1)
    token.map = [start, line]
    for row_line in (start, *range(start + 2, line)):
        text = state.src[state.bMarks[row_line] + state.tShift[row_line]:
                         state.eMarks[row_line]]
        token = state.push("waf_row", "tr", 0)
        token.map = [row_line, row_line + 1]
        token.meta = {"cells": _row_cells(text), "head": row_line == start}
    state.push("table_close", "table", -1)
    state.line = line
    return True


_MD = MarkdownIt("commonmark", {"maxNesting": 20})
_MD.block.ruler.before("code", "waf_table", _table_rule,
                       {"alt": ["paragraph", "reference", "blockquote", "list"]})
_MD.core.ruler.disable(["inline", "text_join"])

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


class _Heading:
    __slots__ = ("kind", "level", "line", "marker", "numbered", "phase", "pillar", "text")

    def __init__(self, level, raw, line):
        self.level = level
        self.line = line
        self.text = clean_heading(raw)
        self.pillar = None
        self.numbered = bool(_NUMBERED_RE.match(raw.replace("**", "").strip()))
        low = norm(self.text)
        self.phase = None
        if re.search(r"\b(phase|day|days|week|weeks|month|months|q[1-4]|term|quick|wave|"
                     r"sprint|jours|semaines|mois|días|semanas|meses|gün|hafta)\b", low):
            self.phase = parse_phase(raw)
        self.kind = None
        if "evidence" in low or "preuve" in low or "evidencia" in low or "kanıt" in low:
            self.kind = "evidence"
        elif self.phase or "roadmap" in low:
            self.kind = "recs"
        else:
            self.kind = _kind_of_label(self.text)
            if self.kind == "verdict":
                self.kind = None
        self.marker = None
        for ch in raw[:MAX_FIELD]:
            if ch in STATUS_MARKERS:
                self.marker = STATUS_MARKERS[ch]
                break


class _Reader:
    def __init__(self, pillars, deadline):
        self.pillars = pillars
        self.deadline = deadline
        self.report = ParsedReport(title=None)
        self.stack = []
        self.label = None  # kind of the last bold label paragraph under this heading
        self.pending = None  # evidence finding waiting for its code block
        self.scored = {}
        self.last_item = None

    # ------------------------------------------------------------ helpers
    def warn(self, line_no, message):
        self.report.warnings.append(f"line {line_no}: {message}")

    def _nearest(self, attr):
        """The ``attr`` of the nearest heading up the tree that has one."""
        for heading in reversed(self.stack):
            value = getattr(heading, attr)
            if value:
                return value
        return None

    def pillar(self):
        return self._nearest("pillar")

    def context_kind(self):
        return self.label or self._nearest("kind")

    def phase(self):
        return self._nearest("phase")

    def section_status(self):
        return self._nearest("marker")

    def match_pillar(self, text):
        return match_pillar(text, self.pillars)

    def add_finding(self, line_no, component, status, evidence="", raw="", pillar=None,
                    code=None, note="", url=None):
        component = " ".join(unlink(component).split())[:250]
        finding = ParsedFinding(
            pillar=pillar if pillar is not None else self.pillar(), component=component,
            status=status, evidence=(evidence or "").strip(), line_no=line_no,
            raw_status=raw or status, evidence_url=url or extract_url(evidence),
            control_code=code, note=note,
            na_reason=na_reason_for(raw, evidence) if status == "not_applicable" else None,
        )
        self.report.findings.append(finding)
        return finding

    def add_score(self, pillar, score, line_no):
        if pillar in self.scored:
            first_score, first_line = self.scored[pillar]
            if first_score != score:
                self.warn(line_no, f"second score {score:g} for {pillar} (line {first_line} "
                                   f"says {first_score:g}); kept the first")
            return
        self.scored[pillar] = (score, line_no)
        self.report.pillar_scores.append(ParsedPillarScore(pillar, score, line_no))

    def add_recommendation(self, line_no, text, phase=None, pillar=None):
        title = clean_inline(strip_gain(text))
        title = re.sub(r"\s?\((?:[^()]{0,40}(?:days?|weeks?|months?|q[1-4])[^()]{0,20})\)$",
                       "", title, flags=re.I).strip(" -–—:")
        if not title or empty_cell(title):
            return None
        rec = ParsedRecommendation(
            title=title[:250], line_no=line_no, phase=phase or parse_phase(text) or self.phase(),
            gain=parse_gain(text), context_pillar=pillar or self.pillar(),
        )
        self.report.recommendations.append(rec)
        return rec

    # ------------------------------------------------------------ blocks
    def heading(self, level, raw, line_no):
        raw = fix_mojibake(raw[:MAX_FIELD])
        head = _Heading(level, raw, line_no)
        while self.stack and self.stack[-1].level >= level:
            self.stack.pop()
        self.label = None
        self.pending = None
        parent_pillar = self.pillar()
        head.pillar = self.match_pillar(raw)
        if self.report.title is None and level == 1:
            self.report.title = head.text or None
        self.stack.append(head)
        score, why = parse_score(raw)
        if why:
            self.warn(line_no, f"heading {head.text!r}: {why}; not read")
            return
        low = norm(head.text)
        if head.pillar and score is not None:
            self.add_score(head.pillar, score, line_no)
        elif score is not None and (level == 1 or low in _OVERALL
                                    or any(w in low for w in ("overall", "executive"))):
            if self.report.overall_score is None:
                self.report.overall_score = score
        elif score is not None and match_framework(raw):
            self.report.stated_scores.append(ParsedStatedScore(
                head.text, score, None, "", line_no, framework=match_framework(raw)))
        elif score is not None and parent_pillar:
            # a sub-area of a pillar: a finding of that pillar, never its score
            self.add_finding(line_no, head.text, status_for_score(score),
                             f"Stated score {score:g}/100", raw=f"{score:g}/100",
                             pillar=parent_pillar)
        elif score is not None and not head.phase:
            self.warn(line_no, f"heading {head.text!r} states a score but names no pillar; "
                               "not read")
        if head.numbered and any(h.kind == "evidence" for h in self.stack[:-1]):
            status = self.section_status()
            note = "" if status else "no status marker on the section: unknown"
            self.pending = self.add_finding(
                line_no, head.text, status or "unknown", head.text,
                raw=status or "unknown", note=note)

    def fence(self, content, line_no):
        finding, self.pending = self.pending, None
        if finding is None:
            return
        lines = content.splitlines()
        source = None
        if lines:
            match = _SOURCE_RE.match(lines[0][:MAX_FIELD])
            if match:
                source = match.group("path").rstrip(":,;")
        excerpt = "\n".join(line[:300] for line in lines[:15])
        parts = [finding.evidence]
        if source:
            parts.append(f"Source: {source}")
        parts.append(excerpt)
        finding.evidence = "\n".join(p for p in parts if p)

    def verdict(self, label, rest):
        """The first verdict is the decision; a later one replaces it only when the
        first one states no go/no-go and the later one does."""
        code = read_decision(rest, label)
        if self.report.decision is None or (code and not self.report.decision_code):
            self.report.decision = f"{label}: {clean_inline(rest)}"[:500]
            self.report.decision_code = code

    def paragraph(self, content, line_no):
        text = fix_mojibake(content[:MAX_FIELD]).strip()
        match = _LABEL_RE.match(text)
        if not match and has_status_marker(text[:4]):
            # "✅ **Production Ready:** Yes": a marker before the label of a verdict
            body = text.lstrip(_MARKER_CHARS)
            bare = _LABEL_RE.match(body)
            label = bare and (bare.group("label") or bare.group("plain") or "").strip(" :")
            if label and _kind_of_label(label) == "verdict":
                rest = (bare.group("rest") if bare.group("label") is not None
                        else bare.group("prest")) or ""
                self.verdict(label, f"{text[:len(text) - len(body)]} {rest}".strip())
                return
        if match:
            label = (match.group("label") or match.group("plain") or "").strip(" :")
            rest = (match.group("rest") if match.group("label") is not None
                    else match.group("prest")) or ""
            rest = rest.strip()
            if ":" in label and not rest:
                label, _sep, rest = (part.strip() for part in label.partition(":"))
            kind = _kind_of_label(label)
            low = norm(label)
            score, _why = parse_score(rest) if "score" in low or "note" in low else (None, None)
            if score is not None:
                if any(w in low for w in ("overall", "total", "global", "aggregate")) or \
                        not self.pillar():
                    if self.report.overall_score is None:
                        self.report.overall_score = score
                else:
                    self.add_score(self.pillar(), score, line_no)
                return
            if kind == "verdict" and rest:
                self.verdict(label, rest)
                return
            if kind and kind != "verdict" and not rest:
                self.label = kind
                return
            if kind in ("gaps", "strengths", "recs") and rest:
                self.label = kind
                self.list_item(rest, line_no)
                return
        if has_status_marker(text):
            self.warn(line_no, f"status marker outside a table or list: "
                               f"{clean_inline(text)[:60]!r}; not read")

    def list_item(self, content, line_no, depth=1):
        text = clean_inline(fix_mojibake(content[:MAX_FIELD]))
        if not text:
            return
        if depth > 1:
            parent = self.last_item
            if isinstance(parent, ParsedFinding):
                parent.evidence = (parent.evidence + "\n" + text).strip()
            return
        kind = self.context_kind()
        self.last_item = None
        if kind == "evaluated":
            return
        if kind == "recs":
            self.last_item = self.add_recommendation(line_no, text)
            return
        try:
            leading = _leading_status(text)
        except StatusError as exc:
            self.warn(line_no, str(exc))
            return
        if leading is None and kind not in ("gaps", "strengths"):
            if has_status_marker(text):
                self.warn(line_no, f"status marker in the middle of a list item: "
                                   f"{text[:60]!r}; not read")
            return
        if leading:
            status, note, raw, body = leading
        elif kind == "gaps":
            status, note, raw, body = "missing", "listed as a gap", "gap", text
        else:
            status, note, raw, body = "implemented", "listed as a strength", "strength", text
        component, _sep, evidence = self._split_item(body)
        if kind == "gaps":
            component = _GAP_PREFIX_RE.sub("", component)
            component = component[:1].upper() + component[1:]
            trailing = _TRAILING_STATUS_RE.search(component)
            if trailing:  # "**Backup Strategy missing**"
                component = component[: trailing.start()].strip()
                status, note = "missing", ""
        if not component:
            self.warn(line_no, "list item has a status but no component; not read")
            return
        self.last_item = self.add_finding(line_no, component, status, evidence, raw=raw,
                                          note=note)

    @staticmethod
    def _split_item(body):
        body = body.strip()
        if body.startswith("**") and "**" in body[2:]:
            end = body.index("**", 2)
            return body[2:end].strip(" :"), ":", body[end + 2:].strip(" :-–—")
        body = body.replace("**", "")
        for sep in (": ", " — ", " – ", " - "):
            if sep in body:
                head, _s, tail = body.partition(sep)
                return head.strip(), sep, tail.strip()
        return body.strip(" :"), "", ""

    # ------------------------------------------------------------ tables
    def table(self, header, rows, line_no):
        header = [clean_inline(fix_mojibake(h))[:200] for h in header]
        rows = [(n, [clean_inline(fix_mojibake(c[:MAX_FIELD])) for c in cells])
                for n, cells in rows]
        rows = [(n, cells) for n, cells in rows if any(cells)]
        risk = _roles(header, RISK_COLUMNS)
        if "title" in risk and ({"likelihood", "impact", "severity"} & set(risk)):
            return self.risk_table(risk, rows)
        roles = _roles(header, COLUMNS)
        plan = _roles(header, ROADMAP_COLUMNS)
        if "title" in plan and (
            "phase" in plan or self.phase() or {"effort", "priority"} & set(plan)
        ) and "component" not in roles and "current" not in roles and (
            "status" not in roles or self._plan_states(rows, roles["status"])
        ):
            return self.roadmap_table(plan, rows)
        if "status" not in roles:
            marked = [i for i in range(len(header)) if i not in roles.values() and
                      sum(1 for _n, cells in rows if i < len(cells)
                          and has_status_marker(cells[i])) >= max(1, len(rows) // 2)]
            pillar_cols = [i for i, h in enumerate(header) if i and self.match_pillar(h)]
            if len(pillar_cols) >= 2:
                return self.matrix_table(header, pillar_cols, rows)
            if len(marked) == 1:
                roles["status"] = marked[0]
        if "score" in roles and ("grade" in roles or "status" not in roles):
            return self.score_table(header, roles, rows)
        if "status" in roles:
            return self.status_table(header, roles, rows)
        if "score" in roles:
            return self.score_table(header, roles, rows)
        if "current" in roles or ("evidence" in roles and header and "gap" in norm(
                header[roles["evidence"]])):
            return self.alignment_table(header, roles, rows)
        name_pillars = sum(1 for _n, cells in rows if cells and self.match_pillar(cells[0]))
        if "component" in roles and rows and name_pillars >= max(1, len(rows) // 2):
            return self.mapping_table(header, roles, rows)
        if any(has_status_marker(" ".join(cells)) for _n, cells in rows):
            self.warn(line_no, f"table with columns {header} has status markers but no "
                               "status column; not read")
        elif rows:
            self.warn(line_no, f"table with columns {header} has no status or score column; "
                               f"its {len(rows)} row(s) not read")

    @staticmethod
    def _plan_states(rows, idx):
        """Whether a column mostly holds roadmap words (to do, in progress, done).

        Implementation words (Implemented, Missing) make it a findings table, whatever
        the markers: the word states the status.
        """
        cells = [cells[idx] for _n, cells in rows if idx < len(cells) and cells[idx]
                 and not empty_cell(cells[idx])]
        planned = sum(1 for c in cells if norm(fix_mojibake(c)) in PLAN_STATE_WORDS)
        return bool(cells) and planned * 2 >= len(cells)

    @staticmethod
    def _cell(cells, roles, role):
        idx = roles.get(role)
        return cells[idx] if idx is not None and idx < len(cells) else ""

    def _row_pillar(self, cells, roles, first_is_name=True):
        cell = self._cell(cells, roles, "pillar")
        if cell:
            return self.match_pillar(cell)
        if first_is_name and cells:
            found = self.match_pillar(cells[0])
            if found:
                return found
        return self.pillar()

    def _other_cells(self, header, cells, used):
        return "; ".join(f"{header[i]}: {c}" for i, c in enumerate(cells)
                         if i not in used and i < len(header) and c and not empty_cell(c))

    def status_table(self, header, roles, rows):
        if "component" not in roles:
            free = [i for i in range(len(header)) if i not in roles.values()]
            if not free:
                self.warn(rows[0][0] - 2 if rows else 0,
                          f"table with columns {header} has no component column; not read")
                return
            roles["component"] = free[0]
        if "evidence" not in roles:
            free = [i for i in range(len(header)) if i not in roles.values()
                    and i > roles["status"] and header[i]]
            if free:
                roles["evidence"] = free[0]
        for line_no, cells in rows:
            component = self._cell(cells, roles, "component")
            status_text = self._cell(cells, roles, "status")
            if not component or empty_cell(component):
                if status_text:
                    self.warn(line_no, f"row with status {status_text!r} has no component; "
                                       "not read")
                continue
            if len(component) < 20 and norm(component) in _OVERALL:
                continue
            try:
                reading = read_status(status_text)
            except StatusError as exc:
                score, _why = parse_score(status_text)
                if score is None:
                    self.warn(line_no, f"{exc} for {component!r}; not read")
                    continue
                reading = None
            evidence = self._cell(cells, roles, "evidence")
            if reading is None:
                status, raw, note = status_for_score(score), status_text, "read from the score"
            else:
                status, raw, note = reading.status, reading.raw, reading.note
                if reading.rest:
                    evidence = "; ".join(p for p in (reading.rest, evidence) if p)
            code = self._cell(cells, roles, "code") or None
            pillar = self._row_pillar(cells, roles, first_is_name=False)
            self.add_finding(line_no, component, status, unlink(evidence), raw=raw,
                             pillar=pillar, code=code, note=note,
                             url=extract_url(self._cell(cells, roles, "link"), evidence))
            rec = self._cell(cells, roles, "recommendation")
            if rec and not empty_cell(rec):
                self.add_recommendation(line_no, rec, pillar=pillar)

    def score_table(self, header, roles, rows):
        name_idx = roles.get("component", roles.get("pillar"))
        if name_idx is None:
            free = [i for i in range(len(header)) if i not in roles.values()]
            name_idx = free[0] if free else 0
        pillar_idx = roles.get("pillar") if roles.get("pillar") != name_idx else None
        current_pillar = None
        for line_no, cells in rows:
            if name_idx >= len(cells):
                continue
            name = cells[name_idx]
            raw = self._cell(cells, roles, "score")
            if not name or empty_cell(raw):
                continue
            score, why = parse_score(raw)
            if score is None and why is None:
                try:
                    score = float(raw.replace(",", "."))
                except ValueError:
                    why = f"score {raw!r} is not a number"
                else:
                    if not 0 <= score <= 100:
                        score, why = None, f"score {raw!r} is outside 0-100"
            if why:
                self.warn(line_no, f"{name!r}: {why}; not read")
                continue
            grade = parse_grade(self._cell(cells, roles, "grade"))
            low = norm(clean_heading(name))
            if pillar_idx is not None and pillar_idx < len(cells):
                if cells[pillar_idx]:
                    current_pillar = self.match_pillar(cells[pillar_idx])
                row_pillar = current_pillar
            else:
                row_pillar = None
            framework = match_framework(name)
            pillar = None if framework else self.match_pillar(name)
            if pillar and (name_idx == roles.get("component") or pillar == self.pillar()):
                # a component or a sub-area named like a pillar ("High Availability")
                row_pillar = row_pillar or pillar
            if low in _OVERALL or any(w in low for w in ("overall", "aggregate", "total")) \
                    and not framework and not pillar:
                if self.report.overall_score is None:
                    self.report.overall_score = score
                self.report.stated_scores.append(ParsedStatedScore(
                    clean_heading(name), score, grade, self._cell(cells, roles, "status"),
                    line_no))
            elif framework:
                self.report.stated_scores.append(ParsedStatedScore(
                    clean_heading(name), score, grade, self._cell(cells, roles, "status"),
                    line_no, framework=framework))
            elif pillar and row_pillar is None:
                self.add_score(pillar, score, line_no)
            else:
                owner = row_pillar or self.pillar()
                used = {name_idx, roles["score"]} | ({pillar_idx} if pillar_idx is not None
                                                      else set())
                evidence = "; ".join(p for p in (f"Stated score {raw}",
                                                 self._other_cells(header, cells, used)) if p)
                finding = self.add_finding(line_no, clean_heading(name),
                                           status_for_score(score), evidence, raw=raw,
                                           note="read from the score")
                finding.pillar = owner

    def matrix_table(self, header, pillar_cols, rows):
        for line_no, cells in rows:
            if not cells or not cells[0] or empty_cell(cells[0]):
                continue
            capability = cells[0]
            for idx in pillar_cols:
                cell = cells[idx] if idx < len(cells) else ""
                if empty_cell(cell):
                    continue
                try:
                    reading = read_status(cell)
                    status, note = reading.status, reading.note
                except StatusError:
                    score, _why = parse_score(cell)
                    if score is None:
                        self.warn(line_no, f"{capability!r} / {header[idx]!r}: cell {cell!r} "
                                           "is no status or score; not read")
                        continue
                    status, note = status_for_score(score), "read from the score"
                self.add_finding(line_no, capability, status, f"{header[idx]}: {cell}",
                                 raw=cell, pillar=self.match_pillar(header[idx]), note=note)

    def alignment_table(self, header, roles, rows):
        gap_idx = roles.get("evidence")
        name_idx = roles.get("component", roles.get("pillar", 0))
        for line_no, cells in rows:
            if name_idx >= len(cells) or empty_cell(cells[name_idx]):
                continue
            name = cells[name_idx]
            pillar = self._row_pillar(cells, roles)
            gap = cells[gap_idx] if gap_idx is not None and gap_idx < len(cells) else ""
            status = "implemented" if empty_cell(gap) else "partial"
            used = {name_idx} | ({roles["recommendation"]} if "recommendation" in roles
                                 else set())
            self.add_finding(line_no, clean_heading(name), status,
                             self._other_cells(header, cells, used), raw=gap or "no gap",
                             pillar=pillar, note="no gap stated" if status == "implemented"
                             else "a gap is stated")
            rec = self._cell(cells, roles, "recommendation")
            if rec and not empty_cell(rec):
                self.add_recommendation(line_no, rec, pillar=pillar)

    def mapping_table(self, header, roles, rows):
        comp_idx = roles["component"]
        for line_no, cells in rows:
            if comp_idx >= len(cells) or empty_cell(cells[comp_idx]):
                continue
            pillar = self.match_pillar(cells[0]) or self.pillar()
            self.add_finding(line_no, cells[comp_idx], "implemented",
                             self._other_cells(header, cells, {comp_idx}), raw="in use",
                             pillar=pillar, note="a component in use")

    def risk_table(self, roles, rows):
        for line_no, cells in rows:
            title = unlink(self._cell(cells, roles, "title"))
            if not title or empty_cell(title):
                continue
            risk = ParsedRisk(title=title[:250], line_no=line_no,
                              mitigation=self._cell(cells, roles, "mitigation"),
                              owner=self._cell(cells, roles, "owner"),
                              context_pillar=self.pillar())
            for role, scale in (("likelihood", LIKELIHOOD_WORDS), ("impact", IMPACT_WORDS),
                                ("residual_likelihood", LIKELIHOOD_WORDS),
                                ("residual_impact", IMPACT_WORDS)):
                text = self._cell(cells, roles, role)
                if role not in roles or (role.startswith("residual") and not text):
                    continue
                value = scale_value(text, scale)
                if value is None:
                    self.warn(line_no, f"risk {title!r}: {role.replace('_', ' ')} "
                                       f"{text or '(empty)'!r} is not 1-5 or a known word; "
                                       "left at the default")
                setattr(risk, role, value)
            severity = self._cell(cells, roles, "severity")
            if severity:
                risk.severity = severity_value(severity)
                if risk.severity is None:
                    self.warn(line_no, f"risk {title!r}: severity {severity!r} not "
                                       "recognised; left empty")
            if risk.severity is None and risk.impact:
                risk.severity = "high" if risk.impact >= 4 else (
                    "medium" if risk.impact == 3 else "low")
            state = self._cell(cells, roles, "state")
            if state:
                risk.state = risk_state(state)
            pillar_cell = self._cell(cells, roles, "pillar")
            risk.pillar = pillar_cell or None
            due = self._cell(cells, roles, "due")
            if due:
                risk.due_date = parse_date(due)
                if risk.due_date is None:
                    self.warn(line_no, f"risk {title!r}: due date {due!r} is not a date "
                                       "(YYYY-MM-DD); left empty")
            self.report.risks.append(risk)

    def roadmap_table(self, roles, rows):
        for line_no, cells in rows:
            title = self._cell(cells, roles, "title")
            if not title or empty_cell(title):
                continue
            phase_text = self._cell(cells, roles, "phase")
            phase = parse_phase(phase_text) if phase_text else None
            if phase_text and phase is None:
                self.warn(line_no, f"recommendation {title!r}: phase {phase_text!r} not "
                                   "recognised (0-30, 30-60, 60-90 days or later); left to "
                                   "the default")
            rec = self.add_recommendation(line_no, title, phase=phase)
            if rec is None:
                continue
            gain = self._cell(cells, roles, "gain")
            if gain and rec.gain is None:
                rec.gain = parse_gain(gain)
            if self._cell(cells, roles, "priority"):
                rec.priority = parse_priority(self._cell(cells, roles, "priority"))
            if self._cell(cells, roles, "effort"):
                rec.effort_days, why = parse_effort(self._cell(cells, roles, "effort"))
                if why:
                    self.warn(line_no, f"recommendation {title!r}: {why}")
            if self._cell(cells, roles, "pillar"):
                rec.pillars = [p.strip() for p in re.split(r"[,;/+]",
                                                           self._cell(cells, roles, "pillar"))
                               if p.strip()]
            rec.owner = self._cell(cells, roles, "owner")
            if self._cell(cells, roles, "depends"):
                rec.depends_on = [d.strip() for d in re.split(
                    r"[,;]", self._cell(cells, roles, "depends")) if d.strip()
                    and not empty_cell(d)]
            if self._cell(cells, roles, "state"):
                rec.state = parse_plan_state(self._cell(cells, roles, "state"))

    # ------------------------------------------------------------ tokens
    def walk(self, tokens, offset):
        idx, count = 0, len(tokens)
        list_depth = 0
        while idx < count:
            if idx % 2000 == 0 and time.monotonic() > self.deadline:
                raise _OutOfTime(offset + (tokens[idx].map or [0])[0] + 1)
            tok = tokens[idx]
            kind = tok.type
            line_no = offset + tok.map[0] + 1 if tok.map else offset
            if kind == "heading_open":
                self.heading(int(tok.tag[1]), tokens[idx + 1].content, line_no)
                idx += 3
                continue
            if kind in ("bullet_list_open", "ordered_list_open"):
                list_depth += 1
            elif kind in ("bullet_list_close", "ordered_list_close"):
                list_depth -= 1
            elif kind == "list_item_open":
                # the item's own text is the inline of its first paragraph
                if idx + 2 < count and tokens[idx + 1].type == "paragraph_open":
                    self.list_item(tokens[idx + 2].content, line_no, list_depth)
                    idx += 4
                    continue
            elif kind == "paragraph_open" and list_depth == 0:
                self.paragraph(tokens[idx + 1].content, line_no)
                idx += 3
                continue
            elif kind == "fence" or kind == "code_block":
                self.fence(tok.content, line_no)
            elif kind == "table_open":
                idx = self._table(tokens, idx, offset)
                continue
            idx += 1

    def _table(self, tokens, idx, offset):
        header, rows = [], []
        line_no = offset + tokens[idx].map[0] + 1
        while tokens[idx].type != "table_close":
            tok = tokens[idx]
            if tok.type == "waf_row":
                if tok.meta["head"]:
                    header = tok.meta["cells"]
                else:
                    rows.append((offset + tok.map[0] + 1, tok.meta["cells"]))
            idx += 1
        self.table(header, rows, line_no)
        return idx + 1


class _OutOfTime(Exception):
    def __init__(self, line_no):
        super().__init__(line_no)
        self.line_no = line_no


def _chunks(lines):
    """``(first line index, text)`` pieces cut at blank lines outside fenced code."""
    start, fence = 0, None
    for idx, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith(("```", "~~~")):
            mark = stripped[:3]
            if fence is None:
                fence = mark
            elif fence == mark:
                fence = None
            continue
        if fence is None and not stripped and idx - start >= CHUNK_LINES:
            yield start, "\n".join(lines[start:idx])
            start = idx + 1
    if start < len(lines):
        yield start, "\n".join(lines[start:])


EXPECTED = ("a Markdown assessment report: headings naming pillars (Reliability, "
            "Security...), tables or lists of findings with statuses (✅ Implemented, "
            "⚠️ Partial, ❌ Missing), stated scores, roadmaps or risk tables")


def parse_markdown(text, pillars=None, time_budget=TIME_BUDGET):
    """Parse a Markdown assessment report (str or bytes) into a ParsedReport.

    ``pillars``: ``(code, name, aliases)`` tuples of the known pillars (default: the
    shipped catalog's). Findings, scores and recommendations carry pillar codes.
    Raises :class:`ImportFormatError` for an empty document, one with nothing
    recognisable, or one that cannot be read within ``time_budget`` seconds.
    """
    started = time.monotonic()
    warnings = []
    text = to_text(text, warnings)
    if not text.strip():
        raise ImportFormatError(f"the document is empty; expected {EXPECTED}")
    lines = text.split("\n")
    for idx, line in enumerate(lines):
        if len(line) > MAX_LINE:
            warnings.append(f"line {idx + 1}: {len(line)} characters long (more than "
                            f"{MAX_LINE}); not read")
            lines[idx] = ""
        elif "\r" in line:
            lines[idx] = line.rstrip("\r")
    reader = _Reader(pillars, started + time_budget)
    reader.report.warnings = warnings
    try:
        for first, chunk in _chunks(lines):
            if time.monotonic() > reader.deadline:
                raise _OutOfTime(first + 1)
            reader.walk(_MD.parse(chunk), first)
    except _OutOfTime as exc:
        raise ImportFormatError(
            f"line {exc.line_no}: the document could not be read within {time_budget:g} s "
            f"({len(lines)} lines); split it into smaller reports", exc.line_no) from None
    report = reader.report
    if not (report.findings or report.pillar_scores or report.recommendations
            or report.risks or report.stated_scores or report.decision
            or report.overall_score is not None):
        raise ImportFormatError(f"nothing recognisable was found; expected {EXPECTED}")
    return report
