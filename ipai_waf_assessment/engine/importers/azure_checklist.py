# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Azure review-checklist JSON (Azure/review-checklists).

One control per item; a guid recurs across checklists, so a control's identity is the
checklist plus the guid (``ParsedReport.source`` is ``azure_checklist:<slug>``). The
pillar is the item's ``waf`` field or else its ``category`` (translated values such as
``Seguridad`` or ``安全`` are read by the resolver's aliases). Item statuses map:
Fulfilled -> implemented, Open -> missing, Not verified (or no status) -> unknown,
Not required / N/A -> not_applicable. The ``comments`` field becomes the evidence.
"""

from .common import (
    ParsedControl,
    ParsedFinding,
    ParsedReport,
    extract_url,
    load_object,
    na_reason_for,
    severity_value,
    slug,
)
from .common import text_of as _str

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
    data, warnings = load_object(text, "items", "an Azure review checklist: expected a "
                                 "JSON object with an 'items' list (guid, text, category, "
                                 "severity, waf)")
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    name = _str(metadata.get("name"))
    report = ParsedReport(title=name or None, warnings=warnings)
    report.source = f"azure_checklist:{slug(name or 'checklist')}"
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
        severity = AZURE_SEVERITY.get(raw_sev.lower()) or severity_value(raw_sev)
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
            raw_status=raw_status or "Not verified", evidence_url=extract_url(evidence),
            control_code=guid,
            na_reason=na_reason_for(evidence) if status == "not_applicable" else None,
        ))
    return report
