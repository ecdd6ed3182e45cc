# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Review work on an assessment: comments and evidence on findings, owners' reminders,
and "Compare with..." between two milestones."""

import base64
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Command
from odoo.tests import Form, TransactionCase, new_test_user, tagged


class ReviewCase(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = new_test_user(cls.env, login="review_assessor", name="Réviewer Ünïcode",
                                 groups="ipai_waf_assessment.assessment_group_user")
        cls.owner = new_test_user(cls.env, login="review_owner", name="Owner Ø'Brien",
                                  groups="ipai_waf_assessment.assessment_group_user")
        cls.owner2 = new_test_user(cls.env, login="review_owner2", name="Second Owner",
                                   groups="ipai_waf_assessment.assessment_group_user")
        cls.framework = cls.env["ipai.waf.framework"].create({
            "code": "WOMBAT", "name": "Wombat framework", "version": "1",
            "pillar_ids": [
                Command.create({"code": "wres", "name": "Wombat Resilience", "weight": 1.0}),
                Command.create({"code": "wsaf", "name": "Wombat Safety", "weight": 1.0}),
            ],
        })
        cls.p_res, cls.p_saf = cls.framework.pillar_ids
        Control = cls.env["ipai.waf.control"]
        cls.controls = {
            code: Control.create({"code": code, "name": name, "pillar_id": pillar.id,
                                  "severity": "high"})
            for code, name, pillar in (
                ("W-BACKUP", "Wombat backups", cls.p_res),
                ("W-FAILOVER", "Wombat failover", cls.p_res),
                ("W-DR", "Wombat disaster recovery", cls.p_res),
                ("W-VAULT", "Wombat vault", cls.p_saf),
                ("W-LOGS", "Wombat audit logs", cls.p_saf),
                ("W-MONITOR", "Wombat monitoring", cls.p_saf),
            )
        }

    def _assessment(self, env=None, **vals):
        env = env or self.env
        return env["ipai.waf.assessment"].create(dict({
            "name": "Wombat review", "workload": "wombat-api",
            "framework_ids": [Command.set(self.framework.ids)]}, **vals))

    def _findings(self, assessment, statuses, env=None):
        env = env or self.env
        return env["ipai.waf.finding"].create([
            {"assessment_id": assessment.id, "control_id": self.controls[code].id,
             "status": status, **({"na_reason": "other"} if status == "not_applicable" else {})}
            for code, status in statuses.items()
        ])


@tagged("post_install", "-at_install")
class TestFindingComments(ReviewCase):
    def _evidence(self, finding, env, name="rls-policy.png"):
        return env["ir.attachment"].create({
            "name": name, "res_model": "ipai.waf.finding", "res_id": finding.id,
            "datas": base64.b64encode(b"\x89PNG\r\n\x1a\n fake screenshot"),
            "mimetype": "image/png",
        })

    def _commit_tracking(self):
        # Tracking messages are written at commit time (the cursor's precommit hooks).
        self.env.flush_all()
        self.env.cr.precommit.run()

    def test_a_frozen_findings_chatter_stays_open_but_its_data_does_not(self):
        env = self.env(user=self.user)
        assessment = self._assessment(env)
        finding = self._findings(assessment, {"W-BACKUP": "missing"}, env)
        assessment.action_freeze()
        self.assertTrue(assessment.frozen)
        # A reviewer comments with a screenshot as evidence: review, not data.
        evidence = self._evidence(finding, env)
        message = finding.message_post(
            body="Backups seen in the console, see screenshot — ça marche",
            message_type="comment", subtype_xmlid="mail.mt_comment",
            attachment_ids=evidence.ids)
        self.assertEqual(message.attachment_ids, evidence)
        self.assertEqual(finding.message_main_attachment_id, evidence,
                         "mail set the main attachment on the frozen finding")
        self.assertEqual(finding.message_attachment_count, 1)
        self.assertIn(self.user.partner_id, finding.message_partner_ids,
                      "the commenter follows the finding")
        finding.message_post(body="Second opinion", message_type="comment")
        self.assertEqual(len(finding.message_ids.filtered(
            lambda m: m.message_type == "comment")), 2)
        # Its data stays refused, also smuggled in with a mail field.
        for vals in ({"status": "implemented"}, {"evidence": "edited after the freeze"},
                     {"status": "implemented", "message_main_attachment_id": False}):
            with self.subTest(vals=vals), self.assertRaises(UserError):
                finding.write(vals)
        finding.invalidate_recordset()
        self.assertEqual((finding.status, finding.evidence, finding.message_main_attachment_id),
                         ("missing", False, evidence))

    def test_status_changes_are_tracked_and_the_list_counts_evidence_files(self):
        env = self.env(user=self.user)
        assessment = self._assessment(env)
        finding = self._findings(assessment, {"W-VAULT": "partial"}, env)
        self.assertFalse(finding.message_ids, "creating findings in bulk posts nothing")
        self._commit_tracking()  # as if created in an earlier request: Odoo tracks no
        # change in the transaction that created the record
        finding.write({"status": "implemented", "evidence": "Keys moved to the vault"})
        self._commit_tracking()
        finding.invalidate_recordset(["message_ids"])
        # sudo: tracking values are readable by administrators only; the test reads them.
        tracked = finding.message_ids.sudo().tracking_value_ids
        self.assertEqual(
            {(t.field_id.name, t.old_value_char, t.new_value_char) for t in tracked
             if t.field_id.name == "status"},
            {("status", "Partial", "Implemented")})
        self._evidence(finding, env, "vault-audit.pdf")
        self._evidence(finding, env, "vault-policy.json")
        rows = env["ipai.waf.finding"].search_read(
            [("assessment_id", "=", assessment.id)], ["message_attachment_count"])
        self.assertEqual([r["message_attachment_count"] for r in rows], [2])
        for xmlid in ("ipai_waf_assessment.ipai_waf_finding_view_list",
                      "ipai_waf_assessment.ipai_waf_assessment_view_form"):
            arch = env["ipai.waf.finding" if "finding" in xmlid else "ipai.waf.assessment"] \
                .get_view(self.env.ref(xmlid).id)["arch"]
            self.assertIn('name="message_attachment_count"', arch, xmlid)
        self.assertIn("W-VAULT", finding.display_name)

    def test_another_company_cannot_comment(self):
        other = self.env["res.company"].create({"name": "Wombat Other Co"})
        stranger = new_test_user(self.env, login="review_stranger", company_id=other.id,
                                 company_ids=[Command.set(other.ids)],
                                 groups="ipai_waf_assessment.assessment_group_user")
        finding = self._findings(self._assessment(), {"W-LOGS": "missing"})
        with self.assertRaises(AccessError):
            finding.with_user(stranger).message_post(body="sneaky", message_type="comment")


@tagged("post_install", "-at_install")
class TestOwnerReminders(ReviewCase):
    def _todos(self, record, active=True):
        return self.env["mail.activity"].with_context(active_test=False).search([
            ("res_model", "=", record._name), ("res_id", "=", record.id),
            ("active", "=", active)])

    def test_risk_owner_gets_one_todo_that_moves_with_the_risk(self):
        env = self.env(user=self.user)
        assessment = self._assessment(env)
        due = fields.Date.today() + timedelta(days=14)
        risk = env["ipai.waf.risk"].create({
            "assessment_id": assessment.id, "title": "Single AZ database",
            "owner_id": self.owner.id, "due_date": due, "likelihood": 4, "impact": 5})
        todo = self._todos(risk)
        self.assertEqual(len(todo), 1)
        self.assertEqual((todo.user_id, todo.date_deadline, todo.activity_type_id),
                         (self.owner, due, self.env.ref("mail.mail_activity_data_todo")))
        self.assertIn("Single AZ database", todo.summary)
        # The owner sees it among their own activities.
        self.assertIn(risk, self.env["ipai.waf.risk"].with_user(self.owner).search(
            [("activity_user_id", "=", self.owner.id)]))
        # New date, set by another assessor: the same activity moves.
        later = due + timedelta(days=30)
        risk.with_user(self.owner2).due_date = later
        self.assertEqual(self._todos(risk), todo)
        self.assertEqual(todo.date_deadline, later)
        # New owner: handed over, not duplicated; other edits leave it alone.
        risk.write({"owner_id": self.owner2.id, "mitigation": "Multi-AZ in Q3"})
        risk.title = "Single AZ database (prod)"
        self.assertEqual(self._todos(risk), todo)
        self.assertEqual(todo.user_id, self.owner2)
        # A To-Do someone adds by hand is theirs: never moved or closed by the sync.
        manual = risk.activity_schedule("mail.mail_activity_data_todo", automated=False,
                                        user_id=self.user.id, summary="Ask the DBA")
        risk.state = "mitigated"
        self.assertEqual(self._todos(risk), manual, "only the hand-made To-Do stays open")
        self.assertEqual(manual.date_deadline, fields.Date.today())

    def test_recommendation_reminder_needs_owner_and_date_and_closes_when_done(self):
        env = self.env(user=self.user)
        assessment = self._assessment(env)
        rec = env["ipai.waf.recommendation"].create({
            "assessment_id": assessment.id, "title": "Enable PITR", "owner_id": self.owner.id})
        self.assertFalse(self._todos(rec), "no due date, no reminder")
        due = fields.Date.today() + timedelta(days=3)
        rec.due_date = due
        todo = self._todos(rec)
        self.assertEqual((len(todo), todo.user_id, todo.date_deadline), (1, self.owner, due))
        rec.state = "doing"
        self.assertEqual(self._todos(rec), todo)
        rec.owner_id = False
        self.assertFalse(self._todos(rec), "no owner, no reminder")
        rec.owner_id = self.owner2
        todo = self._todos(rec)
        self.assertEqual((len(todo), todo.user_id), (1, self.owner2))
        rec.state = "done"
        self.assertFalse(self._todos(rec), "done: no open activity")
        self.assertTrue(rec.message_ids.filtered(
            lambda m: m.mail_activity_type_id == self.env.ref("mail.mail_activity_data_todo")),
            "marking done leaves the usual message in the chatter")
        rec.due_date = due + timedelta(days=1)
        self.assertFalse(self._todos(rec), "a closed item gets no new reminder")

    def test_many_items_in_one_create(self):
        env = self.env(user=self.user)
        assessment = self._assessment(env)
        due = fields.Date.today() + timedelta(days=5)
        risks = env["ipai.waf.risk"].create([
            {"assessment_id": assessment.id, "title": f"Risk {i}", "owner_id": owner.id,
             "due_date": due if i % 2 else False}
            for i, owner in enumerate([self.owner, self.owner2] * 3)])
        self.assertEqual(
            [len(self._todos(r)) for r in risks], [0, 1, 0, 1, 0, 1])
        self.assertEqual(self._todos(risks[1]).user_id, self.owner2)

    def test_overdue_open_items_are_red(self):
        env = self.env(user=self.user)
        assessment = self._assessment(env)
        yesterday = fields.Date.today() - timedelta(days=1)
        Rec = env["ipai.waf.recommendation"]
        late, done, future, undated = Rec.create([
            {"assessment_id": assessment.id, "title": "Late", "due_date": yesterday},
            {"assessment_id": assessment.id, "title": "Done late", "due_date": yesterday,
             "state": "done"},
            {"assessment_id": assessment.id, "title": "Future",
             "due_date": fields.Date.today() + timedelta(days=1)},
            {"assessment_id": assessment.id, "title": "No date"},
        ])
        self.assertEqual([r.is_overdue for r in (late, done, future, undated)],
                         [True, False, False, False])
        mine = [("assessment_id", "=", assessment.id)]
        self.assertEqual(Rec.search(mine + [("is_overdue", "=", True)]), late)
        self.assertEqual(Rec.search(mine + [("is_overdue", "=", False)]), done | future | undated)
        risk = env["ipai.waf.risk"].create([
            {"assessment_id": assessment.id, "title": "Late risk", "due_date": yesterday},
            {"assessment_id": assessment.id, "title": "Accepted", "due_date": yesterday,
             "state": "accepted"},
        ])
        self.assertEqual(risk.mapped("is_overdue"), [True, False])
        # The lists colour them: the standalone lists and the assessment form's tabs.
        for model, xmlid in (
                ("ipai.waf.recommendation", "ipai_waf_recommendation_view_list"),
                ("ipai.waf.risk", "ipai_waf_risk_view_list")):
            arch = env[model].get_view(self.env.ref(f"ipai_waf_assessment.{xmlid}").id)["arch"]
            self.assertIn('decoration-danger="is_overdue"', arch, xmlid)
        form = env["ipai.waf.assessment"].get_view(
            self.env.ref("ipai_waf_assessment.ipai_waf_assessment_view_form").id)["arch"]
        self.assertGreaterEqual(form.count("is_overdue"), 4)

    def test_a_frozen_milestone_keeps_its_dates_but_owners_can_mark_done(self):
        env = self.env(user=self.user)
        assessment = self._assessment(env)
        due = fields.Date.today() + timedelta(days=7)
        risk = env["ipai.waf.risk"].create({
            "assessment_id": assessment.id, "title": "No WAF in front of the API",
            "owner_id": self.owner.id, "due_date": due})
        rec = env["ipai.waf.recommendation"].create({
            "assessment_id": assessment.id, "title": "Add a WAF", "owner_id": self.owner.id,
            "due_date": due})
        assessment.action_freeze()
        for record in (risk, rec):
            for vals in ({"due_date": due + timedelta(days=1)}, {"owner_id": self.owner2.id},
                         {"state": "closed" if record is risk else "done"}):
                with self.subTest(model=record._name, vals=vals), \
                        self.assertRaises(UserError):
                    record.write(vals)
            todo = self._todos(record)
            self.assertEqual((len(todo), todo.date_deadline, todo.user_id),
                             (1, due, self.owner))
        # The owner does the work and marks the reminder done: the chatter takes it.
        self._todos(risk).with_user(self.owner).action_feedback(feedback="WAF deployed")
        self.assertFalse(self._todos(risk))
        self.assertEqual(risk.state, "open", "the milestone's record itself is unchanged")

    def test_imported_risk_states_are_kept(self):
        report = (
            "## Risks\n\n| Risk | Impact | Probability | Mitigation | Status |\n"
            "|---|---|---|---|---|\n"
            "| Vendor lock-in | High | Low | Exit plan | Accepted risk |\n"
            "| Token leak | Critical | Medium | Rotate | Mitigated |\n"
            "| Noisy neighbour | Medium | Medium | Move | open |\n")
        result = self.env["ipai.waf.assessment"].with_user(self.user).import_report(
            "Risk states", report, "markdown")
        risks = self.env["ipai.waf.assessment"].browse(result["id"]).risk_ids
        self.assertEqual({r.title: r.state for r in risks}, {
            "Vendor lock-in": "accepted", "Token leak": "mitigated", "Noisy neighbour": "open"})


@tagged("post_install", "-at_install")
class TestCompareWizard(ReviewCase):
    def _scored(self, statuses, overrides, **vals):
        assessment = self._assessment(**vals)
        self._findings(assessment, statuses)
        assessment._recompute_scores()
        for score in assessment.pillar_score_ids:
            score.write({"override_score": overrides[score.pillar_id.code],
                         "override_justification": "Stated in the report"})
        assessment._recompute_scores()
        return assessment

    def _two_milestones(self):
        first = self._scored(
            {"W-BACKUP": "missing", "W-FAILOVER": "partial", "W-DR": "missing",
             "W-VAULT": "implemented", "W-LOGS": "implemented"},
            {"wres": 40.0, "wsaf": 70.0}, date="2026-01-15")
        first.action_freeze()
        second = self._scored(
            {"W-BACKUP": "implemented", "W-FAILOVER": "missing", "W-VAULT": "implemented",
             "W-MONITOR": "partial"},
            {"wres": 65.5, "wsaf": 60.5}, date="2026-04-15")
        self.assertEqual((second.previous_id, second.milestone), (first, 2))
        return first, second

    def _compare(self, assessment, other=None, user=None):
        Wizard = self.env["ipai.waf.compare.wizard"].with_user(user or self.user)
        form = Form(Wizard.with_context(default_assessment_id=assessment.id))
        if other:
            form.other_id = other
        wizard = form.save()
        wizard.action_compare()
        return wizard

    def _lines(self, wizard):
        return {(line.kind, line.control_id.code, line.before or None, line.after or None)
                for line in wizard.line_ids}

    def test_compare_with_the_previous_milestone(self):
        first, second = self._two_milestones()
        wizard = self._compare(second)
        self.assertEqual(wizard.other_id, first, "the previous milestone is proposed")
        self.assertEqual((wizard.before_id, wizard.after_id), (first, second))
        self.assertEqual(
            (wizard.new_count, wizard.resolved_count, wizard.changed_count,
             wizard.removed_count), (1, 2, 1, 1))
        self.assertEqual(self._lines(wizard), {
            ("new", "W-MONITOR", None, "partial"),
            ("resolved", "W-BACKUP", "missing", "implemented"),
            ("resolved", "W-DR", "missing", None),
            ("changed", "W-FAILOVER", "partial", "missing"),
            ("removed", "W-LOGS", "implemented", None),
        })
        self.assertEqual(
            {(p.pillar_code, p.before, p.after, p.delta) for p in wizard.pillar_ids},
            {("wres", 40.0, 65.5, 25.5), ("wsaf", 70.0, 60.5, -9.5)})
        self.assertEqual((wizard.overall_before, wizard.overall_after, wizard.overall_delta),
                         (55.0, 63.0, 8.0))

    def test_the_earlier_one_is_always_before(self):
        first, second = self._two_milestones()
        wizard = self._compare(first, second)
        self.assertEqual((wizard.before_id, wizard.after_id), (first, second))
        self.assertEqual(wizard.overall_delta, 8.0)
        self.assertEqual(
            (wizard.new_count, wizard.resolved_count, wizard.changed_count,
             wizard.removed_count), (1, 2, 1, 1))
        wizard.action_back()
        self.assertEqual((wizard.state, len(wizard.line_ids)), ("draft", 0))

    def test_only_the_same_workload_and_company(self):
        first, second = self._two_milestones()
        unrelated = self._assessment(workload="billing")
        other_company = self.env["res.company"].create({"name": "Wombat Rival Co"})
        foreign = self._assessment(company_id=other_company.id)
        Wizard = self.env["ipai.waf.compare.wizard"].with_user(self.user)
        with self.assertRaises(ValidationError):
            Wizard.create({"assessment_id": second.id, "other_id": unrelated.id})
        with self.assertRaises(Exception) as caught:
            Wizard.create({"assessment_id": second.id, "other_id": foreign.id})
        self.assertIsInstance(caught.exception, (ValidationError, AccessError))
        with self.assertRaises(ValidationError):
            Wizard.create({"assessment_id": second.id, "other_id": second.id})
        lonely = self._assessment(workload="lonely")
        with self.assertRaises(UserError):
            self._compare(lonely)
