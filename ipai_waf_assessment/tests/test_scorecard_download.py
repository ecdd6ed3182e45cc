# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""The "Export scorecard (JSON)" button, over real HTTP as real users."""

import json
import logging
from pathlib import Path

import jsonschema

from odoo.addons.ipai_waf_assessment.engine.scorecard import content_hash
from odoo.fields import Command
from odoo.tests import HttpCase, new_test_user, tagged

SCHEMA = Path(__file__).resolve().parents[1] / "engine" / "scorecard.schema.json"


@tagged("post_install", "-at_install")
class TestScorecardDownload(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.framework = cls.env["ipai.waf.framework"].create({
            "code": "NUMBAT", "name": "Numbat framework",
            "pillar_ids": [
                Command.create({"code": "nres", "name": "Numbat Résilience", "weight": 2.0}),
                Command.create({"code": "nsaf", "name": "Numbat Safety", "weight": 1.0}),
            ],
        })
        res, saf = cls.framework.pillar_ids
        Control = cls.env["ipai.waf.control"]
        backup = Control.create({"code": "N-BACKUP", "name": "Numbat backups",
                                 "pillar_id": res.id, "severity": "high"})
        vault = Control.create({"code": "N-VAULT", "name": "Numbat vault",
                                "pillar_id": saf.id, "severity": "medium"})
        cls.user = new_test_user(cls.env, login="numbat_assessor",
                                 groups="ipai_waf_assessment.assessment_group_user")
        other = cls.env["res.company"].create({"name": "Numbat Rival Pty"})
        cls.stranger = new_test_user(
            cls.env, login="numbat_stranger", company_id=other.id,
            company_ids=[Command.set(other.ids)],
            groups="ipai_waf_assessment.assessment_group_user")
        cls.assessment = cls.env["ipai.waf.assessment"].with_user(cls.user).create({
            "name": "Numbat «prod» review", "workload": "numbat",
            "framework_ids": [Command.set(cls.framework.ids)],
        })
        cls.env["ipai.waf.finding"].create([
            {"assessment_id": cls.assessment.id, "control_id": backup.id,
             "status": "implemented", "evidence": "PITR 7 days — “ok”, rÃ©tention"},
            {"assessment_id": cls.assessment.id, "control_id": vault.id, "status": "missing"},
        ])
        cls.assessment._recompute_scores()

    def _get(self, login):
        self.authenticate(login, login + "x" * (8 - len(login)))
        action = self.assessment.with_user(self.user).action_download_scorecard()
        return self.url_open(action["url"])

    def test_the_download_is_the_scorecard_of_this_assessment(self):
        response = self._get("numbat_assessor")
        self.assertEqual(response.status_code, 200)
        self.assertIn("attachment", response.headers["Content-Disposition"])
        self.assertIn(".json", response.headers["Content-Disposition"])
        card = response.json()
        schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
        jsonschema.validate(card, schema,
                            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        self.assertEqual(card["content_hash"], content_hash(card), "the document is intact")
        self.assertEqual(card["assessment"]["id"], self.assessment.id)
        self.assertEqual(card["assessment"]["name"], "Numbat «prod» review")
        self.assertGreater(self.assessment.overall_score, 0)
        self.assertEqual((card["overall"]["score"], card["overall"]["grade"]),
                         (self.assessment.overall_score, self.assessment.grade))
        pillars = {p["code"]: p["score"] for fw in card["frameworks"] for p in fw["pillars"]}
        self.assertEqual(pillars, {s.pillar_id.code: s.score
                                   for s in self.assessment.pillar_score_ids})
        self.assertEqual(pillars["nres"], 100.0)
        self.assertEqual(pillars["nsaf"], 0.0)
        self.assertEqual({f["control_code"]: f["status"] for f in card["findings"]},
                         {"N-BACKUP": "implemented", "N-VAULT": "missing"})

    def test_a_user_of_another_company_gets_nothing(self):
        with self.assertLogs("odoo.http", logging.WARNING):
            response = self._get("numbat_stranger")
        self.assertEqual(response.status_code, 403)
        self.assertNotIn("«prod»", response.text)
        self.assertNotIn("N-BACKUP", response.text)

    def test_logged_out_is_sent_to_the_login(self):
        self.authenticate(None, None)
        response = self.url_open(f"/ipai_waf_assessment/{self.assessment.id}/scorecard.json",
                                 allow_redirects=False)
        self.assertIn(response.status_code, (302, 303))
        self.assertIn("/web/login", response.headers["Location"])
