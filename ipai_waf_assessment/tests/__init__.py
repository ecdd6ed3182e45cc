from . import (
    test_assessment,
    test_engine_catalog,
    test_engine_importers,
    test_engine_rubric,
    test_engine_scorecard,
    test_queue_data,
    test_tour,
)
