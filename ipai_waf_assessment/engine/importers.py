# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Read assessments written elsewhere: Markdown reports, AWS lenses, Azure checklists.

Each parser returns a :class:`ParsedReport`. It reads what it can and lists, one line
each, what it could not read and why (``ParsedReport.warnings``); it never guesses
silently. Only a document that cannot be read at all (not UTF-8, not JSON, wrong
top-level shape) raises :class:`ImportFormatError`.

Markdown reports
----------------
- The first level-1 heading is the title.
- A heading names the pillar (or engine, or layer) of the tables under it, e.g.
  ``## Reliability (Score: 82/100)``. A sub-heading that names no pillar keeps the
  pillar of its parent when the caller passes the known pillars (``pillars=``);
  without them every finding carries the text of its nearest heading.
- A score in a heading (``Score: 82/100``, ``82/100``, ``8.2/10``, ``82%``) is a stated
  pillar score; a table with a pillar column and a score column but no status column is
  a score summary. Headings or rows named "overall"/"total" give ``overall_score``.
- A table with a status column gives one finding per row. Columns are found by their
  header: status (status, state, result, implemented...), component (component,
  control, capability, item...), evidence (evidence, gap, notes, details...), pillar
  (pillar, engine, layer), control code (id, code, guid), link (link, url, reference).
  Without a status header, the one column whose cells carry status markers is used.
- A bullet such as ``- ✅ Backups: nightly pg_dump`` is a finding too.
- Anything else that carries a status marker (a stray line, a table without a
  component column, a row with too few cells) is reported as not read.

Status words and markers
------------------------
==================================================  ================
✅ ✔ ☑ 🟢, implemented, done, yes, complete, pass       implemented
⚠️ ⚠ 🟡 🟠, partial, partially implemented, manual     partial
🔄 ⏳ 🕒 📅, planned, in progress, scheduled             planned
❌ ✖ ✗ 🔴 ⛔, missing, not implemented, no, fail        missing
➖ 🚫, n/a, na, not applicable, out of scope             not_applicable
❓ ❔, unknown, not verified, tbd                          unknown
==================================================  ================

"Manual" counts as *partial*: the practice exists (somebody does it) but it is not
automated or enforced, which is what partial means in the rubric. A marker and a word
that disagree (``✅ Missing``), two different markers, or an unknown word is reported,
not guessed.

Mojibake: text saved as UTF-8 and read back as Windows-1252, Latin-1 or Mac Roman
(``âœ…`` for ✅, ``âš ï¸`` for ⚠️, ``âŒ`` for ❌, ``‚úÖ`` for ✅) is repaired line by line
by re-encoding in that code page and decoding as UTF-8, plus a small table for the
sequences whose invisible bytes were lost on the way.

AWS custom lens JSON (schema 2021-11-01)
----------------------------------------
One control per question (code = question id, pillar = pillar name). Severity comes
from the ``default`` risk rule (the risk when the best practices are not in place):
HIGH_RISK -> high, MEDIUM_RISK -> medium, otherwise low. The description lists the
choices (best practices); the recommendation gathers their improvement plans; the
reference URL is the first helpful resource. Each question also yields a finding. Its
status comes from the answer when the JSON carries one: on the
question (``answer: {...}`` or ``selectedChoices``/``choiceAnswers``/``isApplicable``/
``risk``/``notes`` beside its ``id``), or in a top-level ``answers`` /
``AnswerSummaries`` list keyed by ``questionId`` (the Well-Architected Tool API shape,
camelCase or PascalCase):

- not applicable (``isApplicable: false``) -> not_applicable, with AWS's reason
  (OUT_OF_SCOPE, BUSINESS_PRIORITIES, ARCHITECTURE_CONSTRAINTS, OTHER);
- "None of these" selected (choice id ending in ``_no``) -> missing; every best practice
  selected (choices answered NOT_APPLICABLE aside) -> implemented; some -> partial;
- nothing selected: the risk AWS computed, NONE -> implemented, MEDIUM -> partial,
  HIGH -> missing.

Otherwise the status is ``unknown`` (AWS "UNANSWERED") and a warning says so: one line
for a lens without any answer, else one line per unanswered question. Limits of the format
(10 pillars, 20 questions a pillar, 15 choices a question, a ``default`` risk rule)
are checked and reported.

