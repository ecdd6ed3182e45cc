"""Plain tests of the scoring rubric, the grade bands and the risk matrix (no database)."""

import dataclasses
import subprocess
import sys
from pathlib import Path

from odoo.addons.ipai_waf_assessment.engine import grading, risk, rubric, vocabulary
from odoo.addons.ipai_waf_assessment.engine.grading import DEFAULT_GRADE_BANDS, GradeBand
from odoo.addons.ipai_waf_assessment.engine.rubric import FindingInput as F
from odoo.addons.ipai_waf_assessment.engine.rubric import PillarInput as P
from odoo.tests import BaseCase

MODULE_DIR = Path(__file__).resolve().parents[1]


class TestEngineIsolation(BaseCase):
    """The engine is plain Python and imports without Odoo."""

    def test_engine_imports_without_odoo(self):
        """The engine is plain Python: it must import in an interpreter where odoo is blocked."""
        code = (
            "import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'odoo' or name.startswith('odoo.'):\n"
            "            raise ImportError('odoo is blocked: ' + name)\n"
            "sys.meta_path.insert(0, Block())\n"
            f"sys.path.insert(0, {str(MODULE_DIR)!r})\n"
            "from engine import grading, importers, risk, rubric, scorecard\n"
            "print(rubric.get_rubric().version, grading.grade_for(78)[0])\n"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["1.0", "B+"]


# --------------------------------------------------------------------------- rubric

class TestRubric(BaseCase):
    """Status points, severity and control weights, versions."""

    def test_current_rubric_is_1_0_with_documented_points_and_weights(self):
        rb = rubric.get_rubric()
        assert rubric.RUBRIC_VERSION == "1.0" and rb.version == "1.0"
        assert dict(rb.status_points) == {
            "implemented": 100, "partial": 50, "planned": 25, "missing": 0, "unknown": 0,
        }
        assert dict(rb.severity_weights) == {"high": 3, "medium": 2, "low": 1}
        assert rubric.get_rubric(None) is rb and rubric.get_rubric("") is rb

    def test_each_status_scores_its_points_alone(self):
        rb = rubric.get_rubric("1.0")
        expected = {"implemented": 100.0, "partial": 50.0, "planned": 25.0, "missing": 0.0,
                    "unknown": 0.0}
        for status, points in expected.items():
            assert rb.score_pillar([F(status, "medium")]) == points, status

    def test_not_applicable_is_excluded_not_counted_as_zero(self):
        rb = rubric.get_rubric()
        with_na = [F("implemented", "high"), F("not_applicable", "high"),
                   F("not_applicable", "low", 5.0)]
        assert rb.score_pillar(with_na) == 100.0
        # a pillar whose findings are all N/A has no score (None), not 0
        assert rb.score_pillar([F("not_applicable", "high")]) is None
        assert rb.score_pillar([]) is None

    def test_severity_and_control_weights_make_a_weighted_mean(self):
        rb = rubric.get_rubric()
        # high implemented (w 3) + low missing (w 1) -> 300 / 4 = 75
        assert rb.score_pillar([F("implemented", "high"), F("missing", "low")]) == 75.0
        # the reverse: 100 / 4 = 25
        assert rb.score_pillar([F("missing", "high"), F("implemented", "low")]) == 25.0
        # control weight 2.0 on a medium partial: (50*4 + 100*2) / 6 = 66.666 -> 66.7
        assert rb.score_pillar([F("partial", "medium", 2.0), F("implemented", "medium")]) == 66.7
        # weight 0 removes a finding from the mean
        assert rb.score_pillar([F("missing", "high", 0.0), F("implemented", "low")]) == 100.0
        # only zero weights: nothing to average
        assert rb.score_pillar([F("missing", "high", 0.0)]) is None

    def test_a_counted_input_weighs_as_that_many_findings(self):
        rb = rubric.get_rubric()
        one_by_one = [F("partial", "low", 0.3)] * 7 + [F("implemented", "high", 2.5)] * 3
        grouped = [F("partial", "low", 0.3, 7), F("implemented", "high", 2.5, 3)]
        assert rb.score_pillar(grouped) == rb.score_pillar(one_by_one) == 95.7
        assert rb.score_pillar([F("missing", "high", 1.0, 0)]) is None  # nothing counted

    def test_rounding_happens_once_at_the_edge(self):
        rb = rubric.get_rubric()
        # three pillars 33.33.. each: the framework mean of rounded values would drift
        third = [F("implemented", "medium"), F("missing", "medium"), F("missing", "medium")]
        assert rb.score_pillar(third) == 33.3
        assert rb.score_framework([P(100 / 3, 1), P(100 / 3, 1), P(100, 1)]) == 55.6

    def test_invalid_inputs_are_refused_not_guessed(self):
        rb = rubric.get_rubric()
        with self.assertRaisesRegex(ValueError, "status"):
            rb.score_pillar([F("done", "high")])
        with self.assertRaisesRegex(ValueError, "severity"):
            rb.score_pillar([F("implemented", "critical")])
        with self.assertRaisesRegex(ValueError, "negative"):
            rb.score_pillar([F("implemented", "high", -1)])
        with self.assertRaisesRegex(ValueError, "between 0 and 100"):
            rb.score_framework([P(120, 1)])

    def test_framework_score_is_the_weighted_mean_of_scored_pillars(self):
        rb = rubric.get_rubric()
        assert rb.score_framework([P(80, 1), P(60, 1)]) == 70.0
        assert rb.score_framework([P(80, 3), P(60, 1)]) == 75.0
        # a pillar without a score is skipped, not counted as 0
        assert rb.score_framework([P(80, 1), P(None, 5)]) == 80.0
        assert rb.score_framework([P(None, 1)]) is None
        assert rb.score_framework([]) is None

    def test_overall_score_is_the_mean_of_assessed_frameworks(self):
        rb = rubric.get_rubric()
        assert rb.score_overall([82.0, 74.0]) == 78.0
        assert rb.score_overall([82.0, None, 74.0]) == 78.0
        assert rb.score_overall({"azure_waf": 90, "medallion": 60}) == 75.0
        assert rb.score_overall({"azure_waf": 90, "medallion": 60}, {"azure_waf": 2}) == 80.0
        assert rb.score_overall([90, 60], [1, 2]) == 70.0
        assert rb.score_overall([]) is None
        with self.assertRaisesRegex(ValueError, "weights"):
            rb.score_overall([90, 60], [1])

    def test_unknown_rubric_version_is_a_key_error_naming_the_known_ones(self):
        with self.assertRaisesRegex(rubric.UnknownRubric, "1.0") as info:
            rubric.get_rubric("0.9")
        assert isinstance(info.exception, KeyError)
        assert "1.0" in rubric.available_versions()

    def test_registered_rubric_cannot_be_changed_so_old_scores_reproduce(self):
        rb = rubric.get_rubric("1.0")
        findings = [F("partial", "high"), F("planned", "medium"), F("implemented", "low")]
        before = rb.score_pillar(findings)
        self.assertAlmostEqual(before, round((50 * 3 + 25 * 2 + 100 * 1) / 6, 1))
        with self.assertRaises(TypeError):
            rb.status_points["partial"] = 75
        with self.assertRaises(dataclasses.FrozenInstanceError):
            rb.version = "2.0"
        with self.assertRaises(TypeError):
            rubric.RUBRICS["1.0"] = rb
        # a different rubric (as a future version would be) scores differently ...
        stricter = dataclasses.replace(rb, version="x", status_points={
            **rb.status_points, "partial": 25, "planned": 0,
        })
        assert stricter.score_pillar(findings) != before
        # ... and leaves version 1.0 untouched
        assert rubric.get_rubric("1.0").score_pillar(findings) == before


# --------------------------------------------------------------------------- grades

class TestGradeBands(BaseCase):
    """Grade bands and their labels."""

    def test_default_grade_bands(self):
        for score, grade in [
            (78, "B+"), (75, "B+"), (71, "B"), (100, "A+"), (95, "A+"), (94.9, "A"), (85, "A-"),
            (84.9, "B+"), (74.96, "B+"), (74.94, "B"), (70, "B"), (0, "F"), (39.9, "F"),
        ]:
            with self.subTest(score=score):
                assert grading.grade_for(score)[0] == grade

    def test_grade_labels(self):
        assert grading.grade_for(78) == ("B+", "Good, with gaps")
        assert grading.grade_for(71) == ("B", "Needs work")
        assert grading.grade_for(96)[1] == "Production ready"
        assert grading.grade_for(52)[1] == "At risk"
        assert grading.grade_for(None) == (None, None)

    def test_custom_bands_in_any_order_and_floor(self):
        bands = [GradeBand(50, "Pass", "ok"), GradeBand(80, "Merit", "good")]
        assert grading.grade_for(85, bands) == ("Merit", "good")
        assert grading.grade_for(60, bands) == ("Pass", "ok")
        # below every band: the lowest band is the floor
        assert grading.grade_for(10, bands) == ("Pass", "ok")
        with self.assertRaises(ValueError):
            grading.grade_for(101)
        with self.assertRaises(ValueError):
            grading.grade_for(50, [])

    def test_default_bands_are_sorted_and_start_at_zero(self):
        mins = [b.min_score for b in DEFAULT_GRADE_BANDS]
        assert mins == sorted(mins, reverse=True) and mins[-1] == 0
        assert len({b.grade for b in DEFAULT_GRADE_BANDS}) == len(DEFAULT_GRADE_BANDS)


# --------------------------------------------------------------------------- risk

class TestRiskMatrix(BaseCase):
    """The 5x5 likelihood/impact matrix and residual risk."""

    def test_rate_on_the_5x5_matrix(self):
        for likelihood, impact, expected in [
            (1, 1, (1, "low")), (2, 2, (4, "low")), (1, 5, (5, "medium")), (3, 3, (9, "medium")),
            (2, 5, (10, "high")), (4, 4, (16, "high")), (3, 5, (15, "high")),
            (4, 5, (20, "critical")), (5, 5, (25, "critical")),
        ]:
            with self.subTest(likelihood=likelihood, impact=impact):
                assert risk.rate(likelihood, impact) == expected

    def test_matrix_is_symmetric_and_levels_grow_with_the_rating(self):
        cells = risk.matrix()
        assert len(cells) == 25
        order = {level: i for i, level in enumerate(vocabulary.RISK_LEVELS)}
        for (lk, im), (rating, level) in cells.items():
            assert cells[(im, lk)] == (rating, level)
            if lk < 5:
                assert order[cells[(lk + 1, im)][1]] >= order[level]
        counts = {level: sum(1 for _r, lv in cells.values() if lv == level)
                  for level in vocabulary.RISK_LEVELS}
        assert counts == {"low": 8, "medium": 7, "high": 7, "critical": 3}

    def test_rate_refuses_values_off_the_matrix(self):
        for bad in [0, 6, -1, 2.5, "3", None, True]:
            with self.subTest(bad=bad):
                with self.assertRaises(ValueError):
                    risk.rate(bad, 3)
                with self.assertRaises(ValueError):
                    risk.rate(3, bad)

    def test_residual_risk_after_mitigation(self):
        assert risk.residual(1, 2) == (2, "low")
        assert risk.residual(2, 5, likelihood=5, impact=5) == (10, "high")
        with self.assertRaisesRegex(ValueError, "exceeds inherent likelihood"):
            risk.residual(4, 2, likelihood=3, impact=5)
        with self.assertRaisesRegex(ValueError, "exceeds inherent impact"):
            risk.residual(1, 5, likelihood=3, impact=4)
        with self.assertRaises(ValueError):
            risk.residual(0, 2)
