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

import time

from .common import (
    MAX_FIELD,
    ImportFormatError,
    ParsedFinding,
    StatusError,
    clean_inline,
    fix_mojibake,
    has_status_marker,
    norm,
    parse_score,
    to_text,
)
from .markdown_sections import _SectionReader
from .markdown_tables import _TableReader
from .markdown_tokens import _MD, MAX_LINE, TIME_BUDGET, _chunks, _OutOfTime
from .markdown_words import (
    _GAP_PREFIX_RE,
    _LABEL_RE,
    _MARKER_CHARS,
    _TRAILING_STATUS_RE,
    _kind_of_label,
    _leading_status,
)


class _Reader(_TableReader, _SectionReader):
    """Walks the tokens of a document; headings, evidence sections and verdicts are
    read by :class:`._SectionReader`, tables by :class:`._TableReader`."""

    # ------------------------------------------------------------ paragraphs, lists
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