Azure review-checklist JSON
---------------------------
One control per item (code = item ``guid``, pillar = the item's ``waf`` pillar or else
its ``category``). Item statuses map: Fulfilled -> implemented, Open -> missing,
Not verified (or no status) -> unknown, Not required / N/A -> not_applicable. The
``comments`` field becomes the evidence.
"""

import json
import re
import unicodedata
from dataclasses import dataclass, field

# --------------------------------------------------------------------------- results


@dataclass
class ParsedFinding:
    """One finding read from a document."""

    pillar: str | None
    component: str
    status: str
    evidence: str
    line_no: int | None
    raw_status: str
    evidence_url: str | None = None
    control_code: str | None = None
    na_reason: str | None = None


@dataclass
class ParsedPillarScore:
    """A pillar score stated by the document (an assessor override)."""

    pillar: str
    score: float
    line_no: int | None


@dataclass
class ParsedControl:
    """A control (question, checklist item) defined by the document."""

    code: str
    name: str
    pillar: str | None
    severity: str | None
    description: str
    recommendation: str
    reference_url: str | None


@dataclass
class ParsedRisk:
    """A row of a risk table. Likelihood and impact are 1-5, None when not stated."""

    title: str
    line_no: int | None
    pillar: str | None = None
    severity: str | None = None
    likelihood: int | None = None
    impact: int | None = None
    residual_likelihood: int | None = None
    residual_impact: int | None = None
    mitigation: str = ""
    owner: str = ""
    due_date: str | None = None  # ISO date
    context_pillar: str | None = None  # the heading above the table


@dataclass
class ParsedRecommendation:
    """A row of a roadmap table."""

    title: str
    line_no: int | None
    phase: str | None = None  # 0_30, 30_60, 60_90, later
    priority: str | None = None  # P0..P3
    effort_days: float | None = None
    pillars: list = field(default_factory=list)
    depends_on: list = field(default_factory=list)  # titles or "#n" row references
    state: str | None = None  # todo, doing, done, dropped
    owner: str = ""
    context_pillar: str | None = None  # the heading above the table


@dataclass
class ParsedReport:
    """Everything read from one document, and what could not be read."""

    title: str | None
    findings: list = field(default_factory=list)
    pillar_scores: list = field(default_factory=list)
    controls: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    overall_score: float | None = None
    risks: list = field(default_factory=list)
    recommendations: list = field(default_factory=list)


class ImportFormatError(ValueError):
    """The document cannot be read at all; ``line_no`` says where, when known."""

    def __init__(self, message, line_no=None):
        super().__init__(message)
        self.line_no = line_no


# --------------------------------------------------------------------------- statuses

STATUS_MARKERS = {
    "✅": "implemented", "✔": "implemented", "☑": "implemented", "🟢": "implemented",
    "✓": "implemented",
    "⚠": "partial", "🟡": "partial", "🟠": "partial",
    "🔄": "planned", "⏳": "planned", "⌛": "planned", "🕒": "planned", "📅": "planned",
    "🚧": "planned",
    "❌": "missing", "✖": "missing", "✗": "missing", "🔴": "missing", "⛔": "missing",
    "❎": "missing",
    "➖": "not_applicable", "🚫": "not_applicable",
    "❓": "unknown", "❔": "unknown",
}

# Phrases, matched at the start of the status text (longest first).
STATUS_WORDS = {
    "implemented": "implemented", "done": "implemented", "yes": "implemented",
    "complete": "implemented", "completed": "implemented", "pass": "implemented",
    "passed": "implemented", "fulfilled": "implemented", "compliant": "implemented",
    "partial": "partial", "partially": "partial", "partially implemented": "partial",
    "manual": "partial", "partly": "partial",
    "planned": "planned", "in progress": "planned", "scheduled": "planned",
    "wip": "planned", "roadmap": "planned",
    "missing": "missing", "not implemented": "missing", "no": "missing",
    "fail": "missing", "failed": "missing", "absent": "missing", "open": "missing",
    "non compliant": "missing", "non-compliant": "missing", "not started": "missing",
    "n/a": "not_applicable", "na": "not_applicable", "not applicable": "not_applicable",
    "out of scope": "not_applicable", "not required": "not_applicable",
    "unknown": "unknown", "not verified": "unknown", "tbd": "unknown",
    "unverified": "unknown", "?": "unknown",
}
_WORDS_LONGEST_FIRST = sorted(STATUS_WORDS, key=len, reverse=True)

VARIATION_SELECTORS = "\ufe0f\ufe0e"


class StatusError(ValueError):
    """A status cell that cannot be read; the message says why."""


def normalize_status(text):
    """Return ``(status, raw)`` for a status cell, or raise :class:`StatusError`.

    ``raw`` is the cleaned cell text (after mojibake repair).
    """
    raw = " ".join(fix_mojibake(text or "").replace("*", "").replace("`", "").split())
    if not raw:
        raise StatusError("no status")
    markers = {STATUS_MARKERS[ch] for ch in raw if ch in STATUS_MARKERS}
    if len(markers) > 1:
        raise StatusError(f"status {raw!r} has conflicting markers")
    rest = "".join(
        ch for ch in raw if ch not in STATUS_MARKERS and ch not in VARIATION_SELECTORS
        and unicodedata.category(ch) != "So"
    )
    rest = rest.strip(" -:–—/()[]").lower()
    word_status = None
    if rest:
        for phrase in _WORDS_LONGEST_FIRST:
            if rest == phrase or re.match(re.escape(phrase) + r"(?![\w/])", rest):
                word_status = STATUS_WORDS[phrase]
                break
    marker_status = next(iter(markers)) if markers else None
    if marker_status and word_status and marker_status != word_status:
        raise StatusError(
            f"status {raw!r}: marker says {marker_status}, word says {word_status}"
        )
    status = marker_status or word_status
    if status is None:
        raise StatusError(f"status {raw!r} not recognised")
    return status, raw


NA_REASON_WORDS = (
    ("out of scope", "out_of_scope"), ("out-of-scope", "out_of_scope"),
    ("business priorit", "business_priorities"),
    ("architecture constraint", "architecture_constraints"),
    ("architectural constraint", "architecture_constraints"),
)


def na_reason_for(*texts):
    """The not-applicable reason a status or evidence text states, or None.

    Only explicit phrases count (out of scope, business priorities, architecture
    constraints); anything else is left to the caller, who must say so.
    """
    for text in texts:
        low = " ".join((text or "").lower().split())
        for phrase, reason in NA_REASON_WORDS:
            if phrase in low:
                return reason
    return None


def has_status_marker(text):
    """True when the text contains one of the status emoji."""
    return any(ch in STATUS_MARKERS for ch in text)


# --------------------------------------------------------------------------- mojibake

# Sequences whose invisible bytes (0x8F, 0x9D, non-breaking spaces) are usually lost,
# so that re-encoding cannot restore them.
MOJIBAKE_TABLE = (
    ("âš ï¸", "⚠️"), ("âš\xa0ï¸", "⚠️"), ("âš ", "⚠ "), ("âœ…", "✅"), ("âœ”", "✔"),
    ("âœ“", "✓"), ("âœ–", "✖"), ("âœ—", "✗"), ("âŒ", "❌"), ("â\x9d\x8c", "❌"), ("â“", "❓"),
    ("â³", "⏳"), ("ðŸ”„", "🔄"), ("ðŸŸ¢", "🟢"), ("ðŸŸ¡", "🟡"), ("ðŸ”´", "🔴"),
    ("â€”", "—"), ("â€“", "–"), ("â€™", "’"), ("â€œ", "“"), ("â€\x9d", "”"), ("Ã—", "×"),
    ("ï¸", "\ufe0f"),
)
_MOJIBAKE_HINT = re.compile("[ÂÃâðïœŒ‚√]")


def _reencode(text, codec):
    """Bytes of ``text`` in ``codec``, letting C1 controls through as their own byte."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode(codec)
        except UnicodeEncodeError:
            if ord(ch) < 256:
                out.append(ord(ch))
            else:
                raise
    return bytes(out)


def fix_mojibake(line):
    """Repair UTF-8 text that was decoded as cp1252 / latin-1 / mac_roman, if it was."""
    if not line or not _MOJIBAKE_HINT.search(line):
        return line
    for codec in ("cp1252", "latin-1", "mac_roman"):
        try:
            repaired = _reencode(line, codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if repaired != line:
            return repaired
    repaired = line
    for bad, good in MOJIBAKE_TABLE:
        repaired = repaired.replace(bad, good)
    return repaired


def _to_text(content):
    if isinstance(content, bytes | bytearray):
        data = bytes(content)
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line_no = data[: exc.start].count(b"\n") + 1
            raise ImportFormatError(
                f"line {line_no}: the file is not UTF-8 text ({exc.reason})", line_no
            ) from None
    if not isinstance(content, str):
        raise ImportFormatError(f"expected text or bytes, got {type(content).__name__}")
    return content.lstrip("\ufeff")


# --------------------------------------------------------------------------- pillars

DEFAULT_PILLAR_ALIASES = {
    "reliability": ("resiliency", "resilience", "availability"),
    "security": ("securité",),
    "cost_optimization": ("cost", "cost management", "costs", "finops"),
    "operational_excellence": ("operations", "operational", "opex", "devops"),
    "performance_efficiency": ("performance", "performance and scalability", "scalability"),
    "storage_engine": ("storage", "delta lake", "delta"),
    "sql_engine": ("sql", "databricks sql", "sql warehouse"),
    "ml_engine": ("machine learning", "ml", "mlflow", "ai ml", "ml ai"),
    "streaming_engine": ("streaming", "structured streaming", "real time"),
    "governance": ("data governance", "unity catalog", "data and ai governance"),
    "bronze": ("raw",),
    "silver": ("cleansed", "conformed"),
    "gold": ("curated", "business"),
    "platinum": ("semantic", "serving"),
}

_SCORE_RE = re.compile(
    r"\(?\s*(?:score\s*[:=]?\s*)?(?P<num>\d+(?:[.,]\d+)?)\s*"
    r"(?:/\s*(?P<den>\d+(?:[.,]\d+)?)|(?P<pct>%))\s*\)?",
    re.IGNORECASE,
)
_SCORE_WORD_RE = re.compile(r"\(?\s*score\s*[:=]\s*(?P<val>[^)|]*?)\s*(?:\)|$)", re.I)
_SUFFIX_WORDS = ("pillar", "layer", "tier", "engine", "zone", "assessment")
_PREFIX_RE = re.compile(
    r"^\s*(?:(?:pillar|section|part|chapter|step)\s*)?(?:[0-9]+(?:\.[0-9]+)*|[ivx]+|[a-z])"
    r"\s*[.):–—-]\s+|^\s*(?:pillar|section)\s+\d+\s*",
    re.IGNORECASE,
)


def _norm(text):
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower().replace("&", " and ")).split())


