# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from datetime import date, timedelta

from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestProjectTasks(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.planner = new_test_user(
            cls.env, "waf_planner", name="Wafa Planner",
            groups="ipai_waf_assessment.assessment_group_user,project.group_project_user")
        cls.owner = new_test_user(
            cls.env, "waf_owner", name="Ödön Owner", groups="project.group_project_user")
        cls.assessment = cls.env["ipai.waf.assessment"].with_user(cls.planner).create({
            "name": "Ledger Q3 review", "workload": "  Ledger ÉRP (prod) ",
            "date": date(2026, 7, 1),
        })
        Rec = cls.env["ipai.waf.recommendation"].with_user(cls.planner)
        cls.r_backup, cls.r_mfa, cls.r_dr, cls.r_docs = Rec.create([
            {"assessment_id": cls.assessment.id, "title": "Turn on PITR backups",
             "phase": "0_30", "priority": "P0", "effort_days": 2.5,
             "owner_id": cls.owner.id},
            {"assessment_id": cls.assessment.id, "title": "Enforce MFA for admins",
             "phase": "0_30", "priority": "P1", "effort_days": 0.5},
            {"assessment_id": cls.assessment.id, "title": "Cross-region DR drill",
             "phase": "60_90", "priority": "P2", "effort_days": 4},
            {"assessment_id": cls.assessment.id, "title": "Runbook clean-up",
             "phase": "later", "priority": "P3", "effort_days": 0},
        ])
        cls.r_dr.depends_on_ids = [(6, 0, (cls.r_backup | cls.r_mfa).ids)]

    def _click(self, assessment=None):
        assessment = (assessment or self.assessment).with_user(self.planner)
        return assessment.action_create_project_tasks()

    def _tasks(self, assessment=None):
        return self.env["project.task"].with_context(active_test=False).search(
            [("ipai_waf_recommendation_id.assessment_id", "=",
              (assessment or self.assessment).id)])

    def _task(self, rec):
        return self.env["project.task"].search([("ipai_waf_recommendation_id", "=", rec.id)])

    def test_one_task_per_recommendation_in_the_workloads_project(self):
        action = self._click()
        tasks = self._tasks()
        self.assertEqual(len(tasks), 4)
        self.assertEqual(action["res_model"], "project.task")
        self.assertEqual(self.env["project.task"].search(action["domain"]), tasks)
        project = tasks.project_id
        self.assertEqual(len(project), 1)
        self.assertEqual(project.name, "Ledger ÉRP (prod)")
        self.assertTrue(project.allow_task_dependencies)
        self.assertTrue(project.allow_milestones)
        self.assertEqual(self._task(self.r_backup).name, "Turn on PITR backups")
        self.assertEqual(self.assessment.with_user(self.planner).project_task_count, 4)
        self.assertEqual(self.r_backup.with_user(self.planner).task_id, self._task(self.r_backup))

    def test_phases_become_milestones_with_deadlines(self):
        self._click()
        milestones = self._tasks().milestone_id
        self.assertEqual(len(milestones), 3, "one milestone per phase used (0-30, 60-90, later)")
        by_task = {rec: self._task(rec).milestone_id for rec in
                   (self.r_backup, self.r_mfa, self.r_dr, self.r_docs)}
        self.assertEqual(by_task[self.r_backup], by_task[self.r_mfa])
        self.assertIn("0-30 days", by_task[self.r_backup].name)
        self.assertEqual(by_task[self.r_backup].deadline, date(2026, 7, 1) + timedelta(days=30))
        self.assertEqual(by_task[self.r_dr].deadline, date(2026, 7, 1) + timedelta(days=90))
        self.assertFalse(by_task[self.r_docs].deadline, "'Later' has no deadline")
        self.assertEqual(milestones.project_id, self._tasks().project_id)

    def test_dependencies_owner_and_effort(self):
        self._click()
        dr = self._task(self.r_dr)
        self.assertEqual(dr.depend_on_ids, self._task(self.r_backup) | self._task(self.r_mfa))
        self.assertEqual(dr.state, "04_waiting_normal", "blocked by two open tasks")
        backup = self._task(self.r_backup)
        self.assertEqual(backup.user_ids, self.owner)
        hours = self.env.company.resource_calendar_id.hours_per_day or 8.0
        self.assertAlmostEqual(backup.allocated_hours, 2.5 * hours)
        self.assertAlmostEqual(self._task(self.r_mfa).allocated_hours, 0.5 * hours)
        self.assertFalse(self._task(self.r_mfa).user_ids, "no owner, no assignee")

    def test_second_click_updates_the_same_tasks(self):
        self._click()
        before = {rec: self._task(rec) for rec in self.assessment.recommendation_ids}
        milestones = self._tasks().milestone_id
        self.r_backup.write({"effort_days": 5, "owner_id": self.planner.id, "phase": "30_60"})
        self.r_dr.depends_on_ids = [(3, self.r_mfa.id)]
        new = self.env["ipai.waf.recommendation"].create({
            "assessment_id": self.assessment.id, "title": "Turn on PITR backups",
            "phase": "0_30"})  # same title on purpose: it is another recommendation
        self._click()
        self._click()
        tasks = self._tasks()
        self.assertEqual(len(tasks), 5)
        for rec, task in before.items():
            self.assertEqual(self._task(rec), task, f"{rec.title}: same task")
        backup = before[self.r_backup]
        hours = self.env.company.resource_calendar_id.hours_per_day or 8.0
        self.assertAlmostEqual(backup.allocated_hours, 5 * hours)
        self.assertEqual(backup.user_ids, self.planner)
        self.assertIn("30-60 days", backup.milestone_id.name)
        self.assertEqual(before[self.r_dr].depend_on_ids, backup)
        self.assertTrue(self._task(new))
        # milestones are reused per phase, one more for the new phase
        self.assertEqual(len(tasks.milestone_id), 4)
        self.assertLessEqual(len(milestones), len(tasks.milestone_id))
        self.assertEqual(len(self.env["project.milestone"].search(
            [("project_id", "=", tasks.project_id.id)])), 4)

    def test_recommendation_state_follows_its_task(self):
        self._click()
        backup = self._task(self.r_backup).with_user(self.owner)  # a project user, no assessor
        stages = backup.project_id.type_ids.sorted("sequence")
        self.assertEqual(self.r_backup.state, "todo")
        backup.stage_id = stages[1]
        self.assertEqual(self.r_backup.state, "doing")
        backup.state = "1_done"
        self.assertEqual(self.r_backup.state, "done")
        backup.write({"state": "01_in_progress", "stage_id": stages[0].id})
        self.assertEqual(self.r_backup.state, "todo", "reopened in the first stage")
        self._task(self.r_docs).state = "1_canceled"
        self.assertEqual(self.r_docs.state, "dropped")
        # the dependent task is released when both blockers are closed
        self._task(self.r_backup).state = "1_done"
        self._task(self.r_mfa).state = "1_done"
        self.assertEqual(self._task(self.r_dr).state, "01_in_progress")
        self.assertEqual(self.r_dr.state, "todo")

    def test_closing_a_recommendation_closes_its_task(self):
        self._click()
        self.r_backup.state = "done"
        self.assertEqual(self._task(self.r_backup).state, "1_done")
        self.r_docs.state = "dropped"
        self.assertEqual(self._task(self.r_docs).state, "1_canceled")
        self.r_backup.state = "doing"  # reopened in the assessment
        self.assertEqual(self._task(self.r_backup).state, "01_in_progress")
        self.assertEqual(self.r_backup.state, "doing", "the task does not push it back")

    def test_done_and_dropped_recommendations_make_closed_tasks(self):
        self.r_mfa.state = "done"
        self.r_docs.state = "dropped"
        self.r_dr.state = "doing"
        self._click()
        self.assertEqual(self._task(self.r_mfa).state, "1_done")
        self.assertEqual(self._task(self.r_docs).state, "1_canceled")
        dr = self._task(self.r_dr)
        self.assertNotEqual(dr.stage_id, dr.project_id.type_ids.sorted("sequence")[:1])
        self.assertEqual(self.r_dr.state, "doing")

    def test_frozen_milestone_plans_tasks_without_writing_the_milestone(self):
        self.assessment.action_freeze()
        recs = self.assessment.recommendation_ids
        stamps = {rec.id: (rec.write_date, rec.state) for rec in recs}
        self._click()
        self._click()
        self.assertEqual(len(self._tasks()), 4)
        task = self._task(self.r_backup).with_user(self.owner)
        task.state = "1_done"  # must not be refused by the frozen guard
        self.assertEqual(task.state, "1_done")
        recs.invalidate_recordset()
        self.assertEqual({rec.id: (rec.write_date, rec.state) for rec in recs}, stamps)
        self.assertTrue(self.assessment.frozen)

    def test_cyclic_dependencies_in_a_report_do_not_block(self):
        self.r_backup.depends_on_ids = [(6, 0, self.r_dr.ids)]  # DR after backup, backup after DR
        self._click()
        backup, dr = self._task(self.r_backup), self._task(self.r_dr)
        # the backup comes first in the roadmap: its dependency is kept, the one that
        # would close the cycle is left out
        self.assertEqual(backup.depend_on_ids, dr)
        self.assertEqual(dr.depend_on_ids, self._task(self.r_mfa))
        self.assertIn("which already depends on it", self.assessment.message_ids[0].body)

    def test_next_milestone_of_the_workload_uses_the_same_project(self):
        self._click()
        second = self.env["ipai.waf.assessment"].with_user(self.planner).create({
            "name": "Ledger Q4 review", "workload": self.assessment.workload,
            "date": date(2026, 10, 1)})
        rec = self.env["ipai.waf.recommendation"].create({
            "assessment_id": second.id, "title": "Rotate keys", "phase": "0_30"})
        self._click(second)
        self.assertEqual(self._task(rec).project_id, self._tasks().project_id)
        self.assertEqual(self._task(rec).milestone_id.deadline, date(2026, 10, 31))
        self.assertNotEqual(self._task(rec).milestone_id, self._task(self.r_backup).milestone_id)

    def test_assessor_without_project_rights_is_refused(self):
        assessor = new_test_user(self.env, "waf_no_project",
                                 groups="ipai_waf_assessment.assessment_group_user")
        with self.assertRaises(AccessError):
            self.assessment.with_user(assessor).action_create_project_tasks()
        self.assertFalse(self._tasks())
