# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
{
    "name": "Well-Architected Assessment - Project",
    "summary": "The roadmap of an assessment as project tasks: phases as milestones, "
    "dependencies, assignees and allocated hours; recommendations follow their tasks",
    "version": "19.0.1.0.0",
    "category": "Well-Architected",
    "author": "IPAI",
    "website": "https://github.com/ipai/well-architected-suite",
    "license": "LGPL-3",
    "depends": ["ipai_waf_assessment", "project"],
    "external_dependencies": {"python": []},
    "data": [
        "views/ipai_waf_assessment_views.xml",
        "views/project_task_views.xml",
    ],
    "auto_install": True,
    "installable": True,
}
