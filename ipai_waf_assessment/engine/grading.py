# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Grade bands: a score (0-100) becomes a letter grade and a status label.

The default ladder (the Odoo module stores it as editable data):

======  =========  ====================
Grade   From       Status label
======  =========  ====================
A+      95         Production ready
A       90         Production ready
A-      85         Production ready
B+      75         Good, with gaps
B       70         Needs work
B-      65         Needs work
C+      60         Needs work
C       55         At risk
C-      50         At risk
D       40         At risk
F       0          Not ready
======  =========  ====================

So 78 -> B+, 75 -> B+, 71 -> B. The B+ band is wider than the others on purpose: it is
where most real workloads sit ("works, has known gaps"), and the step to A- means the
gaps have been closed. A score is graded after rounding to one decimal, as shown,
so the grade always matches the number the user sees.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class GradeBand:
    """Scores from ``min_score`` up (to the next band) get ``grade`` and ``label``."""

    min_score: float
    grade: str
    label: str = ""


DEFAULT_GRADE_BANDS = [
    GradeBand(95.0, "A+", "Production ready"),
    GradeBand(90.0, "A", "Production ready"),
    GradeBand(85.0, "A-", "Production ready"),
    GradeBand(75.0, "B+", "Good, with gaps"),
    GradeBand(70.0, "B", "Needs work"),
    GradeBand(65.0, "B-", "Needs work"),
    GradeBand(60.0, "C+", "Needs work"),
    GradeBand(55.0, "C", "At risk"),
    GradeBand(50.0, "C-", "At risk"),
    GradeBand(40.0, "D", "At risk"),
    GradeBand(0.0, "F", "Not ready"),
]


def grade_for(score, bands=None):
    """Return ``(grade, label)`` for a 0-100 score; ``(None, None)`` when score is None.

    ``bands`` defaults to :data:`DEFAULT_GRADE_BANDS`; they may come in any order.
    A score below every band gets the lowest band (the floor).
    Raises ValueError for a score outside 0-100 or an empty band list.
    """
    if score is None:
        return None, None
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise ValueError(f"score must be a number, not {score!r}")
    if not 0 <= score <= 100:
        raise ValueError(f"score must lie between 0 and 100, got {score!r}")
    if bands is None:
        bands = DEFAULT_GRADE_BANDS
    ordered = sorted(bands, key=lambda b: b.min_score, reverse=True)
    if not ordered:
        raise ValueError("no grade bands")
    shown = round(score, 1)
    for band in ordered:
        if shown >= band.min_score:
            return band.grade, band.label
    floor = ordered[-1]
    return floor.grade, floor.label


def bands_to_data(bands):
    """The bands as plain data (a list of dicts, highest first), to store with a milestone.

    A frozen milestone keeps this list: its grade is computed from it, so changing the
    company's bands later changes the grades of open assessments only.
    """
    ordered = sorted(bands, key=lambda b: b.min_score, reverse=True)
    if not ordered:
        raise ValueError("no grade bands")
    return [{"min_score": float(b.min_score), "grade": b.grade, "label": b.label or ""}
            for b in ordered]


def bands_from_data(data):
    """The :class:`GradeBand` list of :func:`bands_to_data`'s output.

    Raises ValueError for anything else (a stored snapshot is never guessed at).
    """
    if not isinstance(data, list) or not data:
        raise ValueError(f"grade bands must be a non-empty list, not {data!r}")
    bands = []
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("grade"), str):
            raise ValueError(f"a grade band needs a grade: {item!r}")
        score = item.get("min_score")
        if isinstance(score, bool) or not isinstance(score, int | float):
            raise ValueError(f"a grade band needs a numeric min_score: {item!r}")
        bands.append(GradeBand(float(score), item["grade"], str(item.get("label") or "")))
    return bands
