# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Shared pieces of the exporters: the finding they read, the result, text limits."""

import json
from dataclasses import dataclass, field

from ..importers.common import slug


class ExportError(ValueError):
    """The assessment cannot be written in the format; the message says why and what to do."""

    def __init__(self, message, *, limit=None, count=None):
        super().__init__(message)
        self.limit = limit
        self.count = count


@dataclass(frozen=True)
class ExportFinding:
    """One finding with its control, as the exporters need it.

    ``code`` is the control's code; ``source`` where the control came from
    (``aws_lens:<lens>``, ``azure_checklist:<checklist>``), so an item imported from a
    lens or checklist is written back under its own id.
    """

    code: str
    name: str
    pillar_code: str
    pillar_name: str
    status: str
    severity: str | None = None
    na_reason: str | None = None
    evidence: str = ""
    evidence_url: str | None = None
    description: str = ""
    recommendation: str = ""
    reference_url: str | None = None
    source: str | None = None

    @property
    def item_id(self):
        """The id in the source document: the code without its ``<source>:`` prefix."""
        if self.source and self.code.startswith(self.source + ":"):
            return self.code[len(self.source) + 1:]
        return self.code


@dataclass
class ExportResult:
    document: dict
    notes: list = field(default_factory=list)

    def dumps(self):
        return json.dumps(self.document, indent=2, ensure_ascii=False) + "\n"


def clip(text, width):
    """``text`` cut to ``width`` characters, an ellipsis marking the cut."""
    text = (text or "").strip()
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"


def is_http_url(url):
    return isinstance(url, str) and url.startswith(("http://", "https://"))


def shared_source_name(findings, kind):
    """The document name that brings every finding back to its own control, or None.

    When all findings come from one lens or checklist (``<kind>:<slug>``), writing the
    document under a name whose slug is ``<slug>`` makes the importer find the same
    controls again. The name is the slug made readable when that round-trips.
    """
    sources = {f.source for f in findings}
    if len(sources) != 1:
        return None
    source = next(iter(sources)) or ""
    if not source.startswith(kind + ":"):
        return None
    key = source[len(kind) + 1:]
    readable = key.replace("-", " ").title()
    return readable if slug(readable) == key else key


def finding_notes(finding):
    """The evidence of a finding as one text (evidence, then its link)."""
    parts = [finding.evidence or ""]
    if finding.evidence_url and finding.evidence_url not in (finding.evidence or ""):
        parts.append(finding.evidence_url)
    return "\n".join(p.strip() for p in parts if p and p.strip())
