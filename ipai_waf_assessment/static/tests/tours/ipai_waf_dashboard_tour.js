import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

// The app opens on the dashboard; its panels are real graph and pivot views.
registry.category("web_tour.tours").add("ipai_waf_dashboard_tour", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            trigger: '.o_app[data-menu-xmlid="ipai_well_architected.menu_root"]',
            run: "click",
        },
        { trigger: ".o_waf_dashboard .o_waf_dashboard_panel .o_graph_renderer canvas" },
        { trigger: ".o_waf_dashboard .o_pivot table .o_pivot_cell_value" },
        {
            trigger: ".o_waf_dashboard_open:contains(Open risks)",
            run: "click",
        },
        { trigger: ".o_action_manager .o_pivot:not(.o_waf_dashboard *)" },
    ],
});
