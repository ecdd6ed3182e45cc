from . import test_assessment, test_engine_exporters, test_engine_importers, test_export, test_tour
