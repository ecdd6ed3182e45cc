from . import test_assessment, test_engine_importers, test_tour
