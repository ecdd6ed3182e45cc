# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""The import's one-statement INSERTs of controls, risks and recommendations keep every
promise the ORM's create keeps, and scoring findings grouped gives the per-finding
rubric's scores."""

from odoo.addons.ipai_waf_assessment.engine.rubric import FindingInput, get_rubric
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Command
from odoo.tests import TransactionCase, new_test_user, tagged

# what the INSERT and create legitimately differ in
SKIPPED = {"id", "create_date", "write_date", "display_name"}


@tagged("post_install", "-at_install")
class TestImportBulk(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.framework = cls.env["ipai.waf.framework"].create({
            "code": "NUMBAT", "name": "Numbat framework", "pillar_ids": [
                Command.create({"code": "nrel", "name": "Numbat Reliability"}),
                Command.create({"code": "nsec", "name": "Numbat Security", "weight": 2.0}),
            ],
        })
        cls.p_rel, cls.p_sec = cls.framework.pillar_ids
        cls.Assessment = cls.env["ipai.waf.assessment"]
        cls.other_company = cls.env["res.company"].create({"name": "Numbat Other Co"})
        cls.user = new_test_user(
            cls.env, login="numbat_user", name="Numbat Owner",
            groups="ipai_waf_assessment.assessment_group_user")

    def _assessment(self, **vals):
        return self.Assessment.create(dict(
            {"name": "Numbat", "framework_ids": [Command.set(self.framework.ids)]}, **vals))

    def _same(self, created, inserted):
        """Every stored field of ``inserted`` reads as on its ORM-created twin."""
        for name, field in created._fields.items():
            if field.store and name not in SKIPPED and not name.startswith(
                    ("message_", "activity_")):
                self.assertEqual(inserted[name], created[name], name)

    def test_rows_read_like_orm_records(self):
        assessment = self._assessment()
        self.assertFalse(assessment.risk_ids)  # cached empty, as a form would have it
        quiet = self.env["ipai.waf.risk"].with_context(tracking_disable=True)
        vals = {"assessment_id": assessment.id, "title": "Numbat burrow floods\x00",
                "likelihood": 4, "impact": 5, "severity": "high", "due_date": "2031-02-28",
                "pillar_id": self.p_rel.id, "mitigation": "Ã©tanchéité ✅"}
        twin = quiet.create(dict(vals, title="Numbat burrow floods"))
        risk = self.Assessment._import_insert(self.env["ipai.waf.risk"], [vals])
        self.assertEqual(assessment.risk_ids, twin | risk)
        self._same(twin, risk)
        self.assertEqual((risk.rating, risk.level, risk.residual_rating, risk.company_id),
                         (twin.rating, twin.level, 1, assessment.company_id))
        self.assertEqual(risk.create_uid, self.env.user)

        # defaults (phase, priority, state) and pillars, as create gives them
        Rec = self.env["ipai.waf.recommendation"]
        rec_vals = {"assessment_id": assessment.id, "title": "Numbat sandbags",
                    "effort_days": 2.5}
        twin = Rec.with_context(tracking_disable=True).create(dict(
            rec_vals, pillar_ids=[Command.set((self.p_rel | self.p_sec).ids)]))
        recs = self.Assessment._import_insert(Rec, [rec_vals, dict(rec_vals, title="Second")])
        self.Assessment._import_relation(
            recs, "pillar_ids", [[self.p_rel.id, self.p_sec.id, self.p_rel.id], []])
        self._same(twin, recs[0])
        self.assertEqual(recs.mapped("title"), ["Numbat sandbags", "Second"], "rows' order")
        self.assertFalse(recs[1].pillar_ids)
        self.assertEqual(assessment.recommendation_ids, twin | recs)

    def test_translated_names_read_in_both_languages(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        Control = self.env["ipai.waf.control"].with_context(lang="fr_FR")
        vals = {"code": "N-TUNNEL", "name": "Tunnel de secours", "pillar_id": self.p_sec.id,
                "company_id": self.env.company.id}
        twin = Control.create(dict(vals, code="N-TWIN"))
        self.assertFalse(self.p_sec.control_ids - twin)
        control = self.Assessment.with_context(lang="fr_FR")._import_insert(Control, [vals])
        self.assertEqual(self.p_sec.control_ids, twin | control)
        for lang in ("en_US", "fr_FR"):
            self.assertEqual(control.with_context(lang=lang).name,
                             twin.with_context(lang=lang).name, lang)
        self.assertEqual((control.framework_id, control.severity, control.weight,
                          control.active), (self.framework, "medium", 1.0, True))

    def test_refuses_what_create_refuses(self):
        assessment = self._assessment()
        Risk = self.env["ipai.waf.risk"]
        row = {"assessment_id": assessment.id, "title": "Numbat drought"}
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            self.Assessment._import_insert(Risk, [dict(row, likelihood=9)])
        with self.assertRaises(ValueError):  # not a severity
            self.Assessment._import_insert(Risk, [dict(row, severity="apocalyptic")])
        with self.assertRaises(ValueError):  # links go through _import_relation
            self.Assessment._import_insert(self.env["ipai.waf.recommendation"], [dict(
                row, pillar_ids=[Command.set(self.p_rel.ids)])])
        foreign = self._assessment(company_id=self.other_company.id, name="Foreign numbat")
        with self.assertRaises(AccessError), self.env.cr.savepoint():
            self.Assessment.with_user(self.user)._import_insert(
                Risk.with_user(self.user), [dict(row, assessment_id=foreign.id)])
        self.assertFalse(foreign.risk_ids)
        outsider = new_test_user(self.env, login="numbat_out", groups="base.group_user")
        with self.assertRaises(AccessError):
            self.Assessment.with_user(outsider)._import_insert(Risk.with_user(outsider), [row])
        assessment.action_freeze()
        with self.assertRaises(UserError):
            self.Assessment._import_insert(Risk, [row])
        self.assertFalse(assessment.risk_ids)

    def test_imported_risk_with_owner_and_date_is_their_todo(self):
        report = """# Numbat plan

## Numbat Reliability

| Component | Status | Evidence |
|---|---|---|
| Numbat burrow | ✅ Implemented | two exits |

## Risks

| Risk | Impact | Probability | Mitigation | Owner | Due |
|---|---|---|---|---|---|
| Numbat flood | High | Medium | sandbags | Numbat Owner | 2031-03-01 |
| Numbat heat | Low | Low | shade | | 2031-03-02 |
"""
        result = self.Assessment.import_report("Numbat import", report, "markdown")
        risks = self.Assessment.browse(result["id"]).risk_ids.sorted("title")
        self.assertEqual(risks.mapped("title"), ["Numbat flood", "Numbat heat"])
        todo = self.env["mail.activity"].search([("res_model", "=", "ipai.waf.risk"),
                                                 ("res_id", "in", risks.ids)])
        self.assertEqual((todo.res_id, todo.user_id, str(todo.date_deadline)),
                         (risks[0].id, self.user, "2031-03-01"))
        self.assertFalse(risks.message_ids, "no creation message per imported risk")
        # the owner follows what they must do; nobody follows the rest
        self.assertEqual(risks[0].message_partner_ids, self.user.partner_id)
        self.assertFalse(risks[1].message_follower_ids)

    def test_grouped_scoring_is_the_per_finding_rubric(self):
        assessment = self._assessment()
        weights = (1.0, 0.3, 2.5, 0.0, 1.7)
        statuses = ("implemented", "partial", "planned", "missing", "unknown",
                    "not_applicable", "partial")
        controls = self.env["ipai.waf.control"].create([
            {"code": f"N-{i}", "name": f"Numbat control {i}",
             "pillar_id": (self.p_rel, self.p_sec)[i % 2].id,
             "severity": ("high", "medium", "low")[i % 3], "weight": weights[i % 5],
             "extra_pillar_ids": [Command.link(self.p_sec.id)] if i % 4 == 0 else []}
            for i in range(60)])
        self.env["ipai.waf.finding"].create([
            {"assessment_id": assessment.id, "control_id": c.id,
             "status": statuses[i % 7], "na_reason": "other" if i % 7 == 5 else False}
            for i, c in enumerate(controls)])
        assessment._recompute_scores()
        rubric = get_rubric()
        scores = {s.pillar_id: s.computed_score for s in assessment.pillar_score_ids}
        for pillar in (self.p_rel, self.p_sec):
            one_by_one = [FindingInput(f.status, f.control_id.severity, f.control_id.weight)
                          for f in assessment.finding_ids
                          if pillar in f.control_id.pillar_id | f.control_id.extra_pillar_ids]
            self.assertEqual(scores[pillar], rubric.score_pillar(one_by_one), pillar.name)
        self.assertEqual(len(assessment.pillar_score_ids), 2)
