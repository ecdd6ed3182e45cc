# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""An assessment as an Azure review checklist (JSON of Azure/review-checklists).

The document has the shape of the repository's checklists (``checklists/*.json``):
``items`` with the fields ``checklist.schema.json`` requires (``category``,
``subcategory``, ``text``, ``guid``, ``severity``) and the ones the published checklists
carry beside them (``waf``, ``id``, ``description``, ``link``), then ``categories``,
``waf``, ``status``, ``severities`` and ``metadata``. The review itself is what the
checklist spreadsheet keeps in its *Status* and *Comments* columns: here an item's
``status`` (one of the document's ``status`` names) and ``comments``.

- ``guid``: a control imported from a checklist keeps its guid; any other control gets a
  stable one (uuid5 of its code), so exporting the next milestone gives the same guids.
- ``waf``: the Azure Well-Architected pillar; ``category`` / ``subcategory``: those of the
  source checklist when the control came from one, else the pillar and the control code.

Status mapping (:data:`AZURE_STATUS_MAPPING`); the checklist has no partial or planned
status, so **partial and planned become Open** (an action item remains), with the word in
the comments, and come back as missing:

- implemented -> Fulfilled; missing, partial, planned -> Open; unknown -> Not verified;
- not applicable -> N/A (architecture constraints: "not applicable for current design")
  or Not required (out of scope, business priorities, other), the reason in the comments.
"""

import re
import uuid

from .common import ExportError, ExportResult, finding_notes

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{12}$")
GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/ipai/well-architected-suite")
# The status list of the published checklists, "Not verified" first (the default).
STATUSES = [
    {"name": "Not verified", "description": "This check has not been looked at yet"},
    {"name": "Open", "description": "There is an action item associated to this check"},
    {"name": "Fulfilled", "description": "This check has been verified, and there are no "
     "further action items associated to it"},
    {"name": "N/A", "description": "Not applicable for current design"},
    {"name": "Not required", "description": "Not required"},
]
SEVERITIES = {"high": "High", "medium": "Medium", "low": "Low"}
NA_WORDS = {
    "out_of_scope": "out of scope", "business_priorities": "business priorities",
    "architecture_constraints": "architecture constraints", "other": "other reason",
}
# status -> (checklist status, what the importer reads back)
AZURE_STATUS_MAPPING = {
    "implemented": ("Fulfilled", "implemented"),
    "partial": ("Open", "missing"),
    "planned": ("Open", "missing"),
    "missing": ("Open", "missing"),
    "not_applicable": ("Not required", "not_applicable"),  # N/A for architecture constraints
    "unknown": ("Not verified", "unknown"),
}
REQUIRED = ("category", "subcategory", "text", "guid", "severity")


def item_guid(finding):
    """The item's guid: the source checklist's, else a stable one from the control code."""
    if GUID_RE.match(finding.item_id):
        return finding.item_id.lower()
    return str(uuid.uuid5(GUID_NAMESPACE, finding.code))


def _categories(finding):
    """``(category, subcategory, description)`` of an item.

    The importer keeps a checklist item's category and subcategory as the first line of
    the control's description ("Resiliency / Backup"); they are read back from there.
    """
    description = (finding.description or "").strip()
    if finding.source and finding.source.startswith("azure_checklist:"):
        first, _sep, rest = description.partition("\n")
        if " / " in first:
            category, subcategory = (p.strip() for p in first.split(" / ", 1))
            if category and subcategory:
                return category, subcategory, rest.strip()
    return finding.pillar_name or "General", finding.item_id, description


def export_azure_checklist(findings, name, timestamp=None):
    """``ExportResult`` of a review checklist of ``findings`` with their statuses."""
    if not findings:
        raise ExportError("there are no Azure Well-Architected findings to write as "
                          "checklist items")
    items, notes, seen = [], [], {}
    categories, pillars = [], []
    for finding in findings:
        guid = item_guid(finding)
        if guid in seen:
            notes.append(f"{finding.code}: same guid as {seen[guid]}; left out")
            continue
        seen[guid] = finding.code
        status = finding.status if finding.status in AZURE_STATUS_MAPPING else "unknown"
        label = AZURE_STATUS_MAPPING[status][0]
        comments = finding_notes(finding)
        if status in ("partial", "planned"):
            word = "Partial" if status == "partial" else "Planned"
            comments = f"{word}." + (f" {comments}" if comments else "")
            notes.append(f"{finding.code}: {status} is written as Open (the checklist has no "
                         f"{status} status); it comes back as missing")
        elif status == "not_applicable":
            reason = finding.na_reason or "other"
            if reason == "architecture_constraints":
                label = "N/A"
            comments = f"Not applicable ({NA_WORDS.get(reason, 'other reason')})." + (
                f" {comments}" if comments else "")
        category, subcategory, description = _categories(finding)
        item = {
            "category": category, "subcategory": subcategory,
            "text": (finding.name or finding.code).strip(),
        }
        if description:
            item["description"] = description
        item.update({
            "waf": finding.pillar_name, "guid": guid, "id": finding.item_id,
            "severity": SEVERITIES.get(finding.severity or "", "Medium"),
        })
        if finding.reference_url:
            item["link"] = finding.reference_url
        item["status"] = label
        if comments:
            item["comments"] = comments
        items.append(item)
        if category not in categories:
            categories.append(category)
        if finding.pillar_name and finding.pillar_name not in pillars:
            pillars.append(finding.pillar_name)
    metadata = {"name": name or "Well-Architected review"}
    if timestamp:
        metadata["timestamp"] = timestamp
    document = {
        "items": items,
        "categories": [{"name": c} for c in categories],
        "waf": [{"name": p} for p in pillars],
        "status": [dict(s) for s in STATUSES],
        "severities": [{"name": s} for s in SEVERITIES.values()],
        "metadata": metadata,
    }
    problems = checklist_problems(document)
    if problems:
        raise ExportError("the checklist breaks the format: " + "; ".join(problems[:5]))
    return ExportResult(document, notes)


def checklist_problems(document):
    """What in ``document`` breaks the review-checklist shape (empty when nothing)."""
    out = []
    statuses = {s.get("name") for s in document.get("status") or []}
    severities = {s.get("name") for s in document.get("severities") or []}
    guids = set()
    if not isinstance((document.get("metadata") or {}).get("name"), str):
        out.append("metadata.name: missing")
    for idx, item in enumerate(document.get("items") or []):
        where = f"items[{idx}]"
        for key in REQUIRED:
            if not isinstance(item.get(key), str) or not item[key].strip():
                out.append(f"{where}.{key}: missing")
        if not GUID_RE.match(item.get("guid") or "") or item.get("guid") in guids:
            out.append(f"{where}.guid: {item.get('guid')!r} is not a unique GUID")
        guids.add(item.get("guid"))
        if item.get("severity") not in severities:
            out.append(f"{where}.severity: {item.get('severity')!r} is not in severities")
        if item.get("status") not in statuses:
            out.append(f"{where}.status: {item.get('status')!r} is not in status")
    return out