def clean_heading(heading):
    """Heading text without Markdown, emoji, numbering and stated score."""
    text = fix_mojibake(heading or "").strip()
    text = text.lstrip("#").strip()
    text = _SCORE_WORD_RE.sub(" ", text)
    text = _SCORE_RE.sub(" ", text)
    text = "".join(
        ch for ch in text
        if unicodedata.category(ch) not in ("So", "Sk", "Cf") and ch not in VARIATION_SELECTORS
    )
    text = re.sub(r"[*_`]+", "", text)
    text = _PREFIX_RE.sub("", text)
    return " ".join(text.strip(" -–—:|").split())


def _strip_suffix(norm):
    words = norm.split()
    while len(words) > 1 and words[-1] in _SUFFIX_WORDS:
        words.pop()
    while len(words) > 1 and words[0] in ("the",) + _SUFFIX_WORDS:
        words.pop(0)
    return " ".join(words)


def _pillar_candidates(pillars):
    out = []
    for item in pillars:
        if isinstance(item, str):
            code, name, aliases = item, item, ()
        else:
            code, name, *rest = item
            aliases = tuple(rest[0]) if rest and rest[0] else ()
        names = {_norm(code.replace("_", " ")), _norm(name)}
        names |= {_norm(a) for a in aliases}
        names |= {_norm(a) for a in DEFAULT_PILLAR_ALIASES.get(code, ())}
        names |= {_strip_suffix(n) for n in list(names)}
        out.append((code, {n for n in names if n}))
    return out


def match_pillar(heading, pillars):
    """Code of the pillar a heading names, or None.

    ``pillars`` is a list of ``(code, name, aliases)`` (aliases optional) or of plain
    strings (then the string is both code and name). A heading equal to a pillar's code,
    name or alias (ignoring case, accents, emoji, numbering, a stated score and words
    such as "pillar", "layer", "engine") matches it; the first such pillar in list
    order wins. Otherwise a heading that contains one pillar name as whole words
    matches it ("Pillar 1: Reliability review"); headings naming two different pillars
    ("Security and Reliability") are ambiguous and give None.
    """
    text = _norm(clean_heading(heading))
    if not text:
        return None
    candidates = _pillar_candidates(pillars)
    stripped = _strip_suffix(text)
    for code, names in candidates:
        if text in names or stripped in names:
            return code
    padded = f" {text} "
    best = []  # (matched name, code) of each candidate named in the heading
    for code, names in candidates:
        hits = [n for n in names if f" {n} " in padded]
        if hits:
            best.append((max(hits, key=len), code))
    if not best:
        return None
    longest = max(best, key=lambda hit: len(hit[0]))[0]
    # every other hit must be part of the longest one ("sql" inside "sql warehouse")
    if all(f" {name} " in f" {longest} " for name, _code in best):
        return next(code for name, code in best if name == longest)
    return None


def parse_score(text):
    """``(score_0_100, None)`` from "Score: 82/100", "8.2/10", "82%"; ``(None, why)``.

    ``(None, None)`` when the text states no score at all.
    """
    text = fix_mojibake(text or "")
    match = _SCORE_RE.search(text)
    if match:
        num = float(match["num"].replace(",", "."))
        den = float(match["den"].replace(",", ".")) if match["den"] else 100.0
        if den <= 0:
            return None, f"score {match.group(0).strip()!r} has a zero denominator"
        value = num * 100.0 / den
        if not 0 <= value <= 100:
            return None, f"score {match.group(0).strip()!r} is outside 0-100"
        return round(value, 1), None
    word = _SCORE_WORD_RE.search(text)
    if word:
        return None, f"score {word['val'].strip() or '(empty)'!r} is not a number"
    return None, None


# --------------------------------------------------------------------------- Markdown

_HEADING_RE = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SEPARATOR_CELL_RE = re.compile(r"^\s*:?-{2,}:?\s*$")
_LINK_RE = re.compile(r"\[([^\]]*)\]\((https?://[^)\s]+)\)")
_URL_RE = re.compile(r"https?://[^\s)>|]+")
_BULLET_RE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*)$")
_CODE_RE = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+$|^[0-9a-f]{8}-[0-9a-f]{4}-")

COLUMN_KEYWORDS = {
    "status": ("status", "state", "result", "implemented", "implementation", "compliance",
               "current status", "done"),
    "component": ("component", "control", "capability", "item", "feature", "check",
                  "requirement", "practice", "best practice", "area", "topic", "aspect",
                  "criterion", "criteria", "service", "recommendation", "question", "name"),
    "evidence": ("evidence", "gap", "gaps", "notes", "note", "comment", "comments",
                 "details", "detail", "finding", "findings", "observation", "observations",
                 "description", "current state", "remarks", "justification", "rationale"),
    "pillar": ("pillar", "engine", "layer", "category", "domain"),
    "code": ("id", "code", "control id", "control code", "ref", "guid", "#"),
    "link": ("link", "url", "reference", "evidence url", "evidence link", "source"),
    "score": ("score", "rating", "points"),
}


def _split_row(line):
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    cells = re.split(r"(?<!\\)\|", body)
    return [c.replace("\\|", "|").strip() for c in cells]


def _is_separator(cells):
    return bool(cells) and all(_SEPARATOR_CELL_RE.match(c) for c in cells if c) and any(cells)


def _classify_columns(header, keywords=None):
    keywords = keywords or COLUMN_KEYWORDS
    roles = {}
    norms = [_norm(h) for h in header]
    # exact keyword first, then "starts with", so "Evidence / Gap" is evidence
    for pass_no in (0, 1):
        for idx, name in enumerate(norms):
            if idx in roles.values() or not name and header[idx] != "#":
                continue
            for role, words in keywords.items():
                if role in roles:
                    continue
                keys = [_norm(w) if w != "#" else "#" for w in words]
                key = name or header[idx]
                hit = key in keys if pass_no == 0 else any(
                    key.startswith(k + " ") for k in keys if k != "#"
                )
                if hit:
                    roles[role] = idx
                    break
    return roles


def _clean_cell(text):
    return " ".join(re.sub(r"(\*\*|__|`)", "", text).split())


