# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Turn a parsed report into the plan of records to create (plain Python, no Odoo).

The Odoo model hands over a :class:`Catalog` (the pillars and controls the importing
user can see) and gets back a plan: a JSON-ready dict that the preview shows, that the
assessor may change, and that the model then creates as it stands.

Matching a finding to a control, the way a person would:

1. the control code the document states (a lens or checklist item: source + item id);
2. within the finding's pillar, the control's name, code or one of the aliases shipped
   with the catalog ("PostgreSQL Backups", "MFA", "Supabase RLS");
3. within the pillar, rapidfuzz (the best of the plain, token-sort and token-set
   ratios, the last slightly discounted) at or above :data:`THRESHOLD`; names whose
   numbers differ ("Item 1", "Item 2") never match.

Below the threshold the row is *unmatched*: by default it becomes a control of the
importing company (never a global control), and the assessor may instead pick a control
or skip the row. Existing controls are never changed.
"""

import hashlib
import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from .common import match_pillar, norm, slug

THRESHOLD = 85.0
ACTIONS = ("match", "create", "skip")
_DIGITS_RE = re.compile(r"\d+")


@dataclass
class Catalog:
    """What the importing user may match against.

    ``pillars``: dicts with ``id``, ``code``, ``name``, ``framework`` (code);
    ``controls``: dicts with ``id``, ``code``, ``name``, ``pillar_id``, ``aliases``
    (list of str) and ``company`` (True for a control of the importing company).
    """

    pillars: list = field(default_factory=list)
    controls: list = field(default_factory=list)

    def __post_init__(self):
        self.pillar_by_id = {p["id"]: p for p in self.pillars}
        self.control_by_id = {c["id"]: c for c in self.controls}
        self.control_by_code = {}
        for control in self.controls:
            # a company control shadows a global one with the same code
            if control.get("company") or control["code"] not in self.control_by_code:
                self.control_by_code[control["code"]] = control
        self._index = None
        self._exact_names = {}

    def pillar_tuples(self, frameworks=None):
        """``(code, name, aliases)`` for :func:`.common.match_pillar`."""
        return tuple((p["code"], p["name"], tuple(p.get("aliases") or ()))
                     for p in self.pillars if frameworks is None
                     or p["framework"] in frameworks)

    def pillar_by_code(self, code, frameworks=None):
        for pillar in self.pillars:
            if pillar["code"] == code and (frameworks is None
                                           or pillar["framework"] in frameworks):
                return pillar
        return None

    def by_exact_name(self, component, frameworks=None):
        """The one control named (or aliased) exactly ``component``, in any pillar."""
        key = norm(component)
        if not key:
            return None
        scope = None if frameworks is None else frozenset(frameworks)
        names = self._exact_names.get(scope)
        if names is None:
            # every name of every control once per import, not once per row
            names = self._exact_names[scope] = {}
            for control in self.controls:
                pillar = self.pillar_by_id.get(control["pillar_id"])
                if scope is not None and (pillar is None or pillar["framework"] not in scope):
                    continue
                for name in (control["name"], control["code"], *(control.get("aliases") or ())):
                    hits = names.setdefault(norm(name), [])
                    if not hits or hits[-1] is not control:
                        hits.append(control)
        hits = names.get(key, ())
        return hits[0] if len(hits) == 1 else None

    def index(self, pillar_id):
        """``(exact names -> control, {numbers in the name: (choices, controls)})``.

        Names whose numbers differ never match ("Item 1" is not "Item 2"), so the fuzzy
        choices are grouped by the numbers they hold and a name is only compared with
        its group: large catalogs stay fast. Every pillar's index is built in one pass
        over the catalog, the first time one is asked for.
        """
        if self._index is None:
            self._index = {}
            for control in self.controls:
                exact, groups = self._index.setdefault(control["pillar_id"], ({}, {}))
                for name in (control["name"], control["code"], *(control.get("aliases") or ())):
                    key = norm(name)
                    if not key:
                        continue
                    if key not in exact or control.get("company"):
                        exact[key] = control
                    choices, owners = groups.setdefault(tuple(_DIGITS_RE.findall(key)),
                                                        ([], []))
                    choices.append(key)
                    owners.append(control)
        return self._index.get(pillar_id, ({}, {}))


def _score(query, choice, **_kwargs):
    return max(fuzz.ratio(query, choice), fuzz.token_sort_ratio(query, choice),
               0.95 * fuzz.token_set_ratio(query, choice))


def match_control(catalog, pillar_id, component):
    """``(control or None, confidence 0-100, how)`` for a component in a pillar."""
    exact, groups = catalog.index(pillar_id)
    key = norm(component)
    if not key:
        return None, 0.0, "none"
    if key in exact:
        return exact[key], 100.0, "name"
    choices, owners = groups.get(tuple(_DIGITS_RE.findall(key)), ((), ()))
    if not choices:
        return None, 0.0, "none"
    best = process.extractOne(key, choices, scorer=_score)
    if best is None:
        return None, 0.0, "none"
    _choice, confidence, idx = best
    confidence = round(float(confidence), 1)
    return owners[idx], confidence, "fuzzy" if confidence >= THRESHOLD else "below"


def company_code(component, pillar_code):
    """Code of the company control an unmatched component becomes."""
    digest = hashlib.sha256(f"{pillar_code}|{norm(component)}".encode()).hexdigest()[:6]
    return f"IMP-{slug(component, 30).upper()}-{digest}"


_LINE_RE = re.compile(r"^line (\d{1,9}): ")


def _unreadable(warnings):
    out = []
    for text in warnings:
        match = _LINE_RE.match(text)
        out.append({"line": int(match.group(1)) if match else None,
                    "reason": text[match.end():] if match else text})
    return out


FORMAT_FRAMEWORKS = {"azure_checklist": {"azure_waf"}}


def build_plan(report, catalog, fmt):
    """The plan (a dict) of what importing ``report`` creates."""
    frameworks = FORMAT_FRAMEWORKS.get(fmt)
    warnings = list(report.warnings)
    plan = {
        "format": fmt, "title": report.title, "decision": report.decision,
        "stated_decision": report.decision_code,
        "source": report.source, "framework": report.framework if fmt == "aws_lens" else None,
        "stated": {"overall": report.overall_score, "frameworks": [], "pillars": []},
        "controls": [], "findings": [], "recommendations": [], "risks": [],
        "new_pillars": [],
    }

    lens_pillars = {}
    pillar_keys = {}  # a report names its few pillars on thousands of rows

    def pillar_of(key):
        """Catalog pillar dict (or a new lens pillar dict) a pillar key names."""
        if not key:
            return None
        if key not in pillar_keys:
            pillar_keys[key] = _pillar_of(key)
        return pillar_keys[key]

    def _pillar_of(key):
        if fmt == "aws_lens":
            if key not in lens_pillars:
                lens_pillars[key] = {"id": f"new:{len(lens_pillars)}", "code": slug(key, 30),
                                     "name": key, "framework": report.framework}
                plan["new_pillars"].append(lens_pillars[key])
            return lens_pillars[key]
        pillar = catalog.pillar_by_code(key, frameworks)
        if pillar is None:
            code = match_pillar(key, catalog.pillar_tuples(frameworks))
            pillar = catalog.pillar_by_code(code, frameworks) if code else None
        return pillar

    # controls a lens or checklist defines: identity = source + item id
    fallback = next((p for p in catalog.pillars
                     if frameworks is None or p["framework"] in frameworks), None)
    source_codes = {}
    for pc in report.controls:
        code = f"{report.source}:{pc.code}" if report.source else pc.code
        source_codes[pc.code] = code
        existing = catalog.control_by_code.get(code)
        pillar = pillar_of(pc.pillar)
        if pillar is None and existing is None:
            pillar = fallback
            warnings.append(f"item {pc.code}: no pillar matches {pc.pillar!r}; control filed "
                            f"under {fallback['name'] if fallback else 'nothing'}")
        plan["controls"].append({
            "code": code, "name": pc.name or pc.code, "severity": pc.severity,
            "description": pc.description, "recommendation": pc.recommendation,
            "reference_url": pc.reference_url, "choices": pc.choices,
            "pillar_id": pillar["id"] if pillar else None,
            "existing_id": existing["id"] if existing else None,
        })

    planned_codes = {}
    for idx, pf in enumerate(report.findings):
        row = {
            "key": f"f{idx + 1}", "line": pf.line_no, "component": pf.component,
            "status": pf.status, "raw_status": pf.raw_status, "evidence": pf.evidence,
            "evidence_url": pf.evidence_url, "na_reason": pf.na_reason, "note": pf.note,
            "pillar_id": None, "pillar": None, "pillar_code": None, "control_id": None,
            "control_code": None,
            "control_name": None, "confidence": 0.0, "match": "none", "action": "skip",
            "reason": "",
        }
        plan["findings"].append(row)
        code = source_codes.get(pf.control_code) if pf.control_code else None
        if pf.control_code and code is None:
            code = pf.control_code
        pillar = pillar_of(pf.pillar)
        if pillar:
            row.update(pillar_id=pillar["id"], pillar=pillar["name"], pillar_code=pillar["code"])
        if code and code in planned_codes:
            row.update(control_code=code, control_name=pf.component, confidence=100.0,
                       match="code", action="create")
            continue
        known = catalog.control_by_code.get(code) if code else None
        if known:
            row.update(control_id=known["id"], control_code=known["code"],
                       control_name=known["name"], confidence=100.0, match="code",
                       action="match")
            continue
        if code and any(c["code"] == code for c in plan["controls"]):
            row.update(control_code=code, control_name=pf.component, confidence=100.0,
                       match="code", action="create")
            continue
        if pillar is None:
            control = catalog.by_exact_name(pf.component, frameworks)
            if control:
                owner = catalog.pillar_by_id.get(control["pillar_id"])
                row.update(pillar_id=control["pillar_id"], pillar=owner["name"] if owner else None,
                           pillar_code=owner["code"] if owner else None,
                           control_id=control["id"], control_code=control["code"],
                           control_name=control["name"], confidence=100.0, match="name",
                           action="match")
                continue
            row["reason"] = (f"no pillar matches {pf.pillar!r}" if pf.pillar else
                             "no pillar: the row sits under no pillar heading or column")
            continue
        if str(pillar["id"]).startswith("new:"):
            control, confidence, how = None, 0.0, "none"
        else:
            control, confidence, how = match_control(catalog, pillar["id"], pf.component)
        if control and how != "below":
            row.update(control_id=control["id"], control_code=control["code"],
                       control_name=control["name"], confidence=confidence, match=how,
                       action="match")
            continue
        new_code = company_code(pf.component, pillar["code"])
        existing = catalog.control_by_code.get(new_code)
        if existing:
            row.update(control_id=existing["id"], control_code=new_code,
                       control_name=existing["name"], confidence=100.0, match="company",
                       action="match")
            continue
        row.update(control_code=new_code, control_name=pf.component, confidence=confidence,
                   match="none", action="create",
                   reason=(f"best match {control['name']!r} at {confidence:g} is below "
                           f"{THRESHOLD:g}" if control else "no control in this pillar"))
        planned_codes[new_code] = row["key"]

    for ps in report.pillar_scores:
        pillar = pillar_of(ps.pillar)
        if pillar is None:
            warnings.append(f"line {ps.line_no}: score for unknown pillar {ps.pillar!r} "
                            "ignored")
            continue
        plan["stated"]["pillars"].append({"pillar_id": pillar["id"], "pillar": pillar["name"],
                                          "score": ps.score, "line": ps.line_no})
    for st in report.stated_scores:
        plan["stated"]["frameworks"].append({
            "name": st.name, "framework": st.framework, "score": st.score,
            "grade": st.grade, "status": st.status, "line": st.line_no,
        })

    for rec in report.recommendations:
        pillar_ids = []
        for name in rec.pillars or ([rec.context_pillar] if rec.context_pillar else []):
            pillar = pillar_of(name)
            if pillar and pillar["id"] not in pillar_ids:
                pillar_ids.append(pillar["id"])
            elif pillar is None:
                warnings.append(f"line {rec.line_no}: no pillar matches {name!r}; left out")
        plan["recommendations"].append({
            "title": rec.title, "line": rec.line_no, "phase": rec.phase,
            "priority": rec.priority, "effort_days": rec.effort_days, "gain": rec.gain,
            "pillar_ids": pillar_ids, "state": rec.state, "owner": rec.owner,
            "depends_on": rec.depends_on,
        })
    for risk in report.risks:
        pillar = pillar_of(risk.pillar or risk.context_pillar)
        plan["risks"].append({
            "title": risk.title, "line": risk.line_no, "severity": risk.severity,
            "likelihood": risk.likelihood, "impact": risk.impact,
            "residual_likelihood": risk.residual_likelihood,
            "residual_impact": risk.residual_impact, "mitigation": risk.mitigation,
            "owner": risk.owner, "due_date": risk.due_date, "state": risk.state,
            "pillar_id": pillar["id"] if pillar else None,
        })
    plan["unreadable"] = _unreadable(warnings)
    plan["warnings"] = warnings
    return plan


def apply_changes(plan, changes, catalog):
    """Apply the assessor's changes to ``plan`` (in place) and return the warnings.

    ``changes``: a plan (or a dict) whose ``findings`` list holds ``key``, ``action``
    (match / create / skip) and, for match, ``control_id``. Only those three values are
    read; a control outside ``catalog`` (what the user can see) is refused.
    """
    allowed = catalog.control_by_id if isinstance(catalog, Catalog) else {}
    warnings = []
    rows = {row["key"]: row for row in plan["findings"]}
    items = (changes or {}).get("findings") if isinstance(changes, dict) else None
    if not isinstance(items, list):
        return warnings
    for item in items:
        if not isinstance(item, dict) or item.get("key") not in rows:
            warnings.append(f"change {item!r}: no such row; ignored")
            continue
        row = rows[item["key"]]
        action = item.get("action", row["action"])
        if action not in ACTIONS:
            warnings.append(f"row {row['key']}: action {action!r} is not one of "
                            f"{', '.join(ACTIONS)}; ignored")
            continue
        if action == "match":
            control_id = item.get("control_id")
            if isinstance(control_id, bool) or not isinstance(control_id, int) or \
                    control_id not in allowed:
                warnings.append(f"row {row['key']}: control {control_id!r} is not one you "
                                "may use; ignored")
                continue
            row.update(action="match", control_id=control_id, match="assessor",
                       confidence=100.0, control_code=allowed[control_id]["code"],
                       control_name=allowed[control_id]["name"])
        elif action == "create":
            if row["action"] == "create":
                # the plan's own proposal, sent back by the preview: keep its control code
                # (a lens or checklist item keeps source + item id)
                continue
            if row["pillar_id"] is None:
                warnings.append(f"row {row['key']}: no pillar, a control cannot be created; "
                                "ignored")
                continue
            row.update(action="create", control_id=None, match="assessor",
                       control_code=company_code(row["component"], row["pillar_code"]),
                       control_name=row["component"])
        else:
            row.update(action="skip", reason="skipped by the assessor")
    return warnings
