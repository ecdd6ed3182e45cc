# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
{
    "name": "Databricks Connector",
    "summary": "Delta Lake gold tables as read-only Odoo views, medallion jobs, data quality",
    "version": "19.0.1.0.0",
    "category": "Well-Architected",
    "author": "IPAI",
    "website": "https://github.com/ipai/well-architected-suite",
    "license": "LGPL-3",
    "depends": ["ipai_microservices_gateway", "mail", "queue_job"],
    "external_dependencies": {"python": ["deltalake", "duckdb", "pyarrow"]},
    "data": [
        "security/ipai_databricks_connector_security.xml",
        "security/ir.model.access.csv",
        "views/ipai_databricks_connector_menus.xml",
    ],
    "installable": True,
}
