# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Risk rating on a 5x5 likelihood x impact matrix.

Likelihood and impact are integers from 1 (rare / negligible) to 5 (almost certain /
severe). The rating is their product, 1-25, and the level follows these thresholds:

==========  ===========  =====================================
Rating      Level        Cells of the matrix
==========  ===========  =====================================
1-4         low          e.g. 1x4, 2x2
5-9         medium       e.g. 1x5, 3x3
10-19       high         e.g. 2x5, 3x4, 4x4
20-25       critical     4x5, 5x4, 5x5
==========  ===========  =====================================

``residual`` rates the risk left after mitigation the same way; when the inherent
values are given it also refuses a "mitigation" that makes the risk worse.
"""

LIKELIHOOD_LABELS = {1: "Rare", 2: "Unlikely", 3: "Possible", 4: "Likely", 5: "Almost certain"}
IMPACT_LABELS = {1: "Negligible", 2: "Minor", 3: "Moderate", 4: "Major", 5: "Severe"}

# (minimum rating, level), highest first
LEVEL_THRESHOLDS = ((20, "critical"), (10, "high"), (5, "medium"), (1, "low"))


def _value(value, what):
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ValueError(f"{what} must be an integer from 1 to 5, not {value!r}")
    if not 1 <= value <= 5:
        raise ValueError(f"{what} must be from 1 to 5, got {value}")
    return value


def level_for(rating):
    """Level of a rating 1-25."""
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 25:
        raise ValueError(f"rating must be an integer from 1 to 25, got {rating!r}")
    for minimum, level in LEVEL_THRESHOLDS:
        if rating >= minimum:
            return level
    raise AssertionError("unreachable")  # pragma: no cover


def rate(likelihood, impact):
    """Return ``(rating, level)`` of a risk, e.g. ``rate(4, 5) == (20, "critical")``."""
    likelihood = _value(likelihood, "likelihood")
    impact = _value(impact, "impact")
    rating = likelihood * impact
    return rating, level_for(rating)


def residual(residual_likelihood, residual_impact, likelihood=None, impact=None):
    """Rate the risk after mitigation: ``(rating, level)`` of the residual values.

    When the inherent ``likelihood``/``impact`` are given, a residual value above its
    inherent value raises ValueError (mitigation cannot increase the risk).
    """
    rating, level = rate(residual_likelihood, residual_impact)
    if likelihood is not None and _value(likelihood, "likelihood") < residual_likelihood:
        raise ValueError(
            f"residual likelihood {residual_likelihood} exceeds inherent likelihood {likelihood}"
        )
    if impact is not None and _value(impact, "impact") < residual_impact:
        raise ValueError(f"residual impact {residual_impact} exceeds inherent impact {impact}")
    return rating, level


def matrix():
    """The whole matrix: ``{(likelihood, impact): (rating, level)}`` for the 25 cells."""
    return {(lk, im): rate(lk, im) for lk in range(1, 6) for im in range(1, 6)}
