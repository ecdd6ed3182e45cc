# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""The roadmap of an assessment as project work.

"Create project tasks" makes one task per recommendation in the workload's project
(created on the first click): the phase becomes a project milestone (its deadline counted
from the assessment's date), dependencies become task dependencies, the owner the assignee
and the effort the allocated hours. A second click updates the same tasks: the link is a
field of the task, unique, so a task is never made twice for one recommendation.

Nothing here writes the assessment or its recommendations, which is why a frozen
milestone's roadmap can be planned too; the task -> recommendation state sync
(``project.task._ipai_waf_sync_recommendations``) leaves frozen milestones alone.
"""

from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.fields import Command

PHASE_DAYS = {"0_30": 30, "30_60": 60, "60_90": 90, "later": None}
DEFAULT_HOURS_PER_DAY = 8.0


class IpaiWafAssessment(models.Model):
    _inherit = "ipai.waf.assessment"

    project_task_count = fields.Integer(
        compute="_compute_project_task_count", groups="project.group_project_user")

    @api.depends("recommendation_ids")
    def _compute_project_task_count(self):
        Task = self.env["project.task"].with_context(active_test=False)
        counts = dict(Task._read_group(
            [("ipai_waf_recommendation_id.assessment_id", "in", self.ids)],
            ["ipai_waf_recommendation_id"], ["__count"]))
        for rec in self:
            rec.project_task_count = sum(
                n for r, n in counts.items() if r.assessment_id == rec)

    # ------------------------------------------------------------------ actions
    def action_create_project_tasks(self):
        """One task per recommendation in the workload's project; updates them on the
        next click. Returns the action that opens the tasks."""
        self.ensure_one()
        if not self.env.user.has_group("project.group_project_user"):
            raise AccessError(self.env._(
                "Creating project tasks needs the Project / User access right."))
        recs = self.recommendation_ids
        if not recs:
            raise UserError(self.env._(
                "%s has no recommendations: there is no roadmap to plan.", self.display_name))
        project = self._ipai_waf_project()
        milestones = self._ipai_waf_milestones(project, recs)
        Task = self.env["project.task"].with_context(active_test=False, mail_create_nolog=True)
        tasks = {t.ipai_waf_recommendation_id: t for t in Task.search(
            [("ipai_waf_recommendation_id", "in", recs.ids)])}
        stages = project.type_ids.sorted(lambda s: (s.sequence, s.id))
        hours = self.company_id.resource_calendar_id.hours_per_day or DEFAULT_HOURS_PER_DAY
        created, updated = 0, 0
        to_create = []
        for rec in recs:
            vals = {
                "name": rec.title,
                "milestone_id": milestones[rec.phase].id,
                "allocated_hours": (rec.effort_days or 0.0) * hours,
            }
            if rec.owner_id:
                vals["user_ids"] = [Command.set(rec.owner_id.ids)]
            if rec in tasks:
                tasks[rec].write(vals)
                updated += 1
                continue
            vals.setdefault("user_ids", [Command.clear()])  # no owner: nobody, not the clicker
            vals.update({
                "project_id": project.id,
                "ipai_waf_recommendation_id": rec.id,
                "priority": "1" if rec.priority in ("P0", "P1") else "0",
                "description": self._ipai_waf_task_description(rec),
            })
            if rec.state == "doing" and len(stages) > 1:
                vals["stage_id"] = stages[1].id
            elif stages:
                vals["stage_id"] = stages[0].id
            if rec.state == "done":
                vals["state"] = "1_done"
            elif rec.state == "dropped":
                vals["state"] = "1_canceled"
            to_create.append((rec, vals))
        for rec, task in zip(
                [r for r, _v in to_create],
                Task.create([v for _r, v in to_create]), strict=True):
            tasks[rec] = task
            created += 1
        skipped = self._ipai_waf_link_dependencies(recs, tasks)
        body = Markup("%s") % self.env._(
            "Project tasks in %(project)s: %(created)s created, %(updated)s updated.",
            project=project.display_name, created=created, updated=updated)
        for rec, dep in skipped:
            body += Markup("<br/>") + self.env._(
                "%(rec)s depends on %(dep)s, which already depends on it: that dependency "
                "is left out of the tasks (a task cannot wait for itself).",
                rec=rec.title, dep=dep.title)
        self.message_post(body=body)
        return self.action_open_project_tasks()

    def action_open_project_tasks(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window", "name": self.env._("Project tasks"),
            "res_model": "project.task", "view_mode": "list,kanban,form",
            "domain": [("ipai_waf_recommendation_id.assessment_id", "=", self.id)],
            "context": {"group_by": ["milestone_id"]},
        }

    # ------------------------------------------------------------------ helpers
    def _ipai_waf_project(self):
        """The workload's project, created with milestones and dependencies on."""
        self.ensure_one()
        key = (self.workload or self.name or "").strip()
        Project = self.env["project.project"]
        project = Project.search([
            ("ipai_waf_workload", "=", key),
            ("company_id", "in", [self.company_id.id, False]),
        ], order="id", limit=1)
        # sudo: an assessor with Project / User rights plans the roadmap in the workload's
        # project, which only a project manager may create or configure (as sale_project
        # creates the project of a sale order); the project is visible to all internal
        # users (Odoo's default visibility) and nothing else is done under sudo.
        if not project:
            project = Project.sudo().create({
                "name": key, "ipai_waf_workload": key, "company_id": self.company_id.id,
                "allow_milestones": True, "allow_task_dependencies": True,
                "type_ids": [Command.create({"name": name, "sequence": seq, "fold": fold})
                             for seq, (name, fold) in enumerate(self._ipai_waf_stages(), 1)],
            })
            return project.sudo(False)
        missing = {f: True for f in ("allow_milestones", "allow_task_dependencies")
                   if not project[f]}
        if missing:
            project.sudo().write(missing)
        return project

    def _ipai_waf_stages(self):
        """Stages of a project made here: the first is "to do", the others "in progress"."""
        return [(self.env._("To Do"), False), (self.env._("In Progress"), False),
                (self.env._("Done"), True)]

    def _ipai_waf_milestones(self, project, recs):
        """``{phase: project.milestone}`` for the phases ``recs`` use."""
        self.ensure_one()
        Milestone = self.env["project.milestone"]
        existing = {m.ipai_waf_phase: m for m in Milestone.search([
            ("project_id", "=", project.id), ("ipai_waf_assessment_id", "=", self.id)])}
        labels = dict(recs._fields["phase"]._description_selection(self.env))
        order = list(PHASE_DAYS)
        out = {}
        for phase in sorted(set(recs.mapped("phase")), key=order.index):
            days = PHASE_DAYS[phase]
            vals = {
                "name": self.env._("%(assessment)s: %(phase)s", assessment=self.name,
                                   phase=labels.get(phase, phase)),
                "deadline": self.date + timedelta(days=days) if days else False,
                "sequence": order.index(phase) + 1,
            }
            if phase in existing:
                existing[phase].write(vals)
                out[phase] = existing[phase]
            else:
                out[phase] = Milestone.create(dict(
                    vals, project_id=project.id, ipai_waf_assessment_id=self.id,
                    ipai_waf_phase=phase))
        return out

    def _ipai_waf_link_dependencies(self, recs, tasks):
        """Set each task's "Blocked by" from its recommendation's dependencies.

        Project refuses cyclic dependencies; a report may state one (A after B, B after
        A). The edge that would close a cycle is left out and returned as ``(rec, dep)``.
        """
        Task = self.env["project.task"]
        dep_tasks = {t.ipai_waf_recommendation_id: t for t in Task.with_context(
            active_test=False).search([
                ("ipai_waf_recommendation_id", "in", recs.depends_on_ids.ids)])}
        dep_tasks.update(tasks)
        graph = {}  # task id -> ids it waits for (within this roadmap)
        skipped = []

        def reaches(start, goal):
            stack, seen = [start], set()
            while stack:
                node = stack.pop()
                if node == goal:
                    return True
                if node not in seen:
                    seen.add(node)
                    stack.extend(graph.get(node, ()))
            return False

        wanted = {}
        for rec in recs:
            task = tasks[rec]
            wanted[task] = Task
            for dep in rec.depends_on_ids:
                dep_task = dep_tasks.get(dep)
                if not dep_task or dep_task == task:
                    continue
                if reaches(dep_task.id, task.id):
                    skipped.append((rec, dep))
                    continue
                graph.setdefault(task.id, set()).add(dep_task.id)
                wanted[task] |= dep_task
        # Remove first, then add: a roadmap whose dependencies changed between two
        # clicks never holds a cycle on the way.
        for task, deps in wanted.items():
            if task.depend_on_ids - deps:
                task.depend_on_ids = [Command.set((task.depend_on_ids & deps).ids)]
        for task, deps in wanted.items():
            if deps - task.depend_on_ids:
                task.depend_on_ids = [Command.set(deps.ids)]
        return skipped

    def _ipai_waf_task_description(self, rec):
        lines = [
            (self.env._("Assessment"), self.display_name),
            (self.env._("Priority"), rec.priority),
            (self.env._("Pillars"), ", ".join(rec.pillar_ids.mapped("display_name")) or "-"),
            (self.env._("Effort (days)"), f"{rec.effort_days:g}"),
            (self.env._("Expected gain (points)"), f"{rec.expected_gain:g}"),
        ]
        return Markup("<ul>%s</ul>") % Markup("").join(
            Markup("<li><b>%s:</b> %s</li>") % (label, value) for label, value in lines)
