from . import ipai_waf_import_wizard