def _snippet(cells, width=40):
    """Short quoted text of a table row, for warnings."""
    text = " | ".join(_clean_cell(c) for c in cells if c.strip())
    return repr(text if len(text) <= width else text[: width - 1] + "…")


def _extract_url(*texts):
    for text in texts:
        if not text:
            continue
        link = _LINK_RE.search(text)
        if link:
            return link.group(2)
        url = _URL_RE.search(text)
        if url:
            return url.group(0).rstrip(".,;")
    return None


# -- risk and roadmap tables

RISK_COLUMNS = {
    "title": ("risk", "title", "threat", "scenario", "risk description", "description",
              "name", "issue"),
    "likelihood": ("likelihood", "probability", "prob", "l"),
    "impact": ("impact", "consequence", "i"),
    "residual_likelihood": ("residual likelihood", "residual probability"),
    "residual_impact": ("residual impact",),
    "severity": ("severity", "criticality"),
    "mitigation": ("mitigation", "mitigations", "response", "treatment", "action",
                   "actions", "countermeasure"),
    "owner": ("owner", "responsible", "assignee", "risk owner"),
    "due": ("due", "due date", "deadline", "target date", "by"),
    "pillar": ("pillar", "engine", "layer", "category", "domain"),
}
ROADMAP_COLUMNS = {
    "title": ("recommendation", "action", "task", "initiative", "item", "title", "what",
              "activity", "deliverable", "step", "description", "work item"),
    "phase": ("phase", "timeline", "timeframe", "time frame", "when", "horizon", "window"),
    "priority": ("priority", "prio"),
    "effort": ("effort", "effort days", "effort d", "estimate", "days", "duration", "size"),
    "pillar": ("pillar", "pillars", "engine", "layer", "category", "domain"),
    "owner": ("owner", "responsible", "assignee", "who"),
    "depends": ("depends on", "dependencies", "dependency", "after", "blocked by",
                "prerequisites"),
    "state": ("status", "state"),
}
# 1-5 scales (engine/risk.py labels, plus the usual low/medium/high wording)
LIKELIHOOD_WORDS = {
    "rare": 1, "very low": 1, "very unlikely": 1, "unlikely": 2, "low": 2, "possible": 3,
    "medium": 3, "moderate": 3, "likely": 4, "high": 4, "probable": 4,
    "almost certain": 5, "certain": 5, "very high": 5, "very likely": 5,
}
IMPACT_WORDS = {
    "negligible": 1, "very low": 1, "insignificant": 1, "minor": 2, "low": 2,
    "moderate": 3, "medium": 3, "major": 4, "high": 4, "severe": 5, "critical": 5,
    "very high": 5, "catastrophic": 5,
}
SEVERITY_WORDS = {"high": "high", "critical": "high", "medium": "medium",
                  "moderate": "medium", "low": "low"}
PRIORITY_WORDS = {"critical": "P0", "urgent": "P0", "high": "P1", "medium": "P2",
                  "normal": "P2", "low": "P3"}
PLAN_STATE_WORDS = {
    "todo": "todo", "to do": "todo", "open": "todo", "planned": "todo", "not started": "todo",
    "new": "todo", "doing": "doing", "in progress": "doing", "started": "doing",
    "wip": "doing", "done": "done", "complete": "done", "completed": "done",
    "closed": "done", "dropped": "dropped", "cancelled": "dropped", "canceled": "dropped",
    "won t do": "dropped", "wont do": "dropped",
}


def scale_value(text, words):
    """1-5 from "4", "4/5", "High", "4 (Likely)"; None when not readable."""
    text = _clean_cell(fix_mojibake(text or ""))
    match = re.match(r"^\s*([1-5])(?:\s*/\s*5)?(?:\D|$)", text)
    if match:
        return int(match.group(1))
    return words.get(_norm(text))


def parse_phase(text):
    """0_30 / 30_60 / 60_90 / later from "0-30 days", "Days 31–60", "60 to 90 d", "90+"."""
    text = fix_mojibake(text or "").lower()
    match = re.search(r"(\d+)\s*(?:-|–|—|to)\s*(\d+)\s*(?:d\b|days?\b)?", text)
    if match:
        end = int(match.group(2))
        if end <= 30:
            return "0_30"
        if end <= 60:
            return "30_60"
        if end <= 90:
            return "60_90"
        return "later"
    if re.search(r"\b(?:90|180|365)\s*\+|\blater\b|\bbacklog\b|\bbeyond\b", text):
        return "later"
    return None


def parse_priority(text):
    """P0-P3 from "P1", "p2 - high", "High"; None when not readable."""
    text = _clean_cell(fix_mojibake(text or ""))
    match = re.match(r"^\s*p\s*([0-3])\b", text, re.I)
    if match:
        return f"P{match.group(1)}"
    return PRIORITY_WORDS.get(_norm(text))


def parse_effort(text):
    """``(days, warning)`` from "3", "3 d", "2 days", "1 week", "3-5 days"."""
    raw = _clean_cell(text or "")
    match = re.match(r"^~?\s*(\d+(?:[.,]\d+)?)(?:\s*(?:-|–|to)\s*(\d+(?:[.,]\d+)?))?"
                     r"\s*(d|days?|w|wks?|weeks?|pd|person[- ]days?)?\.?\s*$", raw, re.I)
    if not match:
        return None, f"effort {raw!r} is not a number of days or weeks; left empty"
    value = float((match.group(2) or match.group(1)).replace(",", "."))
    unit = (match.group(3) or "d").lower()
    if unit.startswith("w"):
        value *= 5  # working days
    why = None
    if match.group(2):
        why = f"effort {raw!r} is a range; the upper bound {value:g} days is kept"
    return value, why


def parse_plan_state(text):
    status_text = _clean_cell(fix_mojibake(text or ""))
    state = PLAN_STATE_WORDS.get(_norm(status_text))
    if state is None and has_status_marker(status_text):
        try:
            status, _raw = normalize_status(status_text)
        except StatusError:
            return None
        state = {"implemented": "done", "partial": "doing", "planned": "todo",
                 "missing": "todo"}.get(status)
    return state


