import { registry } from "@web/core/registry";

// The dashboard shows the gateway's breakers as a figure panel: the open one is named,
// in red; the panel's title opens the services.
const panel = ".o_waf_dashboard_figures[data-panel=gateway_breakers]";
registry.category("web_tour.tours").add("ipai_waf_dashboard_breakers_tour", {
    url: "/odoo/well-architected",
    steps: () => [
        { trigger: `${panel} .card-header:contains(Gateway circuit breakers)` },
        { trigger: `${panel} tr:contains(Open) .badge.text-bg-danger:contains(1)` },
        { trigger: `${panel} tr:contains(Tour zebra) .badge.text-bg-danger:contains(Open)` },
        { trigger: `${panel} a.o_waf_dashboard_open`, run: "click" },
        { trigger: ".o_list_view .o_data_row:contains(Tour zebra)" },
    ],
});
