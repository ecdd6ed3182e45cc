from . import (
    test_assessment,
    test_engine_importers,
    test_review,
    test_scorecard_download,
    test_tour,
)
