# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""The scoring rubric, versioned so that an old score can be reproduced.

Rubric 1.0, in plain words:

1. Each finding earns points by its status:
   implemented 100, partial 50, planned 25, missing 0, unknown 0.
   ``not_applicable`` findings are left out entirely (neither points nor weight):
   an out-of-scope control must not pull a pillar down, and must not lift it either.
   ``unknown`` counts as 0 on purpose: what has not been verified is not credited.
2. Each finding weighs ``severity weight x control weight``; severity weights are
   high 3, medium 2, low 1, and the control weight defaults to 1.0.
3. Pillar score = weighted mean of the points of its applicable findings
   (``sum(points * w) / sum(w)``). A pillar with no applicable finding has no score
   (``None``), which is not the same as 0.
4. Framework score = weighted mean of its pillar scores, with the pillar weights;
   pillars without a score are skipped.
5. Overall score = mean of the scores of the assessed frameworks (weights optional);
   frameworks without a score are skipped.
6. Every public method rounds its result to one decimal, and only there: the means are
   computed on unrounded numbers.

The registry ``RUBRICS`` maps a version to its frozen :class:`Rubric`. A new rubric is
a new entry; an existing entry never changes, so an assessment that stored
``rubric_version = "1.0"`` is re-scored the same way forever.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

RUBRIC_VERSION = "1.0"


class UnknownRubric(KeyError):
    """No rubric is registered under this version."""


@dataclass(frozen=True)
class FindingInput:
    """One finding as the rubric sees it."""

    status: str
    severity: str
    weight: float = 1.0
    count: int = 1  # how many findings alike this one stands for (scoring reads them grouped)


@dataclass(frozen=True)
class PillarInput:
    """One pillar score (computed or overridden) with the pillar weight."""

    score: float | None
    weight: float = 1.0


def _check_weight(weight, what):
    if isinstance(weight, bool) or not isinstance(weight, int | float):
        raise ValueError(f"{what} weight must be a number, not {weight!r}")
    if weight < 0:
        raise ValueError(f"{what} weight must not be negative, got {weight!r}")
    return float(weight)


def _check_score(score, what):
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise ValueError(f"{what} score must be a number, not {score!r}")
    if not 0 <= score <= 100:
        raise ValueError(f"{what} score must lie between 0 and 100, got {score!r}")
    return float(score)


def _weighted_mean(pairs):
    total_weight = sum(w for _value, w in pairs)
    if not pairs or total_weight <= 0:
        return None
    return sum(value * w for value, w in pairs) / total_weight


def _edge(value):
    return None if value is None else round(value, 1)


@dataclass(frozen=True)
class Rubric:
    """A frozen scoring rubric: points per status and weights per severity."""

    version: str
    status_points: Mapping = field(default_factory=dict)
    severity_weights: Mapping = field(default_factory=dict)

    def __post_init__(self):
        # read-only views, so a registered rubric cannot be changed in place
        object.__setattr__(self, "status_points", MappingProxyType(dict(self.status_points)))
        object.__setattr__(
            self, "severity_weights", MappingProxyType(dict(self.severity_weights))
        )

    def __hash__(self):
        return hash((self.version, tuple(sorted(self.status_points.items())),
                     tuple(sorted(self.severity_weights.items()))))

    def points(self, status):
        """Points of a status; ``None`` for a status that is excluded (not applicable)."""
        if status == "not_applicable":
            return None
        if status not in self.status_points:
            raise ValueError(f"unknown status {status!r} (rubric {self.version})")
        return self.status_points[status]

    def finding_weight(self, severity, weight=1.0):
        """Weight of one finding: severity weight times control weight."""
        if severity not in self.severity_weights:
            raise ValueError(f"unknown severity {severity!r} (rubric {self.version})")
        return self.severity_weights[severity] * _check_weight(weight, "control")

    def _pillar_raw(self, findings: Iterable[FindingInput]):
        pairs = []
        for finding in findings:
            pts = self.points(finding.status)
            weight = self.finding_weight(finding.severity, finding.weight) * finding.count
            if pts is not None:
                pairs.append((pts, weight))
        return _weighted_mean(pairs)

    def score_pillar(self, findings: Iterable[FindingInput]) -> float | None:
        """Weighted mean of the points of the applicable findings, 0-100, or None."""
        return _edge(self._pillar_raw(findings))

    def score_framework(self, pillars: Iterable[PillarInput]) -> float | None:
        """Weighted mean of the pillar scores; pillars without a score are skipped."""
        pairs = [
            (_check_score(p.score, "pillar"), _check_weight(p.weight, "pillar"))
            for p in pillars
            if p.score is not None
        ]
        return _edge(_weighted_mean(pairs))

    def score_overall(self, framework_scores, weights=None) -> float | None:
        """Mean of the framework scores (None skipped), optionally weighted.

        ``framework_scores`` is an iterable of scores, or a mapping code -> score;
        ``weights`` is then an iterable of the same length, or a mapping code -> weight
        (missing codes weigh 1.0).
        """
        if isinstance(framework_scores, Mapping):
            keys = list(framework_scores)
            scores = [framework_scores[k] for k in keys]
            if weights is None:
                weight_list = [1.0] * len(keys)
            elif isinstance(weights, Mapping):
                weight_list = [weights.get(k, 1.0) for k in keys]
            else:
                raise ValueError("weights must be a mapping when scores are a mapping")
        else:
            scores = list(framework_scores)
            weight_list = [1.0] * len(scores) if weights is None else list(weights)
            if len(weight_list) != len(scores):
                raise ValueError(
                    f"{len(scores)} framework scores but {len(weight_list)} weights"
                )
        pairs = [
            (_check_score(s, "framework"), _check_weight(w, "framework"))
            for s, w in zip(scores, weight_list, strict=True)
            if s is not None
        ]
        return _edge(_weighted_mean(pairs))


RUBRICS = MappingProxyType({
    "1.0": Rubric(
        version="1.0",
        status_points={
            "implemented": 100,
            "partial": 50,
            "planned": 25,
            "missing": 0,
            "unknown": 0,
        },
        severity_weights={"high": 3, "medium": 2, "low": 1},
    ),
})


def available_versions():
    """The registered rubric versions, oldest first."""
    return sorted(RUBRICS, key=lambda v: tuple(int(x) for x in v.split(".")))


def get_rubric(version=None) -> Rubric:
    """The rubric of ``version``; the current one when ``version`` is empty."""
    version = version or RUBRIC_VERSION
    try:
        return RUBRICS[version]
    except KeyError:
        raise UnknownRubric(
            f"no scoring rubric {version!r}; known: {', '.join(available_versions())}"
        ) from None
