# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Pillars and frameworks named in a report, scores and grades (linear-time regexes,
on text cut to ``MAX_FIELD``)."""

import functools
import re
import unicodedata

from .decoding import fix_mojibake
from .limits import MAX_FIELD
from .statuses import VARIATION_SELECTORS, clean_inline

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
