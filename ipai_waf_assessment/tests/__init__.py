from . import test_assessment, test_engine_importers, test_finding_bulk, test_tour
