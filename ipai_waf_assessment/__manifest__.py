# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
{
    "name": "Well-Architected Assessment",
    "summary": "Assessments against Azure Well-Architected and the Databricks Lakehouse model",
    "version": "19.0.1.0.0",
    "category": "Well-Architected",
    "author": "IPAI",
    "website": "https://github.com/ipai/well-architected-suite",
    "license": "LGPL-3",
    "depends": ["ipai_well_architected", "mail", "queue_job"],
    "external_dependencies": {"python": []},
    "data": [
        "security/ipai_waf_assessment_security.xml",
        "security/ir.model.access.csv",
        "views/ipai_waf_assessment_menus.xml",
    ],
    "installable": True,
}
