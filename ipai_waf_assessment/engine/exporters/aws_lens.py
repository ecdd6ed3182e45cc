# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""An assessment as an AWS Well-Architected custom lens (format specification 2021-11-01).

The lens follows the published format (docs.aws.amazon.com/wellarchitected/latest/
userguide/lenses-format-specification.html): at most 10 pillars, 20 questions per pillar
and 15 choices per question; ids of 3 to 128 letters, digits and underscores; names and
titles up to 128 characters, descriptions and texts up to 2048; an improvement plan on
every choice except "None of these" (id ending in ``_no``); at most three risk rules per
question, one per risk level, a ``default`` one among them. :func:`lens_problems` checks
all of it, and the export refuses to return a lens that breaks a rule.

One question per finding, in its control's pillar. A control is one best practice, so a
question offers two choices and "None of these"::

    <id>_part  In place for part of the workload
    <id>_all   In place for the whole workload
    <id>_no    None of these

The risk rules follow the control's severity (and the importer reads the severity back
from the ``default`` rule):

- high:   part && all -> NO_RISK; part || all -> MEDIUM_RISK; default -> HIGH_RISK
- medium: part && all -> NO_RISK; default -> MEDIUM_RISK
- low:    <id>_no -> MEDIUM_RISK; default -> NO_RISK

The lens format has no answers: they live in the workload (the AWS API's ``Answer``).
They are written beside the lens in ``answers``, one per answered question, in the
API's shape (``questionId``, ``selectedChoices``, ``isApplicable``, ``reason``,
``notes``, ``risk``); ``answers=False`` leaves them out, for ImportLens. The status
mapping (:data:`AWS_STATUS_MAPPING`):

- implemented -> both choices; partial -> "part of the workload";
- missing -> "None of these"; **planned -> "None of these"** (AWS has no planned
  practice; the notes start with "Planned", and the importer reads it back as missing);
- not applicable -> ``isApplicable: false`` with AWS's reason (out of scope, business
  priorities, architecture constraints, other);
