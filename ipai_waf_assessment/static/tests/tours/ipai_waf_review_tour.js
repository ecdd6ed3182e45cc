import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

const openThisOdoo = () => [
    stepUtils.showAppsMenuItem(),
    {
        trigger: '.o_app[data-menu-xmlid="ipai_well_architected.menu_root"]',
        run: "click",
    },
    { trigger: ".o_waf_dashboard .o_waf_dashboard_panel" },
    {
        trigger: '.o_menu_sections [data-menu-xmlid="ipai_waf_assessment.menu_assessment_root"]',
        run: "click",
    },
    {
        trigger: '.dropdown-item[data-menu-xmlid="ipai_waf_assessment.ipai_waf_assessment_menu"]',
        run: "click",
    },
    {
        trigger: ".o_kanban_record:contains(This Odoo):has(.o_waf_milestone:contains(Milestone 2))",
        run: "click",
    },
    { trigger: ".o_breadcrumb .active:contains(This Odoo)" },
];

// An assessor opens the dashboard, then "This Odoo" and one of its findings, and sends
// the assessment to review.
registry.category("web_tour.tours").add("ipai_waf_review_assessor_tour", {
    url: "/odoo",
    steps: () => [
        ...openThisOdoo(),
        { trigger: ".o_notebook .nav-link:contains(Findings)", run: "click" },
        {
            trigger: ".o_field_widget[name=finding_ids] .o_data_row:first .o_list_record_open_form_view",
            run: "click",
        },
        // the finding's own page: its chatter takes the review's comments and files
        // the thread is loaded (a click before that can be lost in the chatter's reload)
        {
            trigger: ".o-mail-Chatter .o-mail-Thread:has(.o-mail-Message), " +
                ".o-mail-Chatter .o-mail-Thread:contains(The conversation is empty)",
        },
        // The chatter can render once more after the form opened from the list; a click
        // on the rendering that goes away is lost, so click until the composer shows.
        {
            trigger: ".o_form_view .o-mail-Chatter-topbar button.o-mail-Chatter-logNote",
            async run() {
                const composer = () =>
                    document.querySelector(".o-mail-Chatter .o-mail-Composer-input");
                const pause = () => new Promise((resolve) => setTimeout(resolve, 200));
                for (let attempt = 0; attempt < 5 && !composer(); attempt++) {
                    document
                        .querySelector(".o-mail-Chatter-topbar button.o-mail-Chatter-logNote")
                        .click();
                    for (let i = 0; i < 10 && !composer(); i++) {
                        await pause();
                    }
                }
            },
        },
        {
            trigger: ".o-mail-Chatter .o-mail-Composer-input",
            run: "edit Restore drill passed: 14 min RTO (log attached, times in CET)",
        },
        { trigger: ".o-mail-Chatter .o-mail-Composer-send:enabled", run: "click" },
        { trigger: ".o-mail-Message:contains(Restore drill passed: 14 min RTO)" },
        // a file as evidence, as the chatter's paperclip uploads it
        {
            trigger: ".o_form_view .o-mail-Chatter-topbar button.o-mail-Chatter-attachFiles",
            run() {
                const input = document.querySelector(".o-mail-Chatter input[type=file]");
                const files = new DataTransfer();
                files.items.add(new File(["RTO 14 min\n"], "restore-drill.log",
                                         { type: "text/plain" }));
                input.files = files.files;
                input.dispatchEvent(new Event("change", { bubbles: true }));
            },
        },
        { trigger: ".o-mail-Chatter .o-mail-AttachmentCard:contains(restore-drill.log)" },
        { trigger: ".o_breadcrumb .breadcrumb-item a:contains(This Odoo)", run: "click" },
        { trigger: ".o_field_widget[name=reviewer_id] input", run: "edit Marge" },
        { trigger: ".o-autocomplete--dropdown-item:contains(Marge Reviewer)", run: "click" },
        { trigger: "button[name=action_send_to_review]", run: "click" },
        { trigger: ".o_waf_review_state:contains(In review)" },
    ],
});

// The reviewer, an Assessment Manager, approves with conditions.
registry.category("web_tour.tours").add("ipai_waf_review_manager_tour", {
    url: "/odoo",
    steps: () => [
        ...openThisOdoo(),
        { trigger: ".o_form_view .o_form_statusbar button:contains(Approve)", run: "click" },
        { trigger: ".modal .o_field_widget[name=decision] input[data-value=go_with_conditions]", run: "click" },
        { trigger: ".modal .o_field_widget[name=reasons] textarea", run: "edit Rotate the admin passwords before go-live." },
        { trigger: ".modal footer button:contains(Approve)", run: "click" },
        { trigger: ".o_waf_review_state:contains(Approved)" },
    ],
});
