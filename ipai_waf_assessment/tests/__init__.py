from . import test_assessment, test_engine_importers, test_milestone_review, test_tour
