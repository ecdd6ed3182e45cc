import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

registry.category("web_tour.tours").add("ipai_databricks_view_tour", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            trigger: '.o_app[data-menu-xmlid="ipai_well_architected.menu_root"]',
            run: "click",
        },
        {
            trigger: 'button[data-menu-xmlid="ipai_databricks_connector.menu_databricks_root"]',
            run: "click",
        },
        {
            trigger: 'a[data-menu-xmlid="ipai_databricks_connector.menu_databricks_views"]',
            run: "click",
        },
        {
            content: "Open the view",
            trigger: ".o_list_view .o_data_row td:contains(Tour sales)",
            run: "click",
        },
        {
            content: "The published snapshot is version 0",
            trigger: ".o_dbx_snapshot_label:contains(As of version 0)",
        },
        {
            content: "Open its rows",
            trigger: "button[name=action_open_data]",
            run: "click",
        },
        {
            trigger: ".o_list_view .o_data_row",
        },
        {
            content: "The same rows as a pivot",
            trigger: ".o_switch_view.o_pivot",
            run: "click",
        },
        {
            content: "The pivot sums a measure of the gold table",
            trigger: ".o_pivot .o_pivot_measure_row:contains(Peso Total)",
        },
        {
            trigger: ".o_breadcrumb .breadcrumb-item a:contains(Tour sales)",
            run: "click",
        },
        {
            content: "Refresh the view",
            trigger: ".o_form_view button[name=action_refresh]",
            run: "click",
        },
        {
            content: "The new snapshot is published and fresh",
            trigger: ".o_dbx_snapshot_label:contains(As of version 1)",
        },
        {
            trigger: ".o_dbx_snapshot_label .o_dbx_freshness:contains(Fresh)",
        },
    ],
});
