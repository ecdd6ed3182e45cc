# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Read assessments written elsewhere: Markdown reports, AWS lenses, Azure checklists.

- :mod:`.markdown`: Markdown reports, on markdown-it-py's token stream;
- :mod:`.aws_lens`: AWS Well-Architected custom lens JSON;
- :mod:`.azure_checklist`: Azure review-checklist JSON;
- :mod:`.results`: reviewers' results (Azure graph results, AWS answers) for an
  assessment already imported;
- :mod:`.resolver`: a parsed report + the catalog -> the plan of records to create;
- :mod:`.common`: decoding, mojibake (ftfy), statuses, pillars, scores, phases.

Each parser returns a :class:`ParsedReport`. It reads what it can and lists, one line
each, what it could not read and why (``ParsedReport.warnings``); it never guesses
silently. Only a document that cannot be read at all raises :class:`ImportFormatError`.
"""

from .aws_lens import parse_aws_lens
from .azure_checklist import parse_azure_checklist
from .common import (
    DEFAULT_PILLAR_ALIASES,
    DEFAULT_PILLARS,
    ImportFormatError,
    ParsedControl,
    ParsedFinding,
    ParsedPillarScore,
    ParsedRecommendation,
    ParsedReport,
    ParsedRisk,
    ParsedStatedScore,
    StatusError,
    clean_heading,
    fix_mojibake,
    match_pillar,
    normalize_status,
    parse_phase,
    parse_score,
    read_status,
    to_text,
)
from .decision import DECISIONS, read_decision
from .markdown import parse_markdown
from .resolver import THRESHOLD, Catalog, apply_changes, build_plan
from .results import RESULT_PARSERS, RESULT_SOURCES, parse_aws_answers, parse_azure_results

PARSERS = {
    "markdown": parse_markdown,
    "aws_lens": parse_aws_lens,
    "azure_checklist": parse_azure_checklist,
}

__all__ = [
    "DECISIONS", "DEFAULT_PILLARS", "DEFAULT_PILLAR_ALIASES", "PARSERS", "THRESHOLD", "Catalog",
    "ImportFormatError", "ParsedControl", "ParsedFinding", "ParsedPillarScore",
    "RESULT_PARSERS", "RESULT_SOURCES", "ParsedRecommendation", "ParsedReport", "ParsedRisk",
    "ParsedStatedScore",
    "StatusError", "apply_changes", "build_plan", "clean_heading", "fix_mojibake",
    "match_pillar", "normalize_status", "parse_aws_answers", "parse_aws_lens",
    "parse_azure_results", "parse_azure_checklist",
    "parse_markdown", "parse_phase", "parse_score", "read_decision", "read_status",
    "to_text",
]
