# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""AWS Well-Architected custom lens JSON (format specification, schema 2021-11-01).

One control per question. A question id (``SEC1``) is unique only within its lens, so a
control's identity is the lens plus the question id (``ParsedReport.source`` is
``aws_lens:<lens slug>``); an AWS lens is its own framework (``ParsedReport.framework``),
with its own pillars (Sustainability, Network, Identity...). Severity comes from the
``default`` risk rule (the risk when the best practices are not in place): HIGH_RISK ->
high, MEDIUM_RISK -> medium, otherwise low; without a ``default`` rule, the highest risk
the rules state. The description lists the choices (best practices); the
recommendation gathers their improvement plans; the reference URL is the first helpful
resource. Each question also yields a finding, whose status comes from the answer when
the JSON carries one (on the question, or in a top-level ``answers`` /
``AnswerSummaries`` / ``questionResponses`` list keyed by ``questionId``):

- not applicable (``isApplicable: false``) -> not_applicable, with AWS's reason;
- "None of these" selected (choice id ending in ``_no``) -> missing; every best practice
  selected -> implemented; some -> partial;
- nothing selected: the risk AWS computed, NONE -> implemented, MEDIUM -> partial,
  HIGH -> missing.

Otherwise the status is ``unknown`` (AWS "UNANSWERED"). Every malformed value is a
warning, never a crash.
"""

from ..vocabulary import SEVERITY_KEYS
from .common import (
    ParsedControl,
    ParsedFinding,
    ParsedReport,
    load_object,
    slug,
)
from .common import text_of as _str

AWS_RISK_SEVERITY = {"HIGH_RISK": "high", "MEDIUM_RISK": "medium", "NO_RISK": "low"}
AWS_LIMITS = {"pillars": 10, "questions": 20, "choices": 15}


def parse_aws_lens(text):
    """Parse an AWS Well-Architected custom lens (JSON, schema 2021-11-01)."""
    data, warnings = load_object(text, "pillars", "an AWS custom lens: expected a JSON "
                                 "object with 'schemaVersion', 'name' and a 'pillars' list")
    name = _str(data.get("name"))
    report = ParsedReport(title=name or None, warnings=warnings)
    report.source = f"aws_lens:{slug(name or 'lens')}"
    report.framework = name or "AWS custom lens"
    warn = report.warnings.append
    if not _str(data.get("schemaVersion")):
        warn("lens: no schemaVersion (expected '2021-11-01'); read anyway")
    if len(data["pillars"]) > AWS_LIMITS["pillars"]:
        warn(f"lens: {len(data['pillars'])} pillars, the format allows "
             f"{AWS_LIMITS['pillars']}; all read")
    seen = set()
    answers = _aws_answers(data, warn)
    unanswered = []
    for p_idx, pillar in enumerate(data["pillars"]):
        where_p = f"pillars[{p_idx}]"
        if not isinstance(pillar, dict):
            warn(f"{where_p}: not an object; not read")
            continue
        pillar_name = _str(pillar.get("name")) or _str(pillar.get("id"))
        if not pillar_name:
            warn(f"{where_p}: pillar without id or name; not read")
            continue
        questions = pillar.get("questions")
        if not isinstance(questions, list) or not questions:
            warn(f"{where_p} ({pillar_name}): no questions")
            continue
        if len(questions) > AWS_LIMITS["questions"]:
            warn(f"{where_p} ({pillar_name}): {len(questions)} questions, the format allows "
                 f"{AWS_LIMITS['questions']}; all read")
        for q_idx, question in enumerate(questions):
            where = f"{where_p}.questions[{q_idx}]"
            if not isinstance(question, dict):
                warn(f"{where}: not an object; not read")
                continue
            qid = _str(question.get("id"))
            title = _str(question.get("title"))
            if not qid or not title:
                warn(f"{where}: question without id or title; not read")
                continue
            if qid in seen:
                warn(f"{where}: question id {qid!r} appears twice; second one not read")
                continue
            seen.add(qid)
            control = _aws_control(question, pillar_name, where, warn)
            report.controls.append(control)
            answer = _aws_answer(question, answers)
            if answer is None:
                unanswered.append(f"{where} ({qid})")
                status, evidence, raw, na_reason = "unknown", "", "UNANSWERED", None
            else:
                status, evidence, raw, na_reason = _aws_status(
                    question, answer, f"{where} ({qid})", warn)
            report.findings.append(ParsedFinding(
                pillar=pillar_name, component=title, status=status, evidence=evidence,
                line_no=None, raw_status=raw, evidence_url=None, control_code=qid,
                na_reason=na_reason,
            ))
    if unanswered and len(unanswered) == len(report.findings):
        warn(f"lens: the file carries no answers; its {len(unanswered)} question(s) are "
             "imported with status unknown (AWS UNANSWERED)")
    else:
        for where in unanswered:
            warn(f"{where}: no answer; status unknown (AWS UNANSWERED)")
    for qid in sorted(set(answers) - seen):
        warn(f"answers: question id {qid!r} is not in the lens; not read")
    return report


def _aws_get(data, key):
    """``data[key]`` in the lens's camelCase or the AWS API's PascalCase spelling."""
    if not isinstance(data, dict):
        return None
    if key in data:
        return data[key]
    return data.get(key[:1].upper() + key[1:])


def _aws_answers(data, warn):
    """Answers given beside the lens (``answers``/``AnswerSummaries``), by question id."""
    out = {}
    for key in ("answers", "answerSummaries", "questionResponses"):
        items = _aws_get(data, key)
        if items is None:
            continue
        if not isinstance(items, list):
            warn(f"{key}: not a list; not read")
            continue
        for idx, item in enumerate(items):
            qid = _str(_aws_get(item, "questionId"))
            if not qid:
                warn(f"{key}[{idx}]: answer without questionId; not read")
                continue
            if qid in out:
                warn(f"{key}[{idx}]: second answer for {qid!r}; not read")
                continue
            out[qid] = item
    return out


_AWS_ANSWER_KEYS = ("selectedChoices", "choiceAnswers", "choiceAnswerSummaries",
                    "isApplicable", "risk", "notes")


def _aws_answer(question, answers):
    """The answer of a question: in ``answer``, on the question itself, or beside it."""
    inline = _aws_get(question, "answer")
    if isinstance(inline, dict):
        return inline
    if any(_aws_get(question, key) is not None for key in _AWS_ANSWER_KEYS):
        return question
    return answers.get(_str(question.get("id")))


AWS_RISK_STATUS = {
    "NONE": "implemented", "NO_RISK": "implemented", "MEDIUM": "partial",
    "MEDIUM_RISK": "partial", "HIGH": "missing", "HIGH_RISK": "missing",
    "NOT_APPLICABLE": "not_applicable", "UNANSWERED": "unknown",
}
AWS_NA_REASON = {
    "OUT_OF_SCOPE": "out_of_scope", "BUSINESS_PRIORITIES": "business_priorities",
    "ARCHITECTURE_CONSTRAINTS": "architecture_constraints", "OTHER": "other",
}


def _aws_status(question, answer, where, warn):
    """``(status, evidence, raw_status, na_reason)`` of an answered question.

    - not applicable (``isApplicable: false`` or risk NOT_APPLICABLE) -> not_applicable,
      with AWS's reason;
    - the choices: "None of these" (id ending in ``_no``) -> missing; every best
      practice selected (those marked NOT_APPLICABLE aside) -> implemented; some ->
      partial;
    - no selection: the risk AWS computed (NONE -> implemented, MEDIUM -> partial,
      HIGH -> missing); without one, unknown, and a warning says so.
    """
    choices = [c for c in (question.get("choices") or []) if isinstance(c, dict)]
    titles = {_str(c.get("id")): _str(c.get("title")) for c in choices if _str(c.get("id"))}
    none_ids = {cid for cid in titles if cid.endswith("_no")}
    practices = [cid for cid in titles if cid not in none_ids]
    selected, not_applicable = [], set()
    raw_selected = _aws_get(answer, "selectedChoices")
    if raw_selected is None:
        raw_selected = _aws_get(answer, "choices")
    if isinstance(raw_selected, list):
        selected = [_str(c) for c in raw_selected if _str(c)]
    elif raw_selected is not None:
        warn(f"{where}: selectedChoices is {type(raw_selected).__name__}, not a list; "
             "ignored")
    for key in ("choiceAnswers", "choiceAnswerSummaries"):
        items = _aws_get(answer, key)
        if items is not None and not isinstance(items, list):
            warn(f"{where}: {key} is {type(items).__name__}, not a list; ignored")
            items = []
        for item in items or []:
            if not isinstance(item, dict):
                warn(f"{where}: {key} item {item!r} is not an object; ignored")
                continue
            cid, state = _str(_aws_get(item, "choiceId")), _str(_aws_get(item, "status"))
            if state.upper() == "SELECTED" and cid and cid not in selected:
                selected.append(cid)
            elif state.upper() == "NOT_APPLICABLE" and cid:
                not_applicable.add(cid)
    unknown_ids = [cid for cid in selected if cid not in titles]
    if unknown_ids:
        warn(f"{where}: selected choice(s) {', '.join(unknown_ids)} not in the question; "
             "ignored")
        selected = [cid for cid in selected if cid in titles]
    risk = _str(_aws_get(answer, "risk")).upper()
    notes = _str(_aws_get(answer, "notes"))
    reason = _str(_aws_get(answer, "reason")).upper()
    parts = [notes] if notes else []
    if selected:
        parts.append("Selected: " + "; ".join(titles[cid] for cid in selected))
    if risk:
        parts.append(f"AWS risk: {risk}")
    evidence = "\n".join(parts)
    if _aws_get(answer, "isApplicable") is False or risk == "NOT_APPLICABLE":
        na_reason = AWS_NA_REASON.get(reason)
        if reason and reason != "NONE" and na_reason is None:
            warn(f"{where}: not-applicable reason {reason!r} not recognised")
        return "not_applicable", evidence, "NOT_APPLICABLE", na_reason
    if selected:
        chosen_none = [cid for cid in selected if cid in none_ids]
        if chosen_none and len(chosen_none) < len(selected):
            warn(f"{where}: 'None of these' selected together with best practices; "
                 "status unknown")
            return "unknown", evidence, "CONFLICTING CHOICES", None
        if chosen_none:
            return "missing", evidence, "NONE OF THESE", None
        applicable = [cid for cid in practices if cid not in not_applicable]
        done = [cid for cid in applicable if cid in selected]
        status = "implemented" if len(done) == len(applicable) else "partial"
        return status, evidence, f"{len(done)}/{len(applicable)} SELECTED", None
    if risk in AWS_RISK_STATUS and risk != "NOT_APPLICABLE":
        if risk == "UNANSWERED":
            warn(f"{where}: answer says UNANSWERED; status unknown")
        return AWS_RISK_STATUS[risk], evidence, risk, None
    if risk:
        warn(f"{where}: risk {risk!r} not recognised and no choice selected; status unknown")
    else:
        warn(f"{where}: answer selects no choice and states no risk; status unknown")
    return "unknown", evidence, risk or "UNANSWERED", None


def _aws_control(question, pillar_name, where, warn):
    qid = question["id"].strip()
    choices = question.get("choices") if isinstance(question.get("choices"), list) else []
    if not choices:
        warn(f"{where} ({qid}): no choices")
    if len(choices) > AWS_LIMITS["choices"]:
        warn(f"{where} ({qid}): {len(choices)} choices, the format allows "
             f"{AWS_LIMITS['choices']}")
    lines, plans, url = [], [], None
    helpful = question.get("helpfulResource") or {}
    if isinstance(helpful, dict):
        url = _str(helpful.get("url")) or None
    for c_idx, choice in enumerate(choices):
        if not isinstance(choice, dict) or not _str(choice.get("title")):
            warn(f"{where}.choices[{c_idx}]: choice without title; not read")
            continue
        cid = _str(choice.get("id"))
        if cid.endswith("_no"):
            continue  # "None of these": not a best practice
        lines.append(f"- {choice['title'].strip()}")
        plan = choice.get("improvementPlan") or {}
        if isinstance(plan, dict) and _str(plan.get("displayText")):
            plans.append(f"{choice['title'].strip()}: {plan['displayText'].strip()}")
        elif not isinstance(plan, dict) or not plan:
            warn(f"{where}.choices[{c_idx}] ({cid}): no improvementPlan")
        resource = choice.get("helpfulResource") or {}
        if url is None and isinstance(resource, dict):
            url = _str(resource.get("url")) or None
        if url is None and isinstance(plan, dict):
            url = _str(plan.get("url")) or None
    severity = None
    rules = question.get("riskRules") if isinstance(question.get("riskRules"), list) else []
    default = [r for r in rules if isinstance(r, dict) and _str(r.get("condition")) == "default"]
    if not default:
        stated = [AWS_RISK_SEVERITY.get(_str(r.get("risk"))) for r in rules
                  if isinstance(r, dict)]
        stated = [sev for sev in stated if sev]
        if stated:
            severity = min(stated, key=SEVERITY_KEYS.index)
            warn(f"{where} ({qid}): no 'default' risk rule; severity {severity}, the "
                 "highest its rules state")
        else:
            warn(f"{where} ({qid}): no 'default' risk rule; severity left empty")
    else:
        risk = _str(default[0].get("risk"))
        severity = AWS_RISK_SEVERITY.get(risk)
        if severity is None:
            warn(f"{where} ({qid}): risk {risk!r} not recognised; severity left empty")
    description = _str(question.get("description"))
    if lines:
        description = (description + "\n\n" if description else "") + "Best practices:\n" + \
            "\n".join(lines)
    return ParsedControl(
        code=qid, name=question["title"].strip(), pillar=pillar_name, severity=severity,
        description=description, recommendation="\n".join(plans), reference_url=url,
        choices=[{"id": _str(c.get("id")), "title": _str(c.get("title"))} for c in choices
                 if isinstance(c, dict) and _str(c.get("id"))],
    )


