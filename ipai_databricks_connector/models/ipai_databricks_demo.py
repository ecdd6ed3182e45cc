from odoo import Command, api, models

from ..lakehouse import demo


class IpaiDatabricksDemo(models.AbstractModel):
    _name = "ipai.databricks.demo"
    _description = "Databricks demo retail dataset"

    @api.model
    def _load_demo_dataset(self, workspace=None, **generate_kw):
        """Generate the demo lakehouse and the jobs, views and rules over it (idempotent).

        Used by ``./suite demo`` (and ``./suite run`` on a new database)."""
        ws = workspace or self._demo_workspace()
        lake = ws._lakehouse()
        demo.generate_retail_dataset(lake, **generate_kw)
        Job = self.env["ipai.databricks.job"].with_context(active_test=False)
        jobs = {}
        for step in demo.STEPS:
            vals = {"name": step["name"], "code": step["code"], "workspace_id": ws.id,
                    "layer": step["layer"], "sql": step["sql"], "target_table": step["target"],
                    "upstream_ids": [Command.set([jobs[c].id for c in step["upstream"]])]}
            job = Job.search([("workspace_id", "=", ws.id), ("code", "=", step["code"])], limit=1)
            if job:
                job.write(vals)
            else:
                job = Job.create(vals)
            jobs[step["code"]] = job
        View = self.env["ipai.databricks.view"].with_context(active_test=False)
        views = View
        for spec in demo.DEMO_VIEWS:
            view = View.search([("code", "=", spec["code"])], limit=1)
            vals = {"name": spec["name"], "workspace_id": ws.id, "source": spec["source"],
                    "freshness_slo_hours": spec.get("freshness_slo_hours", 24.0),
                    "schedule": "daily", "user_id": self.env.ref("base.user_admin").id}
            if spec.get("watermark"):
                vals["watermark_column"] = spec["watermark"]
            if view:
                view.write(vals)
            else:
                view = View.create(dict(vals, code=spec["code"]))
            views |= view
        Rule = self.env["ipai.databricks.quality.rule"]
        for spec in demo.DEMO_RULES:
            target = {}
            view = views.filtered(lambda v, s=spec: v.code == s.get("view"))
            if view:
                target["view_id"] = view.id
            else:
                target["table_name"] = spec["table"]
            name = spec.get("name") or f"{spec['kind']} {spec.get('column') or ''}".strip()
            vals = dict(target, name=name, layer=spec["layer"], kind=spec["kind"],
                        column=spec.get("column"), severity=spec["severity"],
                        workspace_id=ws.id, **self._rule_params(spec))
            existing = Rule.search([(k, "=", v) for k, v in target.items()]
                                   + [("name", "=", name)], limit=1)
            if existing:
                existing.write(vals)
            else:
                Rule.create(vals)
        # One recorded run per step, in order, so the Jobs menu shows real history
        # and the table rules record results.
        for job in jobs.values():
            run = self.env["ipai.databricks.job.run"].create({"job_id": job.id,
                                                               "trigger": "manual"})
            run.with_context(ipai_dbx_no_downstream=True)._job_run()
        for view in views:
            if not view.model_id:
                view._create_model(view._fetch_schema())
            view._refresh_now(mode="full")
        return views

    @api.model
    def _rule_params(self, spec):
        params = spec.get("params") or {}
        kind = spec["kind"]
        if kind == "between":
            return {"min_value": params.get("min", 0.0), "max_value": params.get("max", 0.0)}
        if kind == "accepted_values":
            return {"accepted_values": ",".join(str(v) for v in params.get("values", []))}
        if kind == "regex":
            return {"pattern": params.get("pattern")}
        if kind == "min_row_count":
            return {"min_rows": params.get("min", 1)}
        if kind == "freshness":
            return {"max_age_hours": params.get("max_age_hours", 24.0)}
        return {}

    @api.model
    def _demo_workspace(self):
        ws = self.env.ref("ipai_databricks_connector.workspace_local_demo",
                          raise_if_not_found=False)
        if ws:
            return ws
        ws = self.env["ipai.databricks.workspace"].create({
            "name": self.env._("Local lakehouse (demo)"), "backend": "local"})
        self.env["ir.model.data"].create({
            "module": "ipai_databricks_connector", "name": "workspace_local_demo",
            "model": ws._name, "res_id": ws.id, "noupdate": True})
        return ws
