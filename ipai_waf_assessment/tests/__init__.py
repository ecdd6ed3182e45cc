from . import (
    test_assessment,
    test_engine_exporters,
    test_engine_importers,
    test_export,
    test_finding_bulk,
    test_first_run,
    test_milestone_review,
    test_report_pdf,
    test_results,
    test_review,
    test_scorecard_download,
    test_tour,
)
