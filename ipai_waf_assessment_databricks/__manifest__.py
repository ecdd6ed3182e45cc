# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
{
    "name": "Well-Architected Assessment - Databricks",
    "summary": "Assessment checks of the Databricks views (freshness, data quality) and a "
    "freshness panel on the dashboard",
    "version": "19.0.1.0.0",
    "category": "Well-Architected",
    "author": "IPAI",
    "website": "https://github.com/ipai/well-architected-suite",
    "license": "LGPL-3",
    "depends": ["ipai_waf_assessment", "ipai_databricks_connector"],
    "external_dependencies": {"python": []},
    "data": [],
    "auto_install": True,
    "installable": True,
}
