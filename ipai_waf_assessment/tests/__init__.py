from . import test_assessment, test_engine_importers, test_first_run, test_report_pdf, test_tour
