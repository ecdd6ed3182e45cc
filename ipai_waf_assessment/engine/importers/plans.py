# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Roadmaps and risk registers: likelihood, impact, severity, priority, state, phase,
gain (linear-time regexes, on text cut to ``MAX_FIELD``)."""

import re

from .decoding import fix_mojibake
from .limits import MAX_FIELD
from .pillars import norm
from .statuses import StatusError, _strip_symbols, clean_inline, has_status_marker, read_status

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
