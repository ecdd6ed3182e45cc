from . import ipai_waf_import_wizard, ipai_waf_import_wizard_line
