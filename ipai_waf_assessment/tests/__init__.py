from . import test_assessment, test_tour
