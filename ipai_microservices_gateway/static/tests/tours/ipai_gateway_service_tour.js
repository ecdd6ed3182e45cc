import { rpc } from "@web/core/network/rpc";
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("ipai_gateway_service_tour", {
    steps: () => [
        {
            content: "Create a service",
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=name] input",
            run: "edit Tour service",
        },
        {
            trigger: ".o_field_widget[name=code] input",
            run: "edit tour_svc",
        },
        {
            content: "Point it at the test's loopback server",
            trigger: ".o_field_widget[name=base_url] input",
            async run(actions) {
                const url = await rpc("/web/dataset/call_kw/ir.config_parameter/get_param", {
                    model: "ir.config_parameter",
                    method: "get_param",
                    args: ["ipai_microservices_gateway.tour_base_url"],
                    kwargs: {},
                });
                await actions.edit(url);
            },
        },
        {
            trigger: ".o_field_widget[name=auth_type] .o_select_menu_toggler",
            run: "click",
        },
        {
            trigger: ".o_select_menu_item:contains(Bearer token)",
            run: "click",
        },
        {
            content: "Set the secret (write-only)",
            trigger: ".o_field_widget[name=token] input",
            run: "edit tour-token-123",
        },
        {
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "The form says the secret is set, never shows it",
            trigger: ".o_field_widget[name=secret_status]:contains(Set)",
        },
        {
            trigger: "button[name=action_test_connection]",
            run: "click",
        },
        {
            content: "The result is shown",
            trigger: ".o_notification:contains(HTTP 200)",
        },
    ],
});
