# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
{
    "name": "Well-Architected Assessment - Gateway",
    "summary": "Assessment checks of the microservices gateway (credentials, timeouts, "
    "breakers, availability) and a circuit-breaker panel on the dashboard",
    "version": "19.0.1.0.0",
    "category": "Well-Architected",
    "author": "IPAI",
    "website": "https://github.com/ipai/well-architected-suite",
    "license": "LGPL-3",
    "depends": ["ipai_waf_assessment", "ipai_microservices_gateway"],
    "external_dependencies": {"python": []},
    "data": [],
    "assets": {
        "web.assets_tests": [
            "ipai_waf_assessment_gateway/static/tests/tours/*.js",
        ],
    },
    "auto_install": True,
    "installable": True,
}
