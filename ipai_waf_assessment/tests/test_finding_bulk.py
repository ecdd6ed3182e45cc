# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""The import's one-statement INSERT keeps every promise the ORM's create keeps."""

from psycopg2.errors import UniqueViolation

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Command
from odoo.tests import TransactionCase, new_test_user, tagged
from odoo.tools import mute_logger


@tagged("post_install", "-at_install")
class TestFindingBulk(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.framework = cls.env["ipai.waf.framework"].create({
            "code": "WOMBAT", "name": "Wombat framework", "pillar_ids": [
                Command.create({"code": "wrel", "name": "Wombat Reliability"}),
                Command.create({"code": "wsec", "name": "Wombat Security"}),
            ],
        })
        cls.p_rel, cls.p_sec = cls.framework.pillar_ids
        cls.controls = cls.env["ipai.waf.control"].create([
            {"code": f"W-{i}", "name": f"Wombat control {i}",
             "pillar_id": (cls.p_rel, cls.p_sec)[i % 2].id,
             "severity": ("high", "medium", "low")[i % 3]}
            for i in range(6)
        ])
        cls.other_company = cls.env["res.company"].create({"name": "Wombat Other Co"})
        cls.user = new_test_user(
            cls.env, login="wombat_user", groups="ipai_waf_assessment.assessment_group_user")
        cls.Finding = cls.env["ipai.waf.finding"]

    def _assessment(self, **vals):
        return self.env["ipai.waf.assessment"].create(dict(
            {"name": "Wombat", "framework_ids": [Command.set(self.framework.ids)]}, **vals))

    def _rows(self, assessment, controls, **vals):
        return [dict({"assessment_id": assessment.id, "control_id": c.id,
                      "status": "partial", "source": "imported"}, **vals) for c in controls]

    def test_rows_read_like_orm_records(self):
        assessment = self._assessment()
        self.assertFalse(assessment.finding_ids)  # cached empty, as a form would have it
        found = self.Finding._create_bulk(
            self._rows(assessment, self.controls[:3], evidence="Ã©vidence\x00 ✅ caf\u00e9"))
        # the one2many and the related fields are right without any invalidation by the caller
        self.assertEqual(assessment.finding_ids, found)
        self.assertEqual(found.control_id, self.controls[:3])
        for finding in found:
            control = finding.control_id
            self.assertEqual(
                (finding.company_id, finding.pillar_id, finding.severity, finding.status),
                (assessment.company_id, control.pillar_id, control.severity, "partial"))
        self.assertEqual(found[0].create_uid, self.env.user)
        self.assertEqual(found[0].evidence, "Ã©vidence ✅ café")  # NUL dropped, text kept
        # the same search the list view runs finds them, by a related stored field
        self.assertEqual(self.Finding.search_count([("pillar_id", "=", self.p_rel.id),
                                                    ("assessment_id", "=", assessment.id)]), 2)
        assessment._recompute_scores()
        self.assertGreater(assessment.overall_score, 0)

    def test_refuses_what_create_refuses(self):
        assessment = self._assessment()
        with self.assertRaises(ValidationError):
            self.Finding._create_bulk(self._rows(assessment, self.controls[:1],
                                                 status="not_applicable"))
        with self.assertRaises(ValueError):  # a field the INSERT does not write
            self.Finding._create_bulk(self._rows(assessment, self.controls[:1], carried_over=True))
        self.Finding._create_bulk(self._rows(assessment, self.controls[:1]))
        with self.assertRaises(UniqueViolation), mute_logger("odoo.sql_db"), \
                self.env.cr.savepoint():
            self.Finding._create_bulk(self._rows(assessment, self.controls[:1]))
        with self.assertRaises(ValidationError):
            self.Finding._create_bulk([{"assessment_id": assessment.id, "control_id": 0}])

    def test_frozen_milestone_takes_no_rows(self):
        assessment = self._assessment()
        self.Finding._create_bulk(self._rows(assessment, self.controls[:2]))
        assessment.action_freeze()
        with self.assertRaises(UserError):
            self.Finding._create_bulk(self._rows(assessment, self.controls[2:4]))
        self.assertEqual(len(assessment.finding_ids), 2)

    def test_record_rules_apply(self):
        foreign = self._assessment(company_id=self.other_company.id, name="Foreign wombat")
        with self.assertRaises(AccessError), self.env.cr.savepoint():
            self.Finding.with_user(self.user)._create_bulk(self._rows(foreign, self.controls[:2]))
        self.assertFalse(foreign.finding_ids)
        outsider = new_test_user(self.env, login="wombat_out", groups="base.group_user")
        mine = self._assessment()
        with self.assertRaises(AccessError):
            self.Finding.with_user(outsider)._create_bulk(self._rows(mine, self.controls[:1]))
        done = self.Finding.with_user(self.user)._create_bulk(self._rows(mine, self.controls[:1]))
        self.assertEqual(done.create_uid, self.user)
