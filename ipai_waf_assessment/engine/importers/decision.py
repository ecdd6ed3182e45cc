# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""A report's go-live verdict, read as a decision: go, go with conditions, or no-go.

Reports state their verdict in many ways: ``**Go-Live Status**: ✅ **APPROVED** with
conditions``, ``**Go-Live Decision:** NO-GO``, ``Production Ready: Yes``, lower case,
with emoji or with the emoji's mojibake (``âœ…``), in English, French, Spanish or
Turkish. :func:`read_decision` reads the verdict (and the label it follows) in plain
words:

1. A refusal wins: "no-go", "not approved", "not (production) ready", "rejected",
   "blocked", "do not deploy", or "no" after a readiness label ("Production Ready: No").
2. Then an approval ("approved", "go", "yes", "ready", "pass", or ✅ alone) is
   *with conditions* when it says so ("with conditions", "conditional", "subject to",
   "pending", "provided", "once", "with caveats"...) or when its marker is ⚠️.
3. A marker alone decides when no word does: ✅ go, ⚠️ go with conditions, ❌ no-go.
4. Anything else ("Status: in progress") is no decision (``None``): the verdict text
   is kept, the decision is left to the reviewer.
"""

import re

from .common import STATUS_MARKERS, fix_mojibake, norm

DECISIONS = ("go", "go_with_conditions", "no_go")

# Labels that ask a yes/no question: "Production Ready: Yes", "Go-Live: No".
_READINESS_LABEL_RE = re.compile(
    r"\b(production ready|ready for production|go live|golive|ready to go live|"
    r"pret pour la production|listo para produccion|canliya hazir)\b")
_NO_GO_RE = re.compile(
    r"\b(no go|nogo|not approved|not ready|not production ready|not recommended|"
    r"rejected|denied|blocked|refused|do not (go|deploy|ship|release)|"
    r"non approuve|refuse|pas pret|no aprobado|rechazado|no apto|"
    r"onaylanmadi|onaylanmadı|reddedildi)\b")
_CONDITIONS_RE = re.compile(
    r"\b(with (conditions?|caveats|reservations|exceptions|remediation|minor \w+)|"
    r"conditional|conditionally|conditions apply|subject to|pending|provided|once|"
    r"sous (conditions?|reserves?)|avec (conditions?|reserves?)|con condiciones|"
    r"condicional|condicionado|kosullu|koşullu|sartli|şartlı)\b")
_GO_RE = re.compile(
    r"\b(approved|approve|go|yes|ready|production ready|pass|passed|ok|accepted|"
    r"approuve|oui|aprobado|si|listo|onaylandi|onaylandı|evet)\b")
_NO_RE = re.compile(r"^(no|non|hayir|hayır)\b")


def read_decision(verdict, label=""):
    """``"go"``, ``"go_with_conditions"``, ``"no_go"`` or ``None`` of a stated verdict.

    ``verdict`` is the text after the label (``APPROVED with conditions``); ``label``
    the label itself (``Go-Live Status``), which only matters for yes/no questions
    ("Production Ready: No"). Both may hold Markdown emphasis, emoji or mojibake.
    """
    verdict = fix_mojibake(verdict or "")
    label = fix_mojibake(label or "")
    markers = {STATUS_MARKERS[ch] for ch in verdict if ch in STATUS_MARKERS}
    low = norm(verdict)
    yes_no = bool(_READINESS_LABEL_RE.search(norm(label)))
    if _NO_GO_RE.search(low) or (yes_no and _NO_RE.match(low)):
        return "no_go"
    if _GO_RE.search(low) or (yes_no and not low and "implemented" in markers):
        if _CONDITIONS_RE.search(low) or "partial" in markers:
            return "go_with_conditions"
        return "go"
    if _CONDITIONS_RE.search(low) and "missing" not in markers:
        return "go_with_conditions" if markers & {"implemented", "partial"} else None
    if len(markers) == 1:
        return {"implemented": "go", "partial": "go_with_conditions",
                "missing": "no_go"}.get(markers.pop())
    return None
