# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
{
    "name": "Microservices Gateway",
    "summary": "External HTTP services: encrypted credentials, retries, shared breaker, health",
    "version": "19.0.1.1.0",
    "category": "Well-Architected",
    "author": "IPAI",
    "website": "https://github.com/ipai/well-architected-suite",
    "license": "LGPL-3",
    "depends": ["ipai_well_architected", "mail", "queue_job"],
    "external_dependencies": {"python": ["cryptography", "requests", "tenacity"]},
    "data": [
        "security/ipai_microservices_gateway_security.xml",
        "security/ir.model.access.csv",
        "data/queue_job_data.xml",
        "data/ir_cron_data.xml",
        "data/ipai_gateway_service_data.xml",
        "views/ipai_gateway_service_views.xml",
        "views/ipai_gateway_log_views.xml",
        "views/ipai_gateway_llm_views.xml",
        "views/ipai_microservices_gateway_menus.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "ipai_microservices_gateway/static/tests/tours/*.js",
        ],
    },
    "installable": True,
}