- unknown -> no answer (AWS's UNANSWERED).
"""

import re

from .common import ExportError, ExportResult, clip, finding_notes, is_http_url

SCHEMA_VERSION = "2021-11-01"
LIMITS = {"pillars": 10, "questions": 20, "choices": 15, "rules": 3}
NAME_MAX = 128
TEXT_MAX = 2048
NOTES_MAX = 2084  # the API's limit on an answer's notes
ID_RE = re.compile(r"^[A-Za-z0-9_]{3,128}$")
RISKS = ("NO_RISK", "MEDIUM_RISK", "HIGH_RISK")
ANSWER_RISK = {"NO_RISK": "NONE", "MEDIUM_RISK": "MEDIUM", "HIGH_RISK": "HIGH"}
# The framework's own pillar ids, so a question maps to the AWS pillar of that name.
AWS_PILLAR_IDS = {
    "operational_excellence": "operationalExcellence", "security": "security",
    "reliability": "reliability", "performance_efficiency": "performance",
    "cost_optimization": "costOptimization", "sustainability": "sustainability",
}
AWS_NA_REASONS = {
    "out_of_scope": "OUT_OF_SCOPE", "business_priorities": "BUSINESS_PRIORITIES",
    "architecture_constraints": "ARCHITECTURE_CONSTRAINTS", "other": "OTHER",
}
# status -> (choices selected, what the importer reads back)
AWS_STATUS_MAPPING = {
    "implemented": (("part", "all"), "implemented"),
    "partial": (("part",), "partial"),
    "missing": (("no",), "missing"),
    "planned": (("no",), "missing"),
    "not_applicable": ((), "not_applicable"),
    "unknown": (None, "unknown"),
}
CHOICE_TITLES = {
    "part": "In place for part of the workload",
    "all": "In place for the whole workload",
    "no": "None of these",
}


def aws_id(text, taken, width=120):
    """An id of the lens format (3-128 of ``[A-Za-z0-9_]``), unique within ``taken``.

    ``width`` leaves room for the choice suffixes (``_part``) under 128 characters.
    """
    base = re.sub(r"[^A-Za-z0-9_]+", "_", text or "").strip("_")[:width] or "item"
    if len(base) < 3:
        base = (base + "___")[:3]
    candidate, n = base, 2
    while candidate.lower() in taken:
        suffix = f"_{n}"
        candidate, n = base[:width - len(suffix)] + suffix, n + 1
    taken.add(candidate.lower())
    return candidate


def risk_rules(qid, severity):
    """The risk rules of a question whose best practice has ``severity``."""
    part, whole, none = f"{qid}_part", f"{qid}_all", f"{qid}_no"
    if severity == "high":
        return [{"condition": f"{part} && {whole}", "risk": "NO_RISK"},
                {"condition": f"{part} || {whole}", "risk": "MEDIUM_RISK"},
                {"condition": "default", "risk": "HIGH_RISK"}]
    if severity == "low":
        return [{"condition": none, "risk": "MEDIUM_RISK"},
                {"condition": "default", "risk": "NO_RISK"}]
    return [{"condition": f"{part} && {whole}", "risk": "NO_RISK"},
            {"condition": "default", "risk": "MEDIUM_RISK"}]


def evaluate_condition(condition, selected):
    """Truth of a risk-rule condition (``a && !b || (c)``) for the selected choice ids."""
    tokens = re.findall(r"&&|\|\||!|\(|\)|[A-Za-z0-9_]+", condition)
    if condition.strip() == "default":
        return True
    pos = 0

    def parse_or():
        nonlocal pos
        value = parse_and()
        while pos < len(tokens) and tokens[pos] == "||":
            pos += 1
            value = parse_and() or value
        return value

    def parse_and():
        nonlocal pos
        value = parse_not()
        while pos < len(tokens) and tokens[pos] == "&&":
            pos += 1
            value = parse_not() and value
        return value

    def parse_not():
        nonlocal pos
        if pos >= len(tokens):
            raise ValueError(f"condition {condition!r} ends too early")
        tok = tokens[pos]
        pos += 1
        if tok == "!":
            return not parse_not()
        if tok == "(":
            value = parse_or()
            if pos >= len(tokens) or tokens[pos] != ")":
                raise ValueError(f"condition {condition!r}: missing ')'")
            pos += 1
            return value
        if tok in ("&&", "||", ")"):
            raise ValueError(f"condition {condition!r}: unexpected {tok!r}")
        return tok in selected

    value = parse_or()
    if pos != len(tokens):
        raise ValueError(f"condition {condition!r}: unexpected {tokens[pos]!r}")
    return value


def question_risk(question, selected):
    """The risk AWS computes for ``selected``: the first rule whose condition holds."""
    for rule in question["riskRules"]:
        if evaluate_condition(rule["condition"], set(selected)):
            return rule["risk"]
    return None


def export_aws_lens(findings, lens_name, description="", answers=True):
    """``ExportResult`` of a custom lens holding ``findings`` (ordered by pillar)."""
    if not findings:
        raise ExportError("there are no findings to write as lens questions")
    notes = []
    pillars, by_code = [], {}
    pillar_ids, question_ids = set(), set()
    answer_list = []
    for finding in findings:
        pillar = by_code.get(finding.pillar_code)
        if pillar is None:
            pid = aws_id(AWS_PILLAR_IDS.get(finding.pillar_code) or finding.pillar_code,
                         pillar_ids)
            pillar = {"id": pid, "name": clip(finding.pillar_name or pid, NAME_MAX),
                      "questions": []}
            by_code[finding.pillar_code] = pillar
            pillars.append(pillar)
        qid = aws_id(finding.item_id, question_ids)
        if qid != finding.item_id:
            notes.append(f"{finding.code}: question id {qid} (the lens format allows "
                         "3-128 letters, digits and underscores)")
        question = _question(finding, qid)
        pillar["questions"].append(question)
        answer = _answer(finding, question, pillar["id"], notes)
        if answer is not None:
            answer_list.append(answer)
    if len(pillars) > LIMITS["pillars"]:
        raise ExportError(
            f"{len(pillars)} pillars; an AWS lens holds at most {LIMITS['pillars']}. Export "
            "one framework per lens.", limit=LIMITS["pillars"], count=len(pillars))
    for pillar in pillars:
        if len(pillar["questions"]) > LIMITS["questions"]:
            raise ExportError(
                f"pillar {pillar['name']!r} has {len(pillar['questions'])} findings; an AWS "
                f"lens pillar holds at most {LIMITS['questions']} questions. The Azure "
                "review checklist has no such limit.", limit=LIMITS["questions"],
                count=len(pillar["questions"]))
    lens = {
        "schemaVersion": SCHEMA_VERSION,
        "name": clip(lens_name, NAME_MAX) or "Well-Architected review",
        "description": clip(description, TEXT_MAX) or "Exported Well-Architected review.",
        "pillars": pillars,
    }
    if answers:
        lens["answers"] = answer_list
    problems = lens_problems(lens)
    if problems:  # a bug here, never the user's data: say so plainly
        raise ExportError("the lens breaks the format: " + "; ".join(problems[:5]))
    return ExportResult(lens, notes)


def _question(finding, qid):
    name = (finding.name or finding.code).strip()
    description = finding.description or ""
    if len(name) > NAME_MAX:
        description = name + ("\n\n" + description if description else "")
    plan_text = clip(finding.recommendation or f"Put this practice in place: {name}",
                     TEXT_MAX)
    plan = {"displayText": plan_text}
    if is_http_url(finding.reference_url) and len(finding.reference_url) <= TEXT_MAX:
        plan["url"] = finding.reference_url
    question = {"id": qid, "title": clip(name, NAME_MAX)}
    if description.strip():
        question["description"] = clip(description, TEXT_MAX)
    if "url" in plan:
        question["helpfulResource"] = {"displayText": clip(name, TEXT_MAX),
                                       "url": plan["url"]}
    question["choices"] = [
        {"id": f"{qid}_part", "title": CHOICE_TITLES["part"], "improvementPlan": dict(plan)},
        {"id": f"{qid}_all", "title": CHOICE_TITLES["all"], "improvementPlan": dict(plan)},
        {"id": f"{qid}_no", "title": CHOICE_TITLES["no"], "helpfulResource": {
            "displayText": "Choose this if the workload does not follow this practice yet."}},
    ]
    question["riskRules"] = risk_rules(qid, finding.severity)
    return question


def _answer(finding, question, pillar_id, notes):
    """The AWS answer of a finding, or None for an unanswered (unknown) one."""
    status = finding.status if finding.status in AWS_STATUS_MAPPING else "unknown"
    choices, _back = AWS_STATUS_MAPPING[status]
    if choices is None:
        return None
    text = finding_notes(finding)
    if status == "planned":
        text = "Planned." + (f" {text}" if text else "")
        notes.append(f"{finding.code}: planned is written as 'None of these' (AWS has no "
                     "planned answer); it comes back as missing")
    answer = {"questionId": question["id"], "pillarId": pillar_id}
    if status == "not_applicable":
        answer.update(isApplicable=False,
                      reason=AWS_NA_REASONS.get(finding.na_reason or "other", "OTHER"),
                      selectedChoices=[], risk="NOT_APPLICABLE")
    else:
        selected = [f"{question['id']}_{c}" for c in choices]
        answer.update(isApplicable=True, selectedChoices=selected,
                      risk=ANSWER_RISK[question_risk(question, selected)])
    if text:
        answer["notes"] = clip(text, NOTES_MAX)
    return answer


def lens_problems(lens):
    """What in ``lens`` breaks the lens format specification (empty when nothing)."""
    out = []

    def text(where, value, width, required=True):
        if value is None and not required:
            return
        if not isinstance(value, str) or (required and not value.strip()):
            out.append(f"{where}: missing")
        elif len(value) > width:
            out.append(f"{where}: {len(value)} characters, at most {width}")

    def resource(where, value, required_text=True):
        if value is None:
            return
        if not isinstance(value, dict):
            out.append(f"{where}: not an object")
            return
        if "url" in value and not is_http_url(value["url"]):
            out.append(f"{where}.url: must start with http:// or https://")
        if required_text or "url" in value:
            text(f"{where}.displayText", value.get("displayText"), TEXT_MAX)

    if lens.get("schemaVersion") != SCHEMA_VERSION:
        out.append(f"schemaVersion: {lens.get('schemaVersion')!r}, expected {SCHEMA_VERSION}")
    text("name", lens.get("name"), NAME_MAX)
    text("description", lens.get("description"), TEXT_MAX, required=False)
    pillars = lens.get("pillars") or []
    if not 1 <= len(pillars) <= LIMITS["pillars"]:
        out.append(f"pillars: {len(pillars)}, 1 to {LIMITS['pillars']} allowed")
    pillar_ids, question_ids = set(), set()
    for p_idx, pillar in enumerate(pillars):
        where = f"pillars[{p_idx}]"
        if not ID_RE.match(pillar.get("id") or "") or pillar["id"] in pillar_ids:
            out.append(f"{where}.id: {pillar.get('id')!r} is not a unique id")
        pillar_ids.add(pillar.get("id"))
        text(f"{where}.name", pillar.get("name"), NAME_MAX)
        questions = pillar.get("questions") or []
        if not 1 <= len(questions) <= LIMITS["questions"]:
            out.append(f"{where}.questions: {len(questions)}, 1 to {LIMITS['questions']}")
        for q_idx, question in enumerate(questions):
            qw = f"{where}.questions[{q_idx}]"
            if not ID_RE.match(question.get("id") or "") or question["id"] in question_ids:
                out.append(f"{qw}.id: {question.get('id')!r} is not a unique id")
            question_ids.add(question.get("id"))
            text(f"{qw}.title", question.get("title"), NAME_MAX)
            text(f"{qw}.description", question.get("description"), TEXT_MAX, required=False)
            resource(f"{qw}.helpfulResource", question.get("helpfulResource"))
            choices = question.get("choices") or []
            if not 1 <= len(choices) <= LIMITS["choices"]:
                out.append(f"{qw}.choices: {len(choices)}, 1 to {LIMITS['choices']}")
            choice_ids = set()
            for c_idx, choice in enumerate(choices):
                cw = f"{qw}.choices[{c_idx}]"
                cid = choice.get("id") or ""
                if not ID_RE.match(cid) or cid in choice_ids:
                    out.append(f"{cw}.id: {cid!r} is not a unique id")
                choice_ids.add(cid)
                text(f"{cw}.title", choice.get("title"), NAME_MAX)
                resource(f"{cw}.helpfulResource", choice.get("helpfulResource"))
                if cid.endswith("_no"):
                    resource(f"{cw}.improvementPlan", choice.get("improvementPlan"))
                elif not isinstance(choice.get("improvementPlan"), dict):
                    out.append(f"{cw}.improvementPlan: required on every choice but "
                               "'None of these'")
                else:
                    resource(f"{cw}.improvementPlan", choice["improvementPlan"])
            rules = question.get("riskRules") or []
            risks = [r.get("risk") for r in rules]
            if not 1 <= len(rules) <= LIMITS["rules"] or len(set(risks)) != len(risks):
                out.append(f"{qw}.riskRules: at most {LIMITS['rules']}, one per risk level")
            if any(r not in RISKS for r in risks):
                out.append(f"{qw}.riskRules: risks are {', '.join(RISKS)}")
            if [r.get("condition") for r in rules].count("default") != 1:
                out.append(f"{qw}.riskRules: exactly one 'default' rule")
            for rule in rules:
                names = set(re.findall(r"[A-Za-z0-9_]+", rule.get("condition") or "")) - \
                    {"default"}
                if names - choice_ids:
                    out.append(f"{qw}.riskRules: {rule.get('condition')!r} names no choice "
                               f"of the question ({', '.join(sorted(names - choice_ids))})")
    return out
