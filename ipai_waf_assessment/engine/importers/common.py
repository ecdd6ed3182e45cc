# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""What the three parsers share: the parsed-report classes, decoding, statuses, pillars.

Decoding
--------
Bytes are read as UTF-8 (with or without a BOM), UTF-16 with a BOM, or else as
Windows-1252 and, failing that, Latin-1 (every byte is a Latin-1 character, so this
always succeeds; a warning says which code page was assumed). NUL bytes are removed
and reported. Mojibake (UTF-8 read back as cp1252 or Latin-1, ``âœ…`` for ✅) is
repaired line by line with ftfy.

Statuses
--------
A status cell holds a marker (emoji), a word, or both: ``✅ Implemented``,
``⚠️ Partial``, ``❌ Not Used``, ``⚠️ Missing job dependencies``. The word states the
status and the marker is the author's colour, so the word wins when they disagree
(``✅ Partial`` is partial, with a note). When the word maps to no status the marker
decides, with a note. The text after the status word is evidence. Words are read in
English, French, Spanish and Turkish.

Linear time
-----------
Every regular expression here is either anchored and free of nested quantifiers, or
applied to text cut to :data:`MAX_FIELD` characters first, so no input makes it
backtrack for long.
"""

import functools
import json
import re
import unicodedata
from dataclasses import dataclass, field

import ftfy

MAX_FIELD = 2000  # characters of one heading, cell or list item that regexes look at

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
    note: str = ""  # how the status was read, when it needed a choice


@dataclass
class ParsedPillarScore:
    """A pillar score stated by the document (an assessor override)."""

    pillar: str
    score: float
    line_no: int | None


@dataclass
class ParsedStatedScore:
    """A framework or overall score the report states, kept beside the computed one."""

    name: str
    score: float | None
    grade: str | None
    status: str
    line_no: int | None
    framework: str | None = None  # framework code when the name names one


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
    choices: list = field(default_factory=list)  # an AWS question's [{"id", "title"}]


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
    state: str | None = None  # open, accepted, mitigated, closed


@dataclass
class ParsedRecommendation:
    """A roadmap item: a table row or a list item under a phase or pillar heading."""

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
    gain: float | None = None  # "(+5 points)": expected score gain


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
    stated_scores: list = field(default_factory=list)  # ParsedStatedScore
    decision: str | None = None  # "Go-Live Status: APPROVED with ..."
    decision_code: str | None = None  # the decision read from it: go, go_with_conditions, no_go
    source: str | None = None  # identity of a lens or checklist: "aws_lens:<slug>"
    framework: str | None = None  # an AWS lens is its own framework: its name


class ImportFormatError(ValueError):
    """The document cannot be read at all; ``line_no`` says where, when known."""

    def __init__(self, message, line_no=None):
        super().__init__(message)
        self.line_no = line_no


# --------------------------------------------------------------------------- decoding


def to_text(content, warnings=None):
    """Text of ``content`` (str or bytes); the code page assumed goes to ``warnings``."""
    if isinstance(content, bytes | bytearray):
        data = bytes(content)
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            try:
                text = data.decode("utf-16")
            except UnicodeDecodeError as exc:
                raise ImportFormatError(
                    f"the file starts with a UTF-16 byte-order mark but is not UTF-16 "
                    f"({exc.reason})") from None
        else:
            if data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                line_no = data[: exc.start].count(b"\n") + 1
                try:
                    text, codec = data.decode("cp1252"), "Windows-1252"
                except UnicodeDecodeError:
                    text, codec = data.decode("latin-1"), "Latin-1"
                if warnings is not None:
                    warnings.append(f"line {line_no}: the file is not UTF-8; read as {codec}")
    elif isinstance(content, str):
        text = content
    else:
        raise ImportFormatError(f"expected text or bytes, got {type(content).__name__}")
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        if warnings is not None:
            first = text[: text.index("\x00")].count("\n") + 1
            warnings.append(f"line {first}: {text.count(chr(0))} NUL byte(s) removed")
        text = text.replace("\x00", "")
    return text


_FTFY_CONFIG = ftfy.TextFixerConfig(
    unescape_html=False, fix_latin_ligatures=False, fix_character_width=False,
    uncurl_quotes=False, fix_line_breaks=False, normalization=None, explain=False,
)
_MOJIBAKE_HINT = re.compile("[\u0080-\u00ff\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192"
                            "\u02c6\u02dc\u2013-\u203a\u20ac\u2122\u221a]")


# Emoji whose invisible bytes (0x8F, 0x9D, a non-breaking space) were lost on the way:
# no decoder can restore them, so the few that reports use are listed.
LOST_BYTES = (("âš ï¸", "⚠️"), ("âš\xa0ï¸", "⚠️"), ("âš ", "⚠ "), ("⌠", "❌"), ("âŒ", "❌"),
              ("ï¸", "\ufe0f"))


def fix_mojibake(line):
    """Repair UTF-8 text that was decoded as cp1252 / Latin-1 (ftfy), if it was."""
    if not line or not _MOJIBAKE_HINT.search(line):
        return line
    return _fix_mojibake(line)


@functools.lru_cache(maxsize=4096)
def _fix_mojibake(line):
    # ftfy is the slowest step of a cell, and broken cells repeat (a status column).
    line = ftfy.fix_text(line, _FTFY_CONFIG)
    for bad, good in LOST_BYTES:
        if bad in line:
            line = line.replace(bad, good)
    return line


def load_json(content, warnings=None):
    """Parsed JSON of ``content``; ImportFormatError when it is not JSON."""
    text = to_text(content, warnings)
    if not text.strip():
        raise ImportFormatError("the file is empty; expected a JSON document")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            f"line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg})", exc.lineno
        ) from None
    except RecursionError:
        raise ImportFormatError(
            "the JSON is nested too deeply to be a lens or a checklist") from None


def load_object(content, key, what):
    """``(data, warnings)`` of a JSON document whose top-level object holds a ``key`` list.

    ``what`` names the expected format in the error ("an AWS custom lens: ...").
    """
    warnings = []
    data = load_json(content, warnings)
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise ImportFormatError(f"not {what}")
    return data, warnings


def text_of(value):
    return value.strip() if isinstance(value, str) else ""


def slug(text, width=40):
    """Lower-case code of ``text`` that keeps letters of every script."""
    out = re.sub(r"[^\w]+", "-", (text or "").lower()).strip("-_")
    return out[:width].strip("-") or "item"


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
COLOUR_MARKERS = {"🟢": "low", "🟡": "medium", "🟠": "high", "🔴": "high"}

# Phrases, matched at the start of the status text (longest first).
STATUS_WORDS = {
    "implemented": "implemented", "done": "implemented", "yes": "implemented",
    "complete": "implemented", "completed": "implemented", "pass": "implemented",
    "passed": "implemented", "fulfilled": "implemented", "compliant": "implemented",
    "in place": "implemented", "enabled": "implemented", "active": "implemented",
    "good": "implemented", "excellent": "implemented", "strong": "implemented",
    "approved": "implemented", "ok": "implemented",
    "partial": "partial", "partially": "partial", "partially implemented": "partial",
    "manual": "partial", "partly": "partial", "limited": "partial", "basic": "partial",
    "needs improvement": "partial", "fair": "partial", "warn": "partial",
    "warning": "partial",
    "planned": "planned", "in progress": "planned", "scheduled": "planned",
    "wip": "planned", "roadmap": "planned",
    "missing": "missing", "not implemented": "missing", "no": "missing",
    "fail": "missing", "failed": "missing", "absent": "missing", "open": "missing",
    "non compliant": "missing", "non-compliant": "missing", "not started": "missing",
    "not used": "missing", "none": "missing", "poor": "missing", "gap": "missing",
    "n/a": "not_applicable", "na": "not_applicable", "not applicable": "not_applicable",
    "out of scope": "not_applicable", "not required": "not_applicable",
    "unknown": "unknown", "not verified": "unknown", "tbd": "unknown",
    "unverified": "unknown", "?": "unknown", "not assessed": "unknown",
    # French
    "implémenté": "implemented", "implemente": "implemented", "en place": "implemented",
    "conforme": "implemented", "partiel": "partial", "partielle": "partial",
    "manquant": "missing", "manquante": "missing",
    "non implémenté": "missing", "non conforme": "missing", "planifié": "planned",
    "prévu": "planned", "en cours": "planned", "inconnu": "unknown",
    "non applicable": "not_applicable",
    # Spanish
    "implementado": "implemented", "completado": "implemented", "parcial": "partial",
    "falta": "missing", "faltante": "missing", "no implementado": "missing",
    "planificado": "planned", "en progreso": "planned", "desconocido": "unknown",
    "no aplica": "not_applicable",
    # Turkish
    "uygulandı": "implemented", "tamamlandı": "implemented", "mevcut": "implemented",
    "kısmi": "partial", "kısmen": "partial", "eksik": "missing", "yok": "missing",
    "uygulanmadı": "missing", "planlandı": "planned", "planlanan": "planned",
    "bilinmiyor": "unknown",
}
_WORDS_BY_FIRST = {}
for _phrase in sorted(STATUS_WORDS, key=len, reverse=True):
    _WORDS_BY_FIRST.setdefault(_phrase[0], []).append(_phrase)

VARIATION_SELECTORS = "\ufe0f\ufe0e"


class StatusError(ValueError):
    """A status cell that cannot be read; the message says why."""


@dataclass
class StatusReading:
    status: str
    raw: str
    note: str = ""  # how a disagreement was settled
    rest: str = ""  # text after the status word: evidence


def clean_inline(text):
    """Inline Markdown text without emphasis, code ticks and extra spaces."""
    text = (text or "")[:MAX_FIELD * 4]
    return " ".join(text.replace("**", "").replace("__", "").replace("`", "").split())


def _strip_symbols(text):
    return "".join(
        ch for ch in text if ch not in STATUS_MARKERS and ch not in VARIATION_SELECTORS
        and unicodedata.category(ch) != "So"
    )


def _word_status(rest):
    """``(status, phrase)`` of the status word ``rest`` starts with, or (None, None)."""
    low = rest.lower()
    for phrase in _WORDS_BY_FIRST.get(low[:1], ()):
        if low.startswith(phrase) and (
            len(low) == len(phrase) or not (low[len(phrase)].isalnum()
                                            or low[len(phrase)] == "/")
        ):
            return STATUS_WORDS[phrase], phrase
    return None, None


def read_status(text):
    """A :class:`StatusReading` of a status cell, or raise :class:`StatusError`."""
    reading = _read_status(text or "")
    if isinstance(reading, str):
        raise StatusError(reading)
    return StatusReading(*reading)


@functools.lru_cache(maxsize=4096)
def _read_status(text):
    # A status column repeats a handful of values: each is read once. Returns the
    # reading's fields, or the error message (an exception is not cached).
    try:
        reading = _read_status_uncached(text)
    except StatusError as exc:
        return str(exc)
    return reading.status, reading.raw, reading.note, reading.rest


def _read_status_uncached(text):
    raw = clean_inline(fix_mojibake(text or "")[:MAX_FIELD])
    raw = raw.replace("*", "")
    if not raw:
        raise StatusError("no status")
    markers = [STATUS_MARKERS[ch] for ch in raw if ch in STATUS_MARKERS]
    rest = _strip_symbols(raw).strip(" -:–—/()[]")
    word, phrase = _word_status(rest) if rest else (None, None)
    marker = markers[0] if markers else None
    note = ""
    if word:
        after = rest[len(phrase):].strip(" -:–—,;()")
        if marker and marker != word:
            note = f"the marker says {marker}, the word says {word}: the word wins"
        return StatusReading(word, raw, note, after)
    if marker:
        if len(set(markers)) > 1:
            raise StatusError(f"status {raw!r} has conflicting markers")
        if rest:
            note = f"{rest!r} is no status word: the marker ({marker}) decides"
        return StatusReading(marker, raw, note, rest)
    raise StatusError(f"status {raw!r} not recognised")


def normalize_status(text):
    """``(status, raw)`` of a status cell (see :func:`read_status`)."""
    reading = read_status(text)
    return reading.status, reading.raw


NA_REASON_WORDS = (
    ("out of scope", "out_of_scope"), ("out-of-scope", "out_of_scope"),
    ("business priorit", "business_priorities"),
    ("architecture constraint", "architecture_constraints"),
    ("architectural constraint", "architecture_constraints"),
)


def na_reason_for(*texts):
    """The not-applicable reason a status or evidence text states, or None."""
    for text in texts:
        low = " ".join((text or "").lower().split())
        for phrase, reason in NA_REASON_WORDS:
            if phrase in low:
                return reason
    return None


def has_status_marker(text):
    """True when the text contains one of the status emoji."""
    return any(ch in STATUS_MARKERS for ch in text)


# Score bands: a stated score (65/100, 85%) read as a status.
SCORE_BANDS = ((80.0, "implemented"), (50.0, "partial"), (0.0, "missing"))


def status_for_score(score):
    for floor, status in SCORE_BANDS:
        if score >= floor:
            return status
    return "missing"


# --------------------------------------------------------------------------- pillars

# The shipped catalog's pillars, used when the caller passes none.
DEFAULT_PILLARS = (
    ("reliability", "Reliability", "azure_waf"),
    ("security", "Security", "azure_waf"),
    ("cost_optimization", "Cost Optimization", "azure_waf"),
    ("operational_excellence", "Operational Excellence", "azure_waf"),
    ("performance_efficiency", "Performance Efficiency", "azure_waf"),
    ("storage_engine", "Storage Engine", "databricks_lakehouse"),
    ("sql_engine", "SQL Engine", "databricks_lakehouse"),
    ("ml_engine", "ML Engine", "databricks_lakehouse"),
    ("streaming_engine", "Streaming Engine", "databricks_lakehouse"),
    ("governance", "Governance", "databricks_lakehouse"),
    ("bronze", "Bronze", "medallion"),
    ("silver", "Silver", "medallion"),
    ("gold", "Gold", "medallion"),
    ("platinum", "Platinum", "medallion"),
)

DEFAULT_PILLAR_ALIASES = {
    "reliability": ("resiliency", "resilience", "availability", "fiabilité", "fiabilite",
                    "fiabilidad", "güvenilirlik", "confiabilidad"),
    "security": ("securité", "sécurité", "seguridad", "güvenlik", "安全", "sicherheit"),
    "cost_optimization": ("cost", "cost management", "costs", "finops", "coûts", "couts",
                          "optimisation des coûts", "optimización de costos", "costos",
                          "maliyet", "maliyet optimizasyonu"),
    "operational_excellence": ("operations", "operational", "opex", "devops",
                               "ops excellence", "ops", "excellence opérationnelle",
                               "excelencia operativa", "operasyonel mükemmellik"),
    "performance_efficiency": ("performance", "performance and scalability", "scalability",
                               "rendimiento", "eficiencia del rendimiento", "performans"),
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

FRAMEWORK_ALIASES = {
    "azure_waf": ("azure waf", "azure well architected", "azure well architected framework",
                  "waf", "well architected"),
    "databricks_lakehouse": ("databricks lakehouse", "lakehouse", "databricks",
                             "databricks well architected lakehouse"),
    "medallion": ("medallion", "medallion architecture"),
}

_SCORE_RE = re.compile(
    r"(?P<num>\d{1,4}(?:[.,]\d{1,3})?) ?(?:/ ?(?P<den>\d{1,4}(?:[.,]\d{1,3})?)|(?P<pct>%))"
)
_SCORE_WORD_RE = re.compile(r"score ?[:=] ?(?P<val>[^)|]{0,40})", re.I)
_SUFFIX_WORDS = ("pillar", "layer", "tier", "engine", "zone", "assessment",
                 "implementation", "review", "analysis", "evaluation")
_PREFIX_RE = re.compile(
    r"^(?:(?:pillar|section|part|chapter|step|phase) ?)?(?:\d{1,3}(?:\.\d{1,3}){0,4}|[ivx]{1,5}"
    r"|[a-z])\s?[.):–—-]\s+|^(?:pillar|section) \d{1,3} ?",
    re.IGNORECASE,
)


_NON_WORD_RE = re.compile(r"[^\w]+")


@functools.lru_cache(maxsize=8192)
def norm(text):
    """Lower-case words of ``text`` without accents or punctuation (any script kept)."""
    text = (text or "")[:MAX_FIELD]
    if not text.isascii():  # ASCII has no accents to take off
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(_NON_WORD_RE.sub(" ", text.lower().replace("&", " and ")
                                     .replace("_", " ")).split())


@functools.lru_cache(maxsize=4096)  # a heading or name is cleaned by several readers
def clean_heading(heading):
    """Heading text without Markdown, emoji, numbering and stated score."""
    text = " ".join(fix_mojibake(heading or "")[:MAX_FIELD].split())
    text = text.lstrip("#").strip()
    text = _SCORE_WORD_RE.sub(" ", text)
    text = _SCORE_RE.sub(" ", text)
    text = "".join(
        ch for ch in text
        if unicodedata.category(ch) not in ("So", "Sk", "Cf") and ch not in VARIATION_SELECTORS
    )
    text = text.replace("*", "").replace("_", " ").replace("`", "")
    text = text.replace("()", " ").replace("( )", " ")
    text = " ".join(text.split()).strip(" -–—:|")
    text = _PREFIX_RE.sub("", text)
    return " ".join(text.strip(" -–—:|").split())


def _strip_suffix(normed):
    words = normed.split()
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
            aliases = tuple(rest[0]) if rest and isinstance(rest[0], list | tuple) else ()
        names = {norm(code), norm(name)}
        names |= {norm(a) for a in aliases}
        names |= {norm(a) for a in DEFAULT_PILLAR_ALIASES.get(code, ())}
        names |= {_strip_suffix(n) for n in list(names)}
        out.append((code, {n for n in names if n}))
    return out


_CANDIDATE_CACHE = {}


def match_pillar(heading, pillars=None):
    """Code of the pillar a heading names, or None.

    ``pillars`` is a list of ``(code, name, aliases)`` (aliases optional) or of plain
    strings; by default the shipped catalog's pillars. A heading equal to a pillar's
    code, name or alias (ignoring case, accents, emoji, numbering, a stated score and
    words such as "pillar", "layer", "implementation") matches it. Otherwise a heading
    that names one pillar as whole words matches it ("Pillar 1: Reliability review",
    "Operational Excellence (OpEx)"); headings naming two different pillars ("Security
    and Reliability") are ambiguous and give None.
    """
    pillars = DEFAULT_PILLARS if pillars is None else pillars
    text = norm(clean_heading(heading))
    if not text:
        return None
    key = id(pillars)
    cached = _CANDIDATE_CACHE.get(key)
    if cached is None or cached[0] is not pillars:
        if len(_CANDIDATE_CACHE) >= 16:  # a few imports' pillars, not every import's
            _CANDIDATE_CACHE.pop(next(iter(_CANDIDATE_CACHE)))
        cached = _CANDIDATE_CACHE[key] = (pillars, _pillar_candidates(pillars), {})
    _pillars, candidates, found = cached
    if text not in found:  # the pillar each text names, once per list of pillars
        if len(found) >= 8192:
            found.clear()
        found[text] = _match_pillar(text, candidates)
    return found[text]


def _match_pillar(text, candidates):
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
    if len({code for _name, code in best}) == 1:
        return best[0][1]
    longest = max(best, key=lambda hit: len(hit[0]))[0]
    # every other hit must be part of the longest one ("sql" inside "sql warehouse")
    if all(f" {name} " in f" {longest} " for name, _code in best):
        return next(code for name, code in best if name == longest)
    return None


@functools.lru_cache(maxsize=4096)
def match_framework(text):
    """Code of the shipped framework ``text`` names ("Azure WAF (Aggregate)"), or None."""
    normed = norm(clean_heading(text))
    padded = f" {normed} "
    best = None
    for code, names in FRAMEWORK_ALIASES.items():
        for name in names:
            if f" {name} " in padded and (best is None or len(name) > len(best[0])):
                best = (name, code)
    return best[1] if best else None


def parse_score(text):
    """``(score_0_100, None)`` from "Score: 82/100", "8.2/10", "82%"; ``(None, why)``.

    ``(None, None)`` when the text states no score at all.
    """
    text = " ".join(fix_mojibake(text or "")[:MAX_FIELD].split())
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


_GRADE_RE = re.compile(r"^[A-F][+-]?$")


def parse_grade(text):
    text = clean_inline(text)[:8].strip()
    return text if _GRADE_RE.match(text) else None


# --------------------------------------------------------------------------- plans

LIKELIHOOD_WORDS = {
    "rare": 1, "very low": 1, "very unlikely": 1, "unlikely": 2, "low": 2, "possible": 3,
    "medium": 3, "moderate": 3, "likely": 4, "high": 4, "probable": 4,
    "almost certain": 5, "certain": 5, "very high": 5, "very likely": 5, "critical": 5,
    "faible": 2, "moyen": 3, "moyenne": 3, "élevé": 4, "eleve": 4, "élevée": 4,
    "bajo": 2, "baja": 2, "medio": 3, "media": 3, "alto": 4, "alta": 4,
    "düşük": 2, "orta": 3, "yüksek": 4, "高": 4, "中": 3, "低": 2,
}
IMPACT_WORDS = {
    "negligible": 1, "very low": 1, "insignificant": 1, "minor": 2, "low": 2,
    "moderate": 3, "medium": 3, "major": 4, "high": 4, "severe": 5, "critical": 5,
    "very high": 5, "catastrophic": 5,
    "faible": 2, "moyen": 3, "moyenne": 3, "élevé": 4, "eleve": 4, "élevée": 4,
    "critique": 5, "bajo": 2, "baja": 2, "medio": 3, "media": 3, "alto": 4, "alta": 4,
    "crítico": 5, "düşük": 2, "orta": 3, "yüksek": 4, "kritik": 5, "高": 4, "中": 3,
    "低": 2,
}
SEVERITY_WORDS = {"high": "high", "critical": "high", "medium": "medium",
                  "moderate": "medium", "low": "low", "alto": "high", "alta": "high",
                  "medio": "medium", "media": "medium", "bajo": "low", "baja": "low",
                  "élevé": "high", "moyen": "medium", "faible": "low", "critique": "high",
                  "yüksek": "high", "orta": "medium", "düşük": "low", "kritik": "high",
                  "高": "high", "中": "medium", "低": "low"}
PRIORITY_WORDS = {"critical": "P0", "urgent": "P0", "high": "P1", "medium": "P2",
                  "normal": "P2", "low": "P3"}
PLAN_STATE_WORDS = {
    "todo": "todo", "to do": "todo", "open": "todo", "planned": "todo", "not started": "todo",
    "new": "todo", "doing": "doing", "in progress": "doing", "started": "doing",
    "wip": "doing", "done": "done", "complete": "done", "completed": "done",
    "closed": "done", "dropped": "dropped", "cancelled": "dropped", "canceled": "dropped",
    "won t do": "dropped", "wont do": "dropped",
}
RISK_STATE_WORDS = (
    ("accepted", "accepted"), ("mitigated", "mitigated"), ("closed", "closed"),
    ("resolved", "closed"), ("open", "open"), ("active", "open"), ("monitoring", "open"),
)


def _scale_key(text):
    text = clean_inline(fix_mojibake(text or ""))
    for ch, word in (("🔴", "high"), ("🟠", "high"), ("🟡", "medium"), ("🟢", "low")):
        if ch in text and not _strip_symbols(text).strip():
            return word
    return norm(_strip_symbols(text))


def scale_value(text, words):
    """1-5 from "4", "4/5", "High", "🔴 High", "Medio"; None when not readable."""
    key = _scale_key(text)
    if key[:1] in "12345" and key[:1] and (len(key) == 1 or not key[1].isdigit()):
        return int(key[0])
    if key in words:
        return words[key]
    first = key.split(" ")[0] if key else ""
    return words.get(first)


def severity_value(text):
    key = _scale_key(text)
    return SEVERITY_WORDS.get(key) or SEVERITY_WORDS.get(key.split(" ")[0] if key else "")


def risk_state(text):
    low = norm(text)
    for word, state in RISK_STATE_WORDS:
        if low.startswith(word):
            return state
    return None


_RANGE_RE = re.compile(r"(\d{1,4}) ?(?:-|–|—|to) ?(\d{1,4})")
_NUMBER_UNIT_RE = re.compile(r"(\d{1,4}) ?(days?|d\b|weeks?|wks?|months?|mois|semaines?|"
                             r"días|dias|semanas|meses|gün|hafta|ay\b)")
_QUARTER_RE = re.compile(r"\bq([1-4])\b")
_UNIT_DAYS = {"d": 1, "day": 1, "days": 1, "días": 1, "dias": 1, "gün": 1, "week": 7,
              "weeks": 7, "wk": 7, "wks": 7, "semaine": 7, "semaines": 7, "semana": 7,
              "semanas": 7, "hafta": 7, "month": 30, "months": 30, "mois": 30, "mes": 30,
              "meses": 30, "ay": 30}


def _phase_of_days(end):
    if end <= 30:
        return "0_30"
    if end <= 60:
        return "30_60"
    if end <= 90:
        return "60_90"
    return "later"


def parse_phase(text):
    """0_30 / 30_60 / 60_90 / later from the way roadmaps state time.

    "0-30 days", "Days 31–60", "(30 days)", "Week 1-2", "Quick Improvements (2 weeks)",
    "Medium-term (1 month)", "Q2", "90+", "later", "Short-term", "Long-term".
    """
    text = fix_mojibake(text or "")[:MAX_FIELD].lower()
    rng = _RANGE_RE.search(text)
    unit = _NUMBER_UNIT_RE.search(text)
    factor = 1
    if unit:
        factor = _UNIT_DAYS.get(unit.group(2).rstrip("."), 1)
    elif "week" in text or "semaine" in text or "semana" in text or "hafta" in text:
        factor = 7
    elif "month" in text or "mois" in text or "mes" in text:
        factor = 30
    if rng:
        return _phase_of_days(int(rng.group(2)) * factor)
    if unit:
        return _phase_of_days(int(unit.group(1)) * factor)
    quarter = _QUARTER_RE.search(text)
    if quarter:
        return "60_90" if quarter.group(1) == "1" else "later"
    if "90+" in text or "180+" in text or "365+" in text:
        return "later"
    for words, phase in (
        (("immediate", "quick win", "quick improvement", "short-term", "short term",
          "urgent", "now", "court terme", "corto plazo", "kısa vade"), "0_30"),
        (("medium-term", "medium term", "mid-term", "moyen terme", "mediano plazo",
          "orta vade"), "30_60"),
        (("long-term", "long term", "later", "backlog", "beyond", "long terme",
          "largo plazo", "uzun vade", "future"), "later"),
    ):
        if any(word in text for word in words):
            return phase
    return None


_GAIN_RE = re.compile(r"\+ ?(\d{1,3}(?:[.,]\d{1,2})?) ?(?:points?|pts?|pp)\b", re.I)


def parse_gain(text):
    """Expected score gain from "(+5 points)"; None when not stated."""
    match = _GAIN_RE.search((text or "")[:MAX_FIELD])
    return float(match.group(1).replace(",", ".")) if match else None


def strip_gain(text):
    return " ".join(re.sub(r"\(? ?\+ ?\d{1,3}(?:[.,]\d{1,2})? ?(?:points?|pts?|pp)\b ?\)?",
                           " ", (text or "")[:MAX_FIELD], flags=re.I).split())


def parse_priority(text):
    """P0-P3 from "P1", "p2 - high", "High"; None when not readable."""
    text = clean_inline(fix_mojibake(text or ""))[:40]
    match = re.match(r"p ?([0-3])\b", text, re.I)
    if match:
        return f"P{match.group(1)}"
    return PRIORITY_WORDS.get(_scale_key(text))


def parse_effort(text):
    """``(days, warning)`` from "3", "3 d", "2 days", "1 week", "3-5 days"."""
    raw = clean_inline(text or "")[:60]
    match = re.match(r"~?\s?(\d{1,4}(?:[.,]\d{1,2})?)(?: ?(?:-|–|to) ?(\d{1,4}(?:[.,]\d{1,2})?))?"
                     r" ?(d|days?|w|wks?|weeks?|pd|person[- ]days?)?\.?$", raw, re.I)
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
    status_text = clean_inline(fix_mojibake(text or ""))
    state = PLAN_STATE_WORDS.get(norm(status_text))
    if state is None and has_status_marker(status_text):
        try:
            status = read_status(status_text).status
        except StatusError:
            return None
        state = {"implemented": "done", "partial": "doing", "planned": "todo",
                 "missing": "todo"}.get(status)
    return state


def parse_date(text):
    match = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", (text or "")[:MAX_FIELD])
    if not match:
        return None
    _year, month, day = (int(g) for g in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return match.group(0)


_LINK_RE = re.compile(r"\[([^\]\[]{0,500})\]\((https?://[^)\s]{1,2000})\)")
_URL_RE = re.compile(r"https?://[^\s)>|]{1,2000}")


def extract_url(*texts):
    for text in texts:
        if not text:
            continue
        text = text[:MAX_FIELD * 2]
        link = _LINK_RE.search(text)
        if link:
            return link.group(2)
        url = _URL_RE.search(text)
        if url:
            return url.group(0).rstrip(".,;")
    return None


def unlink(text):
    """``[label](url)`` -> ``label (url)``."""
    return _LINK_RE.sub(r"\1 (\2)", (text or "")[:MAX_FIELD * 2])


def empty_cell(text):
    """A cell that says nothing: empty, "-", "—", "None", "N/A"."""
    text = (text or "").strip()
    if len(text) > 12 or has_status_marker(text):
        return False
    return norm(_strip_symbols(clean_inline(text))) in ("", "none", "n a", "na", "null",
                                                         "nil", "aucun", "ninguno", "yok")
