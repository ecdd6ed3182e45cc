# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
{
    "name": "Well-Architected Assessment",
    "summary": "Assessments against Azure Well-Architected and the Databricks Lakehouse model, "
    "with live evidence",
    "version": "19.0.1.0.0",
    "category": "Well-Architected",
    "author": "IPAI",
    "website": "https://github.com/ipai/well-architected-suite",
    "license": "LGPL-3",
    "depends": ["ipai_well_architected", "mail", "queue_job"],
    "external_dependencies": {"python": ["jsonschema", "markdown-it-py", "ftfy", "rapidfuzz"]},
    "data": [
        "security/ipai_waf_assessment_security.xml",
        "security/ir.model.access.csv",
        "security/ipai_waf_assessment_rules.xml",
        "data/ipai_waf_catalog_data.xml",
        "data/ipai_waf_catalog_aliases.xml",
        "data/ipai_waf_assessment_data.xml",
        "data/ir_cron_data.xml",
        "data/queue_job_function_data.xml",
        "report/ipai_waf_assessment_report.xml",
        "views/ipai_waf_catalog_views.xml",
        "wizard/ipai_waf_unfreeze_wizard_views.xml",
        "wizard/ipai_waf_review_wizard_views.xml",
        "wizard/ipai_waf_results_wizard_views.xml",
        "wizard/ipai_waf_compare_wizard_views.xml",
        "views/ipai_waf_assessment_views.xml",
        "views/ipai_waf_assessment_menus.xml",
        "views/ipai_waf_review_views.xml",
        "views/ipai_waf_dashboard_views.xml",
        "views/ipai_waf_export_wizard_views.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "ipai_waf_assessment/static/src/dashboard/*",
        ],
        "web.assets_tests": [
            "ipai_waf_assessment/static/tests/tours/*.js",
        ],
    },
    "installable": True,
}
