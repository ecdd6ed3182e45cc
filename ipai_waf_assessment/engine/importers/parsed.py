# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""What every parser returns: the parsed-report classes, and the format error."""

from dataclasses import dataclass, field

# --------------------------------------------------------------------------- results


@dataclass
class ParsedFinding:
    """One finding read from a document."""

    pillar: str | None
    component: str
    status: str
    evidence: str
    line_no: int | None
    raw_status: str
    evidence_url: str | None = None
    control_code: str | None = None
    na_reason: str | None = None
    note: str = ""  # how the status was read, when it needed a choice


@dataclass
class ParsedPillarScore:
    """A pillar score stated by the document (an assessor override)."""

    pillar: str
    score: float
    line_no: int | None


@dataclass
class ParsedStatedScore:
    """A framework or overall score the report states, kept beside the computed one."""

    name: str
    score: float | None
    grade: str | None
    status: str
    line_no: int | None
    framework: str | None = None  # framework code when the name names one


@dataclass
class ParsedControl:
    """A control (question, checklist item) defined by the document."""

    code: str
    name: str
    pillar: str | None
    severity: str | None
    description: str
    recommendation: str
    reference_url: str | None
    choices: list = field(default_factory=list)  # an AWS question's [{"id", "title"}]


@dataclass
class ParsedRisk:
    """A row of a risk table. Likelihood and impact are 1-5, None when not stated."""

    title: str
    line_no: int | None
    pillar: str | None = None
    severity: str | None = None
    likelihood: int | None = None
    impact: int | None = None
    residual_likelihood: int | None = None
    residual_impact: int | None = None
    mitigation: str = ""
    owner: str = ""
    due_date: str | None = None  # ISO date
    context_pillar: str | None = None  # the heading above the table
    state: str | None = None  # open, accepted, mitigated, closed


@dataclass
class ParsedRecommendation:
    """A roadmap item: a table row or a list item under a phase or pillar heading."""

    title: str
    line_no: int | None
    phase: str | None = None  # 0_30, 30_60, 60_90, later
    priority: str | None = None  # P0..P3
    effort_days: float | None = None
    pillars: list = field(default_factory=list)
    depends_on: list = field(default_factory=list)  # titles or "#n" row references
    state: str | None = None  # todo, doing, done, dropped
    owner: str = ""
    context_pillar: str | None = None  # the heading above the table
    gain: float | None = None  # "(+5 points)": expected score gain


@dataclass
class ParsedReport:
    """Everything read from one document, and what could not be read."""

    title: str | None
    findings: list = field(default_factory=list)
    pillar_scores: list = field(default_factory=list)
    controls: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    overall_score: float | None = None
    risks: list = field(default_factory=list)
    recommendations: list = field(default_factory=list)
    stated_scores: list = field(default_factory=list)  # ParsedStatedScore
    decision: str | None = None  # "Go-Live Status: APPROVED with ..."
    decision_code: str | None = None  # the decision read from it: go, go_with_conditions, no_go
    source: str | None = None  # identity of a lens or checklist: "aws_lens:<slug>"
    framework: str | None = None  # an AWS lens is its own framework: its name


class ImportFormatError(ValueError):
    """The document cannot be read at all; ``line_no`` says where, when known."""

    def __init__(self, message, line_no=None):
        super().__init__(message)
        self.line_no = line_no
