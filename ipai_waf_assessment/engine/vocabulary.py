# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""The assessment's words, said once: finding statuses, control severities, risk levels.

Fields take the ``(key, label)`` lists (a field's selection must be a list; Odoo
translates its labels); the engine,
importers and exporters take the keys. Grade bands are data (``ipai.waf.grade.band``),
not a constant.
"""

STATUSES = [
    ("implemented", "Implemented"),
    ("partial", "Partial"),
    ("planned", "Planned"),
    ("missing", "Missing"),
    ("not_applicable", "Not applicable"),
    ("unknown", "Unknown"),
]
STATUS_KEYS = tuple(key for key, _label in STATUSES)
# No gap: a finding in one of these statuses asks for no work.
CLOSED_STATUSES = ("implemented", "not_applicable")

SEVERITIES = [("high", "High"), ("medium", "Medium"), ("low", "Low")]
SEVERITY_KEYS = tuple(key for key, _label in SEVERITIES)

RISK_LEVELS = ("low", "medium", "high", "critical")
