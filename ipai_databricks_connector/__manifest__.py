# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
{
    "name": "Databricks Connector",
    "summary": "Delta Lake gold tables as read-only Odoo views, medallion jobs, data quality",
    "version": "19.0.1.2.0",
    "category": "Well-Architected",
    "author": "IPAI",
    "website": "https://github.com/ipai/well-architected-suite",
    "license": "LGPL-3",
    "depends": ["ipai_microservices_gateway", "mail", "queue_job"],
    "uninstall_hook": "uninstall_hook",
    "external_dependencies": {"python": ["deltalake", "duckdb", "pyarrow", "sqlglot"]},
    "data": [
        "security/ipai_databricks_connector_security.xml",
        "security/ir.model.access.csv",
        "security/ipai_databricks_connector_rules.xml",
        "data/queue_job_function_data.xml",
        "data/ir_cron_data.xml",
        "views/ipai_databricks_workspace_views.xml",
        "views/ipai_databricks_view_views.xml",
        "views/ipai_databricks_job_views.xml",
        "views/ipai_databricks_quality_views.xml",
        "views/ipai_databricks_connector_menus.xml",
        "wizard/ipai_databricks_refresh_wizard_views.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "ipai_databricks_connector/static/tests/tours/*.js",
        ],
    },
    "installable": True,
}
