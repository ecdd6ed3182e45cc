# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Statuses: what a status cell says.

A status cell holds a marker (emoji), a word, or both: ``✅ Implemented``,
``⚠️ Partial``, ``❌ Not Used``, ``⚠️ Missing job dependencies``. The word states the
status and the marker is the author's colour, so the word wins when they disagree
(``✅ Partial`` is partial, with a note). When the word maps to no status the marker
decides, with a note. The text after the status word is evidence. Words are read in
English, French, Spanish and Turkish.

Every regular expression here is either anchored and free of nested quantifiers, or
applied to text cut to ``MAX_FIELD`` characters first, so no input makes it backtrack
for long.
"""

import functools
import unicodedata
from dataclasses import dataclass

from .decoding import fix_mojibake
from .limits import MAX_FIELD

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
