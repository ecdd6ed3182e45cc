# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
{
    "name": "Well-Architected",
    "summary": "Shared application menu and security category of the IPAI Well-Architected suite",
    "version": "19.0.1.1.0",
    "category": "Well-Architected",
    "author": "IPAI",
    "website": "https://github.com/ipai/well-architected-suite",
    "license": "LGPL-3",
    "depends": ["base", "web", "queue_job"],
    "data": [
        "security/ipai_well_architected_security.xml",
        "data/queue_job_data.xml",
        "views/ipai_well_architected_menus.xml",
    ],
    "application": True,
    "installable": True,
}
