/** @odoo-module **/
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
/**
 * The Well-Architected dashboard: a board of standard Odoo views (graph, pivot), one per
 * window action named in the client action's params.panels. Each panel is an ordinary
 * action a user can also open full screen (its title), the way Odoo's "board" module
 * shows saved views, without that module's dependency on spreadsheets.
 *
 * Below them, figure panels (title + rows of label / value / state) from
 * ipai.waf.assessment.get_dashboard_data(): modules add theirs in Python by extending
 * _dashboard_panels() (the gateway bridge: breakers; the Databricks bridge: freshness).
 */
import { Component, onWillStart } from "@odoo/owl";
import { makeContext } from "@web/core/context";
import { Domain } from "@web/core/domain";
import { rpc } from "@web/core/network/rpc";
import { registry } from "@web/core/registry";
import { user } from "@web/core/user";
import { useService } from "@web/core/utils/hooks";
import { View } from "@web/views/view";

export class WafDashboard extends Component {
    static template = "ipai_waf_assessment.WafDashboard";
    static components = { View };
    static props = ["*"];

    setup() {
        this.actionService = useService("action");
        this.orm = useService("orm");
        this.panels = [];
        this.figures = [];
        onWillStart(async () => {
            const refs = this.props.action.params?.panels || [];
            const [data, ...actions] = await Promise.all([
                this.orm.call("ipai.waf.assessment", "get_dashboard_data", []),
                ...refs.map((ref) => rpc("/web/action/load", { action_id: ref })),
            ]);
            this.panels = actions.filter(Boolean).map((action) => this.panel(action));
            this.figures = data.panels || [];
        });
    }

    panel(action) {
        const [viewId, type] = action.views[0];
        const search = action.views.find((v) => v[1] === "search");
        const form = action.views.find((v) => v[1] === "form");
        const context = makeContext([action.context || {}, { lang: user.context.lang }]);
        const props = {
            resModel: action.res_model,
            type,
            views: [
                [viewId || false, type],
                [(search && search[0]) || false, "search"],
            ],
            context,
            // the action holds its domain as text; the view wants a list
            domain: new Domain(action.domain || []).toList({ ...user.context, ...context }),
            display: { controlPanel: false },
            selectRecord: (resId) =>
                this.actionService.doAction({
                    type: "ir.actions.act_window",
                    res_model: action.res_model,
                    views: [[(form && form[0]) || false, "form"]],
                    res_id: resId,
                }),
        };
        if (viewId) {
            props.viewId = viewId;
        }
        if (context.group_by) {
            props.groupBy = [].concat(context.group_by);
        }
        return { id: action.id, title: action.name, help: action.help, props };
    }

    open(panel) {
        this.actionService.doAction(panel.id);
    }

    openFigures(figure) {
        if (figure.action) {
            this.actionService.doAction(figure.action);
        }
    }
}

registry.category("actions").add("ipai_waf_dashboard", WafDashboard);
