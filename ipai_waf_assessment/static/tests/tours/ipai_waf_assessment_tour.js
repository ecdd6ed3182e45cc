import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

const REPORT = [
    "# Tour workload",
    "",
    "## Tour Resilience (Score: 80/100)",
    "",
    "| Component | Status | Evidence |",
    "|---|---|---|",
    "| Tour backups | ✅ Implemented | nightly |",
    "| Tour failover | ❌ Missing | none |",
].join("\n");

registry.category("web_tour.tours").add("ipai_waf_assessment_tour", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            trigger: '.o_app[data-menu-xmlid="ipai_well_architected.menu_root"]',
            run: "click",
        },
        {
            trigger: 'button[data-menu-xmlid="ipai_waf_assessment.menu_assessment_root"]',
            run: "click",
        },
        {
            trigger: 'a[data-menu-xmlid="ipai_waf_assessment.ipai_waf_import_wizard_menu"]',
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name=name] input",
            run: "edit Tour assessment",
        },
        {
            trigger: ".modal .o_field_widget[name=content] textarea",
            async run(helpers) {
                await helpers.edit(REPORT);
            },
        },
        {
            // the preview first: nothing is written yet
            trigger: ".modal button[name=action_preview]",
            run: "click",
        },
        {
            trigger: ".modal .o_waf_import_preview:contains(Findings per pillar):contains(Tour Resilience (2))",
        },
        {
            // change one match: the failover row goes to the checked control
            trigger: ".modal .o_field_widget[name=line_ids] .o_data_row:contains(Tour failover) td[name=control_id]",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name=line_ids] .o_data_row:contains(Tour failover) td[name=control_id] input",
            run: "edit Tour database",
        },
        {
            trigger: ".o-autocomplete--dropdown-item .dropdown-item:contains(Tour database manager hidden)",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name=line_ids] .o_data_row:contains(Tour failover) td[name=control_id] input:value(Tour database manager hidden)",
        },
        {
            trigger: ".modal button[name=action_import]",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name=warnings]",
        },
        {
            trigger: ".modal button[name=action_open_assessment]",
            run: "click",
        },
        {
            trigger: ".o_form_view .o_field_widget[name=finding_ids] .o_data_row",
        },
        {
            trigger: ".o_form_view .o_field_widget[name=finding_ids] .o_data_row:contains(Tour database manager hidden)",
        },
        {
            trigger: ".o_form_view button[name=action_run_checks]",
            run: "click",
        },
        {
            // progress: n of m checks done, then the assessment is done
            trigger: ".o_waf_check_progress:contains( of ):contains(done)",
        },
        {
            trigger: ".o_statusbar_status button.o_arrow_button_current[data-value=done]",
        },
        {
            trigger: ".o_notebook a[name=scores]",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=pillar_score_ids] .o_data_row:contains(Tour Resilience)",
        },
        {
            trigger: ".o_notebook a[name=findings]",
            run: "click",
        },
        {
            trigger: ".o_form_view button[name=action_open_findings]",
            run: "click",
        },
        {
            // the findings, grouped by pillar
            trigger: ".o_list_view .o_group_header:contains(Tour Resilience)",
        },
    ],
});