def parse_date(text):
    match = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", text or "")
    if not match:
        return None
    year, month, day = (int(g) for g in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return match.group(0)


class _MarkdownReader:
    def __init__(self, text, pillars):
        self.lines = [fix_mojibake(line) for line in text.splitlines()]
        self.pillars = list(pillars) if pillars else None
        self.report = ParsedReport(title=None)
        self.stack = []  # [(level, text, pillar_code_or_None)]
        self.scored = {}  # pillar key -> (score, line_no)

    # -- helpers
    def warn(self, line_no, message):
        self.report.warnings.append(f"line {line_no}: {message}")

    def current_pillar(self):
        if self.pillars is not None:
            for _level, _text, code in reversed(self.stack):
                if code:
                    return code
            return self.stack[-1][1] if self.stack else None
        return self.stack[-1][1] if self.stack else None

    def resolve_pillar(self, text):
        if self.pillars is not None:
            return match_pillar(text, self.pillars) or clean_heading(text)
        return clean_heading(text)

    def add_score(self, pillar_text, score, line_no):
        pillar = self.resolve_pillar(pillar_text)
        if not pillar:
            self.warn(line_no, f"score {score:g} has no pillar name; ignored")
            return
        if _norm(pillar) in ("overall", "total", "overall score", "total score", "summary"):
            if self.report.overall_score is None:
                self.report.overall_score = score
            return
        key = _norm(pillar)
        if key in self.scored:
            first_score, first_line = self.scored[key]
            if first_score != score:
                self.warn(line_no, f"second score {score:g} for {pillar!r} (line {first_line} "
                                   f"says {first_score:g}); kept the first")
            return
        self.scored[key] = (score, line_no)
        self.report.pillar_scores.append(ParsedPillarScore(pillar, score, line_no))

    # -- main loop
    def run(self):
        idx = 0
        in_code = False
        while idx < len(self.lines):
            line = self.lines[idx]
            line_no = idx + 1
            stripped = line.strip()
            if stripped.startswith(("```", "~~~")):
                in_code = not in_code
                idx += 1
                continue
            if in_code or not stripped:
                idx += 1
                continue
            heading = _HEADING_RE.match(line)
            if heading:
                self.heading(len(heading.group(1)), heading.group(2), line_no)
                idx += 1
                continue
            if stripped.startswith("|"):
                end = idx
                while end < len(self.lines) and self.lines[end].strip().startswith("|"):
                    end += 1
                self.table(idx, end)
                idx = end
                continue
            bullet = _BULLET_RE.match(line)
            if bullet and has_status_marker(bullet.group(1)):
                self.bullet(bullet.group(1), line_no)
            elif has_status_marker(stripped):
                self.warn(line_no, f"status marker outside a table or list: {stripped[:60]!r}"
                                   "; not read")
            else:
                self.score_line(stripped, line_no)
            idx += 1
        return self.report

    def heading(self, level, text, line_no):
        if self.report.title is None and level == 1:
            self.report.title = clean_heading(text) or None
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        cleaned = clean_heading(text)
        code = match_pillar(text, self.pillars) if self.pillars is not None else None
        self.stack.append((level, cleaned, code))
        score, why = parse_score(text)
        if why:
            self.warn(line_no, f"heading {cleaned!r}: {why}; not read")
        elif score is not None and level > 1:
            self.add_score(text, score, line_no)
        elif score is not None:
            self.report.overall_score = score

    def score_line(self, text, line_no):
        # "**Overall Score: 78/100**" style lines
        match = re.match(r"^[*_ ]*(overall|total)(?: score)?[*_ ]*[:=-]", text, re.I)
        if match:
            score, why = parse_score(text)
            if why:
                self.warn(line_no, why)
            elif score is not None and self.report.overall_score is None:
                self.report.overall_score = score

    def bullet(self, body, line_no):
        body = _clean_cell(body)
        # status marker(s) first, then "component: evidence"
        marker_end = 0
        while marker_end < len(body) and (
            body[marker_end] in STATUS_MARKERS or body[marker_end] in VARIATION_SELECTORS
            or body[marker_end].isspace()
        ):
            marker_end += 1
        rest = body[marker_end:].strip()
        marker = body[:marker_end]
        if not marker.strip():
            self.warn(line_no, f"status marker in the middle of a list item: {body[:60]!r}"
                               "; not read")
            return
        try:
            status, raw = normalize_status(marker)
        except StatusError as exc:
            self.warn(line_no, str(exc))
            return
        parts = re.split(r"\s*(?::|—|–|\s-\s)\s*", rest, maxsplit=1)
        component = parts[0].strip()
        evidence = parts[1].strip() if len(parts) > 1 else ""
        if not component:
            self.warn(line_no, "list item has a status but no component; not read")
            return
        url = _extract_url(evidence)
        self.report.findings.append(ParsedFinding(
            pillar=self.current_pillar(), component=component, status=status,
            evidence=evidence, line_no=line_no, raw_status=raw, evidence_url=url,
            na_reason=na_reason_for(raw, evidence) if status == "not_applicable" else None,
        ))

    def table(self, start, end):
        rows = [(i + 1, _split_row(self.lines[i])) for i in range(start, end)]
        header_no, header = rows[0]
        if len(rows) < 2 or not _is_separator(rows[1][1]):
            self.warn(header_no, "table without a header separator row; not read")
            return
        body = rows[2:]
        risk_roles = _classify_columns(header, RISK_COLUMNS)
        if "title" in risk_roles and {"likelihood", "impact"} & set(risk_roles):
            self.risk_table(header, body, risk_roles)
            return
        plan_roles = _classify_columns(header, ROADMAP_COLUMNS)
        roles = _classify_columns(header)
        # a roadmap: a phase column or a heading naming one ("### 0-30 days"), or an
        # effort/priority column without a findings status column
        heading_phase = parse_phase(self.stack[-1][1]) if self.stack else None
        if "title" in plan_roles and (
            "phase" in plan_roles or heading_phase
            or ({"effort", "priority"} & set(plan_roles) and "status" not in roles)
        ):
            self.roadmap_table(header, body, plan_roles)
            return
        if "status" not in roles:
            marked = [
                i for i in range(len(header)) if i not in roles.values()
                and sum(1 for _n, cells in body if i < len(cells)
                        and has_status_marker(cells[i])) >= max(1, len(body) // 2)
            ]
            if len(marked) == 1:
                roles["status"] = marked[0]
        if "status" not in roles:
            if "score" in roles:
                self.score_table(header, body, roles)
                return
            if any(has_status_marker(" ".join(cells)) for _n, cells in body):
                self.warn(header_no, f"table with columns {header} has status markers "
                                     "but no status column; not read")
            elif body:
                # e.g. a risk register or a roadmap: say so rather than drop it silently
                self.warn(header_no, f"table with columns {header} has no status or score "
                                     f"column; its {len(body)} row(s) not read")
            return
        if "component" not in roles:
            free = [i for i in range(len(header)) if i not in roles.values()]
            if free and (roles["status"] != 0 or len(free) == 1):
                roles["component"] = free[0]
            else:
                self.warn(header_no, f"table with columns {header} has no component "
                                     "column; not read")
                return
        if "evidence" not in roles:
            free = [i for i in range(len(header)) if i not in roles.values()
                    and i > roles["status"]]
            if free:
                roles["evidence"] = free[0]
        for line_no, cells in body:
            self.row(line_no, cells, header, roles)

    def row(self, line_no, cells, header, roles):
        if _is_separator(cells):
            return
        if len(cells) < len(header):
            needed = max(roles["status"], roles["component"])
            if len(cells) <= needed:
                self.warn(line_no, f"row {_snippet(cells)} has {len(cells)} cells, the "
                                   f"header has {len(header)}; not read")
                return
        elif len(cells) > len(header):
            self.warn(line_no, f"row {_snippet(cells)} has {len(cells)} cells, the header "
                               f"has {len(header)} (an unescaped '|'?); not read")
            return

        def cell(role):
            idx = roles.get(role)
            return _clean_cell(cells[idx]) if idx is not None and idx < len(cells) else ""

        component = cell("component")
        status_text = cell("status")
        if not component:
            if status_text:
                self.warn(line_no, f"row with status {status_text!r} has no component; "
                                   "not read")
            return
        if component.lower().strip("* ") in ("total", "overall"):
            return
        try:
            status, raw = normalize_status(status_text)
        except StatusError as exc:
            self.warn(line_no, f"{exc} for {component!r}; not read")
            return
        evidence = cell("evidence")
        link = cell("link")
        pillar = self.current_pillar()
        pillar_cell = cell("pillar")
        if pillar_cell:
            pillar = self.resolve_pillar(pillar_cell)
        code = cell("code") or None
        if code is None:
            bare = component.split()[0].strip("[]():") if component else ""
            if _CODE_RE.match(bare) and len(component.split()) > 1:
                code = bare
                component = component[len(component.split()[0]):].strip(" -–—:")
        self.report.findings.append(ParsedFinding(
            pillar=pillar, component=_LINK_RE.sub(r"\1", component), status=status,
            evidence=_LINK_RE.sub(r"\1 (\2)", evidence), line_no=line_no, raw_status=raw,
            evidence_url=_extract_url(link, evidence), control_code=code,
            na_reason=na_reason_for(raw, evidence) if status == "not_applicable" else None,
        ))

    def _cells(self, line_no, cells, header, roles):
        """Cell text by role, or None (with a warning) for a malformed row."""
        if _is_separator(cells) or not any(c.strip() for c in cells):
            return None
        if len(cells) > len(header) or len(cells) <= roles["title"]:
            self.warn(line_no, f"row {_snippet(cells)} has {len(cells)} cells, the header "
                               f"has {len(header)}; not read")
            return None
        return {role: _clean_cell(cells[idx]) if idx < len(cells) else ""
                for role, idx in roles.items()}

    def _titled_rows(self, header, body, roles, what):
        """(line_no, cell, title) of each readable row; rows without a title are reported."""
        for line_no, cells in body:
            cell = self._cells(line_no, cells, header, roles)
            if cell is None:
                continue
            title = _LINK_RE.sub(r"\1", cell["title"])
            if not title:
                self.warn(line_no, f"{what} row {_snippet(cells)} has no title; not read")
                continue
            yield line_no, cell, title

    def risk_table(self, header, body, roles):
        for line_no, cell, title in self._titled_rows(header, body, roles, "risk"):
            risk = ParsedRisk(title=title, line_no=line_no, mitigation=cell.get("mitigation", ""),
                              owner=cell.get("owner", ""))
            for role, scale in (("likelihood", LIKELIHOOD_WORDS), ("impact", IMPACT_WORDS),
                                ("residual_likelihood", LIKELIHOOD_WORDS),
                                ("residual_impact", IMPACT_WORDS)):
                text = cell.get(role)
                if role.startswith("residual") and not text:
                    continue
                value = scale_value(text, scale)
                if value is None:
                    self.warn(line_no, f"risk {title!r}: {role.replace('_', ' ')} "
                                       f"{text or '(empty)'!r} is not 1-5 or a known word; "
                                       "left at the default")
                setattr(risk, role, value)
            if cell.get("severity"):
                risk.severity = SEVERITY_WORDS.get(_norm(cell["severity"]))
                if risk.severity is None:
                    self.warn(line_no, f"risk {title!r}: severity {cell['severity']!r} not "
                                       "recognised; left empty")
            risk.pillar = cell.get("pillar") or None
            risk.context_pillar = self.current_pillar()
            if cell.get("due"):
                risk.due_date = parse_date(cell["due"])
                if risk.due_date is None:
                    self.warn(line_no, f"risk {title!r}: due date {cell['due']!r} is not a "
                                       "date (YYYY-MM-DD); left empty")
            self.report.risks.append(risk)

    def roadmap_table(self, header, body, roles):
        heading = " ".join(text for _level, text, _code in self.stack)
        heading_phase = parse_phase(self.stack[-1][1]) if self.stack else None
        for line_no, cell, title in self._titled_rows(header, body, roles, "roadmap"):
            rec = ParsedRecommendation(title=title, line_no=line_no, owner=cell.get("owner", ""))
            if cell.get("phase"):
                rec.phase = parse_phase(cell["phase"])
                if rec.phase is None:
                    self.warn(line_no, f"recommendation {title!r}: phase {cell['phase']!r} "
                                       "not recognised (0-30, 30-60, 60-90 days or later); "
                                       "left to the default")
            elif heading_phase:
                rec.phase = heading_phase
            else:
                self.warn(line_no, f"recommendation {title!r}: no phase in the row or in the "
                                   f"heading {heading!r}; left to the default")
            if cell.get("priority"):
                rec.priority = parse_priority(cell["priority"])
                if rec.priority is None:
                    self.warn(line_no, f"recommendation {title!r}: priority "
                                       f"{cell['priority']!r} not recognised; left to the "
                                       "default")
            if cell.get("effort"):
                rec.effort_days, why = parse_effort(cell["effort"])
                if why:
                    self.warn(line_no, f"recommendation {title!r}: {why}")
            if cell.get("pillar"):
                rec.pillars = [p.strip() for p in re.split(r"[,;/+]", cell["pillar"])
                               if p.strip()]
            rec.context_pillar = self.current_pillar()
            if cell.get("depends"):
                rec.depends_on = [d.strip() for d in re.split(r"[,;]", cell["depends"])
                                  if d.strip() and _norm(d) not in ("none", "n a", "")]
            if cell.get("state"):
                rec.state = parse_plan_state(cell["state"])
                if rec.state is None:
                    self.warn(line_no, f"recommendation {title!r}: state {cell['state']!r} "
                                       "not recognised; left to the default")
            self.report.recommendations.append(rec)

    def score_table(self, header, body, roles):
        name_idx = roles.get("pillar")
        if name_idx is None:
            name_idx = roles.get("component")
        if name_idx is None:
            free = [i for i in range(len(header)) if i not in roles.values()]
            name_idx = free[0] if free else None
        if name_idx is None:
            self.warn(body[0][0] - 2 if body else 0, "score table without a name column")
            return
        for line_no, cells in body:
            if len(cells) <= max(name_idx, roles["score"]):
                self.warn(line_no, f"row {_snippet(cells)} has {len(cells)} cells, the "
                                   f"header has {len(header)}; not read")
                continue
            name = _clean_cell(cells[name_idx])
            raw = _clean_cell(cells[roles["score"]])
            if not name:
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
            self.add_score(name, score, line_no)


def parse_markdown(text, pillars=None):
    """Parse a Markdown assessment report (str or UTF-8 bytes) into a ParsedReport.

    ``pillars`` (optional): ``(code, name, aliases)`` tuples or plain names of the known
    pillars. With them, ``ParsedFinding.pillar``/``ParsedPillarScore.pillar`` are pillar
    codes (or the heading text when no pillar matches) and sub-headings inherit the
    pillar of their parent; without them they are the text of the nearest heading.
    """
    return _MarkdownReader(_to_text(text), pillars).run()


# --------------------------------------------------------------------------- JSON


def _load_json(text):
    text = _to_text(text)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            f"line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg})", exc.lineno
        ) from None


def _str(value):
    return value.strip() if isinstance(value, str) else ""


AWS_RISK_SEVERITY = {"HIGH_RISK": "high", "MEDIUM_RISK": "medium", "NO_RISK": "low"}
AWS_LIMITS = {"pillars": 10, "questions": 20, "choices": 15}


def parse_aws_lens(text):
    """Parse an AWS Well-Architected custom lens (JSON, schema 2021-11-01)."""
    data = _load_json(text)
    if not isinstance(data, dict) or not isinstance(data.get("pillars"), list):
        raise ImportFormatError("not an AWS custom lens: no 'pillars' list at the top level")
    report = ParsedReport(title=_str(data.get("name")) or None)
    warn = report.warnings.append
    if not _str(data.get("schemaVersion")):
        warn("lens: no schemaVersion (expected '2021-11-01'); read anyway")
    if len(data["pillars"]) > AWS_LIMITS["pillars"]:
        warn(f"lens: {len(data['pillars'])} pillars, the format allows "
             f"{AWS_LIMITS['pillars']}; all read")
    seen = set()
    answers = _aws_answers(data, warn)
    unanswered = []
    for p_idx, pillar in enumerate(data["pillars"]):
        where_p = f"pillars[{p_idx}]"
        if not isinstance(pillar, dict):
            warn(f"{where_p}: not an object; not read")
            continue
        pillar_name = _str(pillar.get("name")) or _str(pillar.get("id"))
        if not pillar_name:
            warn(f"{where_p}: pillar without id or name; not read")
            continue
        questions = pillar.get("questions")
        if not isinstance(questions, list) or not questions:
            warn(f"{where_p} ({pillar_name}): no questions")
            continue
        if len(questions) > AWS_LIMITS["questions"]:
            warn(f"{where_p} ({pillar_name}): {len(questions)} questions, the format allows "
                 f"{AWS_LIMITS['questions']}; all read")
        for q_idx, question in enumerate(questions):
            where = f"{where_p}.questions[{q_idx}]"
            if not isinstance(question, dict):
                warn(f"{where}: not an object; not read")
                continue
            qid = _str(question.get("id"))
            title = _str(question.get("title"))
            if not qid or not title:
                warn(f"{where}: question without id or title; not read")
                continue
            if qid in seen:
                warn(f"{where}: question id {qid!r} appears twice; second one not read")
                continue
            seen.add(qid)
            control = _aws_control(question, pillar_name, where, warn)
            report.controls.append(control)
            answer = _aws_answer(question, answers)
            if answer is None:
                unanswered.append(f"{where} ({qid})")
                status, evidence, raw, na_reason = "unknown", "", "UNANSWERED", None
            else:
                status, evidence, raw, na_reason = _aws_status(
                    question, answer, f"{where} ({qid})", warn)
            report.findings.append(ParsedFinding(
                pillar=pillar_name, component=title, status=status, evidence=evidence,
                line_no=None, raw_status=raw, evidence_url=None, control_code=qid,
                na_reason=na_reason,
            ))
    if unanswered and len(unanswered) == len(report.findings):
        warn(f"lens: the file carries no answers; its {len(unanswered)} question(s) are "
             "imported with status unknown (AWS UNANSWERED)")
    else:
        for where in unanswered:
            warn(f"{where}: no answer; status unknown (AWS UNANSWERED)")
    for qid in sorted(set(answers) - seen):
        warn(f"answers: question id {qid!r} is not in the lens; not read")
    return report


def _aws_get(data, key):
    """``data[key]`` in the lens's camelCase or the AWS API's PascalCase spelling."""
    if not isinstance(data, dict):
        return None
    if key in data:
        return data[key]
    return data.get(key[:1].upper() + key[1:])


def _aws_answers(data, warn):
    """Answers given beside the lens (``answers``/``AnswerSummaries``), by question id."""
    out = {}
    for key in ("answers", "answerSummaries"):
        items = _aws_get(data, key)
        if items is None:
            continue
        if not isinstance(items, list):
            warn(f"{key}: not a list; not read")
            continue
        for idx, item in enumerate(items):
            qid = _str(_aws_get(item, "questionId"))
            if not qid:
                warn(f"{key}[{idx}]: answer without questionId; not read")
                continue
            if qid in out:
                warn(f"{key}[{idx}]: second answer for {qid!r}; not read")
                continue
            out[qid] = item
    return out


_AWS_ANSWER_KEYS = ("selectedChoices", "choiceAnswers", "choiceAnswerSummaries",
                    "isApplicable", "risk", "notes")


def _aws_answer(question, answers):
    """The answer of a question: in ``answer``, on the question itself, or beside it."""
    inline = _aws_get(question, "answer")
    if isinstance(inline, dict):
        return inline
    if any(_aws_get(question, key) is not None for key in _AWS_ANSWER_KEYS):
        return question
    return answers.get(_str(question.get("id")))


AWS_RISK_STATUS = {
    "NONE": "implemented", "NO_RISK": "implemented", "MEDIUM": "partial",
    "MEDIUM_RISK": "partial", "HIGH": "missing", "HIGH_RISK": "missing",
    "NOT_APPLICABLE": "not_applicable", "UNANSWERED": "unknown",
}
AWS_NA_REASON = {
    "OUT_OF_SCOPE": "out_of_scope", "BUSINESS_PRIORITIES": "business_priorities",
    "ARCHITECTURE_CONSTRAINTS": "architecture_constraints", "OTHER": "other",
}


def _aws_status(question, answer, where, warn):
    """``(status, evidence, raw_status, na_reason)`` of an answered question.

    - not applicable (``isApplicable: false`` or risk NOT_APPLICABLE) -> not_applicable,
      with AWS's reason;
    - the choices: "None of these" (id ending in ``_no``) -> missing; every best
      practice selected (those marked NOT_APPLICABLE aside) -> implemented; some ->
      partial;
    - no selection: the risk AWS computed (NONE -> implemented, MEDIUM -> partial,
      HIGH -> missing); without one, unknown, and a warning says so.
    """
    choices = [c for c in (question.get("choices") or []) if isinstance(c, dict)]
    titles = {_str(c.get("id")): _str(c.get("title")) for c in choices if _str(c.get("id"))}
    none_ids = {cid for cid in titles if cid.endswith("_no")}
    practices = [cid for cid in titles if cid not in none_ids]
    selected, not_applicable = [], set()
    raw_selected = _aws_get(answer, "selectedChoices")
    if isinstance(raw_selected, list):
        selected = [_str(c) for c in raw_selected if _str(c)]
    for key in ("choiceAnswers", "choiceAnswerSummaries"):
        for item in _aws_get(answer, key) or []:
            cid, state = _str(_aws_get(item, "choiceId")), _str(_aws_get(item, "status"))
            if state.upper() == "SELECTED" and cid and cid not in selected:
                selected.append(cid)
            elif state.upper() == "NOT_APPLICABLE" and cid:
                not_applicable.add(cid)
    unknown_ids = [cid for cid in selected if cid not in titles]
    if unknown_ids:
        warn(f"{where}: selected choice(s) {', '.join(unknown_ids)} not in the question; "
             "ignored")
        selected = [cid for cid in selected if cid in titles]
    risk = _str(_aws_get(answer, "risk")).upper()
    notes = _str(_aws_get(answer, "notes"))
    reason = _str(_aws_get(answer, "reason")).upper()
    parts = [notes] if notes else []
    if selected:
        parts.append("Selected: " + "; ".join(titles[cid] for cid in selected))
    if risk:
        parts.append(f"AWS risk: {risk}")
    evidence = "\n".join(parts)
    if _aws_get(answer, "isApplicable") is False or risk == "NOT_APPLICABLE":
        na_reason = AWS_NA_REASON.get(reason)
        if reason and reason != "NONE" and na_reason is None:
            warn(f"{where}: not-applicable reason {reason!r} not recognised")
        return "not_applicable", evidence, "NOT_APPLICABLE", na_reason
    if selected:
        chosen_none = [cid for cid in selected if cid in none_ids]
        if chosen_none and len(chosen_none) < len(selected):
            warn(f"{where}: 'None of these' selected together with best practices; "
                 "status unknown")
            return "unknown", evidence, "CONFLICTING CHOICES", None
        if chosen_none:
            return "missing", evidence, "NONE OF THESE", None
        applicable = [cid for cid in practices if cid not in not_applicable]
        done = [cid for cid in applicable if cid in selected]
        status = "implemented" if len(done) == len(applicable) else "partial"
        return status, evidence, f"{len(done)}/{len(applicable)} SELECTED", None
    if risk in AWS_RISK_STATUS and risk != "NOT_APPLICABLE":
        if risk == "UNANSWERED":
            warn(f"{where}: answer says UNANSWERED; status unknown")
        return AWS_RISK_STATUS[risk], evidence, risk, None
    if risk:
        warn(f"{where}: risk {risk!r} not recognised and no choice selected; status unknown")
    else:
        warn(f"{where}: answer selects no choice and states no risk; status unknown")
    return "unknown", evidence, risk or "UNANSWERED", None


def _aws_control(question, pillar_name, where, warn):
    qid = question["id"].strip()
    choices = question.get("choices") if isinstance(question.get("choices"), list) else []
    if not choices:
        warn(f"{where} ({qid}): no choices")
    if len(choices) > AWS_LIMITS["choices"]:
        warn(f"{where} ({qid}): {len(choices)} choices, the format allows "
             f"{AWS_LIMITS['choices']}")
    lines, plans, url = [], [], None
    helpful = question.get("helpfulResource") or {}
    if isinstance(helpful, dict):
        url = _str(helpful.get("url")) or None
    for c_idx, choice in enumerate(choices):
        if not isinstance(choice, dict) or not _str(choice.get("title")):
            warn(f"{where}.choices[{c_idx}]: choice without title; not read")
            continue
        cid = _str(choice.get("id"))
        if cid.endswith("_no"):
            continue  # "None of these": not a best practice
        lines.append(f"- {choice['title'].strip()}")
        plan = choice.get("improvementPlan") or {}
        if isinstance(plan, dict) and _str(plan.get("displayText")):
            plans.append(f"{choice['title'].strip()}: {plan['displayText'].strip()}")
        elif not isinstance(plan, dict) or not plan:
            warn(f"{where}.choices[{c_idx}] ({cid}): no improvementPlan")
        resource = choice.get("helpfulResource") or {}
        if url is None and isinstance(resource, dict):
            url = _str(resource.get("url")) or None
        if url is None and isinstance(plan, dict):
            url = _str(plan.get("url")) or None
    severity = None
    rules = question.get("riskRules") if isinstance(question.get("riskRules"), list) else []
    default = [r for r in rules if isinstance(r, dict) and _str(r.get("condition")) == "default"]
    if not default:
        warn(f"{where} ({qid}): no 'default' risk rule; severity left empty")
    else:
        risk = _str(default[0].get("risk"))
        severity = AWS_RISK_SEVERITY.get(risk)
        if severity is None:
            warn(f"{where} ({qid}): risk {risk!r} not recognised; severity left empty")
    description = _str(question.get("description"))
    if lines:
        description = (description + "\n\n" if description else "") + "Best practices:\n" + \
            "\n".join(lines)
    return ParsedControl(
        code=qid, name=question["title"].strip(), pillar=pillar_name, severity=severity,
        description=description, recommendation="\n".join(plans), reference_url=url,
    )


AZURE_STATUS = {
    "fulfilled": "implemented",
    "open": "missing",
    "not verified": "unknown",
    "not required": "not_applicable",
    "n/a": "not_applicable",
    "na": "not_applicable",
}
AZURE_SEVERITY = {"high": "high", "medium": "medium", "low": "low"}


def parse_azure_checklist(text):
    """Parse an Azure review checklist (JSON of Azure/review-checklists)."""
    data = _load_json(text)
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise ImportFormatError("not an Azure review checklist: no 'items' list at the top "
                                "level")
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    report = ParsedReport(title=_str(metadata.get("name")) or None)
    warn = report.warnings.append
    seen = set()
    for idx, item in enumerate(data["items"]):
        where = f"items[{idx}]"
        if not isinstance(item, dict):
            warn(f"{where}: not an object; not read")
            continue
        guid = _str(item.get("guid"))
        text_ = _str(item.get("text"))
        if not guid:
            warn(f"{where} ({text_[:50]!r}): no guid; not read")
            continue
        if not text_:
            warn(f"{where} ({guid}): no text; not read")
            continue
        if guid in seen:
            warn(f"{where} ({guid}): guid appears twice; second one not read")
            continue
        seen.add(guid)
        pillar = _str(item.get("waf")) or _str(item.get("category")) or None
        if pillar is None:
            warn(f"{where} ({guid}): no waf pillar and no category")
        raw_sev = _str(item.get("severity"))
        severity = AZURE_SEVERITY.get(raw_sev.lower())
        if severity is None:
            warn(f"{where} ({guid}): severity {raw_sev!r} not recognised; left empty")
        description = _str(item.get("description"))
        if _str(item.get("subcategory")):
            description = (f"{_str(item.get('category'))} / {_str(item.get('subcategory'))}"
                           + (f"\n\n{description}" if description else ""))
        report.controls.append(ParsedControl(
            code=guid, name=text_, pillar=pillar, severity=severity, description=description,
            recommendation=text_, reference_url=_str(item.get("link")) or None,
        ))
        raw_status = _str(item.get("status"))
        status = AZURE_STATUS.get(raw_status.lower()) if raw_status else "unknown"
        if status is None:
            warn(f"{where} ({guid}): status {raw_status!r} not recognised; not read")
            continue
        evidence = _str(item.get("comments")) or _str(item.get("comment"))
        report.findings.append(ParsedFinding(
            pillar=pillar, component=text_, status=status, evidence=evidence, line_no=None,
            raw_status=raw_status or "Not verified", evidence_url=_extract_url(evidence),
            control_code=guid,
            na_reason=na_reason_for(evidence) if status == "not_applicable" else None,
        ))
    return report
