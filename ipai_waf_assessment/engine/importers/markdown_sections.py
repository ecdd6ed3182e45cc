# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Headings and sections: the heading tree (pillar, phase, kind of section, status
marker of each level), stated scores in headings, evidence documents (a numbered
sub-section of an evidence section and its code block) and verdicts."""

import re

from .common import (
    MAX_FIELD,
    STATUS_MARKERS,
    ParsedFinding,
    ParsedPillarScore,
    ParsedRecommendation,
    ParsedReport,
    ParsedStatedScore,
    clean_heading,
    clean_inline,
    empty_cell,
    extract_url,
    fix_mojibake,
    match_framework,
    match_pillar,
    na_reason_for,
    norm,
    parse_gain,
    parse_phase,
    parse_score,
    status_for_score,
    strip_gain,
    unlink,
)
from .decision import read_decision
from .markdown_words import _NUMBERED_RE, _OVERALL, _SOURCE_RE, _kind_of_label


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

class _SectionReader:
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
