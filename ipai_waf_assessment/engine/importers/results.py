# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Reviewers' results applied to an assessment already imported from a lens or checklist.

Where the statuses really live, once a review is under way:

- **Azure automated results** (``checklist_graph.sh -f=json`` of Azure/review-checklists):
  ``{"checks": [{"guid", "compliant", "id"}]}``, one entry per resource, ``compliant``
  being ``"true"``, ``"false"`` or ``"undefined"`` (strings, as the script writes them,
  or JSON booleans); the older shape ``{"checks": [{"guid", "success", "failure"}]}``
  lists resources comma-separated, ``"None"`` for none. Per guid: every resource
  compliant -> implemented, none -> missing, some -> partial; only undefined -> unknown.
  The evidence names the resources.
- **AWS answers**: ``questionResponses: [{questionId, choices}]``, the ``list-answers``
  output (``AnswerSummaries`` with ``SelectedChoices``, ``Risk``, ``IsApplicable``) or
  ``get-answer`` (one ``Answer``). Statuses are read as the lens importer reads them
  (:func:`.aws_lens._aws_status`), with the question's choices the lens import stored.

Each parser returns ``(results, warnings)``, ``results`` being ``{item id: (status,
evidence, na_reason)}``; malformed values are warnings, never crashes.
"""

from .aws_lens import _aws_answers, _aws_get, _aws_status
from .common import ImportFormatError, load_json, load_object
from .common import text_of as _str

MAX_RESOURCES_SHOWN = 20
_TRUE = {"true", "1", "yes", "compliant"}
_FALSE = {"false", "0", "no", "non-compliant", "noncompliant"}


def _resources(value):
    text = _str(value)
    if not text or text.lower() == "none":
        return []
    return [r.strip() for r in text.split(",") if r.strip()]


def _listing(label, names):
    shown = ", ".join(names[:MAX_RESOURCES_SHOWN])
    more = len(names) - MAX_RESOURCES_SHOWN
    return f"{label} ({len(names)}): {shown}" + (f" and {more} more" if more > 0 else "")


def parse_azure_results(text):
    """``({guid: (status, evidence, None)}, warnings)`` of an Azure graph results file."""
    data, warnings = load_object(text, "checks", "Azure automated results: expected a JSON "
                                 "object with a 'checks' list (guid, compliant, id)")
    warn = warnings.append
    by_guid = {}
    for idx, check in enumerate(data["checks"]):
        where = f"checks[{idx}]"
        if not isinstance(check, dict):
            warn(f"{where}: not an object; not read")
            continue
        guid = _str(check.get("guid")).lower()
        if not guid or guid == "null":
            warn(f"{where}: no guid; not read")
            continue
        seen = by_guid.setdefault(guid, {"ok": [], "ko": [], "undefined": []})
        if "success" in check or "failure" in check:
            seen["ok"] += _resources(check.get("success"))
            seen["ko"] += _resources(check.get("failure"))
            continue
        value = check.get("compliant")
        word = str(value).strip().lower() if value is not None else ""
        resource = _str(check.get("id")) or _str(check.get("name")) or f"resource {idx + 1}"
        if value is True or word in _TRUE:
            seen["ok"].append(resource)
        elif value is False or word in _FALSE:
            seen["ko"].append(resource)
        else:
            seen["undefined"].append(resource)
            if word not in ("undefined", ""):
                warn(f"{where} ({guid}): compliant is {value!r}, not true or false; "
                     "counted as undefined")
    results = {}
    for guid, seen in by_guid.items():
        ok, ko = list(dict.fromkeys(seen["ok"])), list(dict.fromkeys(seen["ko"]))
        if ok and ko:
            status = "partial"
        elif ko:
            status = "missing"
        elif ok:
            status = "implemented"
        else:
            status = "unknown"
            warn(f"{guid}: no resource was found compliant or non-compliant; status unknown")
        parts = [_listing("Non-compliant", ko)] if ko else []
        if ok:
            parts.append(_listing("Compliant", ok))
        if seen["undefined"]:
            parts.append(_listing("Undefined", list(dict.fromkeys(seen["undefined"]))))
        results[guid] = (status, "Azure Resource Graph: " + "; ".join(parts), None)
    if not results:
        raise ImportFormatError("Azure automated results: the 'checks' list holds no "
                                "result with a guid")
    return results, warnings


def parse_aws_answers(text, questions):
    """``({question id: (status, evidence, na_reason)}, warnings)`` of AWS answers.

    ``questions``: ``{question id: [{"id": choice id, "title": title}]}``, the choices of
    the lens questions already imported (an empty list when the lens was imported
    without them: the answer's risk then decides).
    """
    warnings = []
    data = load_json(text, warnings)
    if not isinstance(data, dict):
        raise ImportFormatError("not AWS answers: expected a JSON object with "
                                "'questionResponses', 'AnswerSummaries' or 'Answer'")
    warn = warnings.append
    single = _aws_get(data, "answer")
    answers = {}
    if isinstance(single, dict) and _str(_aws_get(single, "questionId")):
        answers[_str(_aws_get(single, "questionId"))] = single
    answers.update(_aws_answers(data, warn))
    if not answers:
        raise ImportFormatError("AWS answers: no answer with a questionId (expected "
                                "'questionResponses', 'AnswerSummaries' or 'Answer')")
    results = {}
    for qid, answer in answers.items():
        if qid not in questions:
            warn(f"answers: question {qid!r} is not a question of this assessment's lens; "
                 "not read")
            continue
        question = {"choices": questions[qid]}
        if not questions[qid]:
            # Without the lens's choices a selection says nothing: AWS's risk decides.
            answer = {k: v for k, v in answer.items() if k.lower() not in (
                "choices", "selectedchoices", "choiceanswers", "choiceanswersummaries")}
        status, evidence, _raw, na_reason = _aws_status(question, answer, qid, warn)
        results[qid] = (status, evidence, na_reason)
    return results, warnings


RESULT_PARSERS = {"azure_results": parse_azure_results, "aws_answers": parse_aws_answers}
RESULT_SOURCES = {"azure_results": "azure_checklist:", "aws_answers": "aws_lens:"}
