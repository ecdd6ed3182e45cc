# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
import logging
import re

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Command

from ..engine import importers
from ..engine.risk import rate
from ..engine.vocabulary import SEVERITY_KEYS
from .ipai_waf_control import split_aliases

_logger = logging.getLogger(__name__)

IMPORT_MAX_BYTES = 10 * 1024 * 1024  # default cap; system parameter import_max_bytes
WARNINGS_SHOWN = 200  # warnings written in the chatter; the full list is attached


def _norm(text):
    return re.sub(r"[^a-z0-9]+", " ", (text or "").lower()).strip()


def _risk_ratings(vals):
    """The risk's computed ratings of its values, as ``_compute_rating`` gives them."""
    try:
        rating, level = rate(vals["likelihood"], vals["impact"])
        residual_rating, residual_level = rate(vals["residual_likelihood"],
                                               vals["residual_impact"])
    except ValueError:
        rating = residual_rating = 0
        level = residual_level = False
    return {"rating": rating, "level": level, "residual_rating": residual_rating,
            "residual_level": residual_level}


class IpaiWafAssessmentImport(models.AbstractModel):
    """Reading reports into the assessment: preview, import, reviewers' results. The
    parsing and the plan are plain Python (``engine/importers``); this searches and
    creates. Part of ``ipai.waf.assessment``, which inherits it."""

    _name = "ipai.waf.assessment.import"
    _description = "Assessment: report import"

    # ------------------------------------------------------------------ import
    @api.model
    def _import_max_bytes(self):
        # sudo: the size cap is a technical parameter assessors may not read directly.
        value = self.env["ir.config_parameter"].sudo().get_param(
            "ipai_waf_assessment.import_max_bytes", str(IMPORT_MAX_BYTES))
        try:
            return max(1, int(value))
        except ValueError:
            return IMPORT_MAX_BYTES

    @api.model
    def _import_catalog(self):
        """The pillars and the controls this user may match against (record rules)."""
        # A few dozen pillars at most: every one is a candidate.
        pillars = self.env["ipai.waf.pillar"].search([])  # pylint: disable=no-search-all
        # One query for the controls (record rules applied by _search): reading thousands
        # of records field by field through the ORM cost more than the whole parse.
        Control = self.env["ipai.waf.control"]
        query = Control._search([])
        rows = self.env.execute_query(query.select(*(
            Control._field_to_sql(Control._table, fname, query)
            for fname in ("id", "code", "name", "pillar_id", "aliases", "shipped_aliases",
                          "company_id"))))
        return importers.Catalog(
            pillars=[{"id": p.id, "code": p.code, "name": p.name,
                      "framework": p.framework_id.code} for p in pillars],
            controls=[{"id": cid, "code": code, "name": name or code, "pillar_id": pillar_id,
                       "aliases": split_aliases(shipped, aliases), "company": bool(company_id)}
                      for cid, code, name, pillar_id, aliases, shipped, company_id in rows],
        )

    @api.model
    def _import_build_plan(self, content, fmt):
        """``(plan, catalog)`` of a document; UserError when it cannot be read."""
        if fmt not in importers.PARSERS:
            raise UserError(self.env._("Unknown import format %s", fmt))
        if content is None or content is False:
            content = ""
        size = len(content.encode() if isinstance(content, str) else content)
        limit = self._import_max_bytes()
        if size > limit:
            raise UserError(self.env._(
                "The document is %(size)s bytes; imports are limited to %(limit)s bytes "
                "(system parameter ipai_waf_assessment.import_max_bytes).",
                size=size, limit=limit))
        catalog = self._import_catalog()
        try:
            if fmt == "markdown":
                report = importers.parse_markdown(content, catalog.pillar_tuples())
            else:
                report = importers.PARSERS[fmt](content)
        except importers.ImportFormatError as exc:
            raise UserError(self.env._("The document cannot be read: %s", exc)) from exc
        if fmt != "markdown" and not report.findings and not report.controls:
            raise UserError(self.env._(
                "The document holds no question or checklist item; expected an AWS custom "
                "lens or an Azure review checklist."))
        return importers.build_plan(report, catalog, fmt), catalog

    @api.model
    def preview_report(self, content, fmt="markdown"):
        """What ``import_report`` would create, as a dict; writes nothing."""
        return self._import_build_plan(content, fmt)[0]

    @api.model
    def import_report(self, name, content, fmt="markdown", plan=None):
        """Import a report in one transaction; ``plan``: the assessor's changes.

        Returns ``{"id": assessment id, "warnings": [...]}``.
        """
        built, catalog = self._import_build_plan(content, fmt)
        warnings = list(built["warnings"])
        if plan:
            warnings += importers.apply_changes(built, plan, catalog)
        with self.env.cr.savepoint():
            assessment = self.create({
                "name": name or built["title"] or self.env._("Imported"),
                "stated_overall_score": built["stated"]["overall"] or 0.0,
                "stated_scores": self._stated_text(built) or False,
                "decision": built["decision"] or False,
                "stated_decision": built.get("stated_decision") or False,
            })
            warnings += assessment._apply_plan(built)
            assessment._recompute_scores()
            assessment._post_import_warnings(warnings)
        return {"id": assessment.id, "warnings": warnings}

    def apply_results(self, content, fmt):
        """Apply reviewers' results to the findings of this assessment's lens or checklist.

        ``fmt``: ``azure_results`` (Azure Resource Graph results of a review checklist) or
        ``aws_answers`` (answers to an AWS lens). Findings are matched by item id (guid,
        question id) among the controls this assessment imported from that source.
        Returns ``{"updated": n, "warnings": [...]}``; one transaction.
        """
        self.ensure_one()
        if fmt not in importers.RESULT_PARSERS:
            raise UserError(self.env._("Unknown results format %s", fmt))
        content = content or ""
        size = len(content.encode() if isinstance(content, str) else content)
        if size > self._import_max_bytes():
            raise UserError(self.env._(
                "The document is %(size)s bytes; imports are limited to %(limit)s bytes.",
                size=size, limit=self._import_max_bytes()))
        prefix = importers.RESULT_SOURCES[fmt]
        by_item = {}
        for finding in self.finding_ids:
            control = finding.control_id
            if (control.source or "").startswith(prefix):
                item = control.code.rsplit(":", 1)[-1]
                key = item.lower() if fmt == "azure_results" else item
                by_item[key] = by_item.get(key, finding.browse()) | finding
        if not by_item:
            raise UserError(self.env._(
                "This assessment holds no finding imported from an %s; import it first, "
                "then apply its results.",
                self.env._("AWS lens") if fmt == "aws_answers" else
                self.env._("Azure review checklist")))
        try:
            if fmt == "aws_answers":
                results, warnings = importers.parse_aws_answers(content, {
                    key: findings[0].control_id.answer_choices or []
                    for key, findings in by_item.items()})
            else:
                results, warnings = importers.parse_azure_results(content)
        except importers.ImportFormatError as exc:
            raise UserError(self.env._("The document cannot be read: %s", exc)) from exc
        source = "automated" if fmt == "azure_results" else "imported"
        updated = 0
        with self.env.cr.savepoint():
            for key, (status, evidence, na_reason) in results.items():
                findings = by_item.get(key)
                if not findings:
                    warnings.append(self.env._(
                        "%s is no item of this assessment; not read", key))
                    continue
                if status == "unknown":
                    continue  # no result is no reason to forget what a reviewer wrote
                vals = {"status": status, "evidence": evidence or False, "source": source,
                        "checked_at": fields.Datetime.now()}
                if status == "not_applicable":
                    vals["na_reason"] = na_reason or "other"
                findings.write(vals)
                updated += len(findings)
            self._recompute_scores()
            self._post_import_warnings([self.env._(
                "%(count)s finding(s) updated from %(what)s.", count=updated,
                what=self.env._("AWS answers") if fmt == "aws_answers" else
                self.env._("Azure automated results"))] + warnings)
        return {"updated": updated, "warnings": warnings}

    @api.model
    def _stated_text(self, plan):
        lines = []
        for item in plan["stated"]["frameworks"]:
            parts = [item["name"], f"{item['score']:g}/100" if item["score"] is not None
                     else "", item["grade"] or "", item["status"] or ""]
            lines.append(" · ".join(p for p in parts if p))
        return "\n".join(lines)

    def _post_import_warnings(self, warnings):
        """The first warnings in the chatter, the full list attached as a file."""
        self.ensure_one()
        if not warnings:
            return
        shown = warnings[:WARNINGS_SHOWN]
        body = Markup("<br/>").join(shown)
        attachments = []
        if len(warnings) > WARNINGS_SHOWN:
            body += Markup("<br/>") + self.env._(
                "… and %s more; the full list is attached.", len(warnings) - WARNINGS_SHOWN)
            attachments = [("import-warnings.txt", "\n".join(warnings).encode())]
        self.message_post(body=body, attachments=attachments)

    def _import_framework(self, plan):
        """Pillar id of each new lens pillar: an AWS lens is its own framework."""
        if not plan["new_pillars"]:
            return {}
        # sudo: assessors may not edit the catalog; an AWS lens brings its own framework
        # and pillars, which are created once (by source) and never changed afterwards.
        Framework = self.env["ipai.waf.framework"].sudo()
        code = plan["source"][:60]
        framework = Framework.search([("code", "=", code)], limit=1) or Framework.create({
            "code": code, "name": plan["framework"] or code, "sequence": 90,
        })
        existing = {p.code: p for p in framework.pillar_ids}
        out = {}
        for seq, item in enumerate(plan["new_pillars"]):
            pillar = existing.get(item["code"]) or self.env["ipai.waf.pillar"].sudo().create({
                "framework_id": framework.id, "code": item["code"], "name": item["name"],
                "sequence": 10 * (seq + 1),
            })
            out[item["id"]] = pillar.id
        self.framework_ids = [Command.link(framework.id)]
        return out

    def _apply_plan(self, plan):
        """Create what the plan says (findings, controls, scores, roadmap, risks).

        Existing controls are never written. New controls (a lens's or checklist's
        items, unmatched rows) belong to this assessment's company.
        """
        self.ensure_one()
        warnings = []
        new_pillar_ids = self._import_framework(plan)

        def pillar_id(value):
            return new_pillar_ids.get(value, value) if isinstance(value, str) else value

        # sudo: assessors may not edit the catalog; an import adds controls of its own
        # company only (company_id set) and never changes an existing control.
        Control = self.env["ipai.waf.control"].sudo()
        by_code = {}
        to_create = {}
        for item in plan["controls"]:
            if item["existing_id"]:
                by_code[item["code"]] = item["existing_id"]
            elif item["pillar_id"]:
                vals = {"code": item["code"], "name": item["name"][:250],
                        "pillar_id": pillar_id(item["pillar_id"]),
                        "description": item["description"] or False,
                        "recommendation": item["recommendation"] or False,
                        "reference_url": item["reference_url"] or False,
                        "company_id": self.company_id.id, "source": plan["source"],
                        "answer_choices": item.get("choices") or False}
                if item["severity"] in SEVERITY_KEYS:
                    vals["severity"] = item["severity"]
                to_create[item["code"]] = vals
        for row in plan["findings"]:
            if row["action"] == "create" and row["control_code"] not in by_code \
                    and row["control_code"] not in to_create and row["pillar_id"]:
                to_create[row["control_code"]] = {
                    "code": row["control_code"], "name": row["control_name"][:250],
                    "pillar_id": pillar_id(row["pillar_id"]),
                    "company_id": self.company_id.id, "source": plan["source"] or "markdown",
                }
        created = set()
        if to_create:
            # framework_id is related (pillar -> framework): read once for the few pillars
            pillars = self.env["ipai.waf.pillar"].browse(
                {vals["pillar_id"] for vals in to_create.values()})
            framework_of = {p.id: p.framework_id.id for p in pillars}
            rows = [dict(vals, framework_id=framework_of[vals["pillar_id"]])
                    for vals in to_create.values()]
            controls = self._import_insert(Control, rows)
            for code, control_id in zip(to_create, controls.ids, strict=True):
                by_code[code] = control_id
                created.add(code)

        def where(row):
            # translated only for the rows that get a warning
            return self.env._("Line %s", row["line"]) if row["line"] else \
                self.env._("Item %s", row["control_code"] or row["component"])

        finding_vals, first_seen = [], {}
        now = fields.Datetime.now()  # one import, one moment
        for row in plan["findings"]:
            if row["action"] == "skip":
                warnings.append(self.env._("%(where)s: %(name)s not imported (%(reason)s)",
                                           where=where(row), name=row["component"],
                                           reason=row["reason"] or self.env._("skipped")))
                continue
            control_id = row["control_id"] if row["action"] == "match" else \
                by_code.get(row["control_code"])
            if not control_id:
                continue
            if row["action"] == "create" and row["control_code"] in created \
                    and not plan["controls"]:
                created.discard(row["control_code"])
                warnings.append(self.env._(
                    "%(where)s: %(name)s matches no control (%(reason)s); created as control "
                    "%(code)s of your company", where=where(row), name=row["component"],
                    reason=row["reason"] or self.env._("chosen by the assessor"),
                    code=row["control_code"]))
            if control_id in first_seen:
                warnings.append(self.env._(
                    "%(where)s: %(name)s is control %(code)s again (see %(first)s); kept "
                    "the first", where=where(row), name=row["component"],
                    code=row["control_code"], first=where(first_seen[control_id])))
                continue
            first_seen[control_id] = row
            vals = {
                "assessment_id": self.id, "control_id": control_id,
                "status": row["status"] or "unknown",
                "evidence": "\n".join(p for p in (row["evidence"], row["note"]) if p) or False,
                "evidence_url": row["evidence_url"] or False, "source": "imported",
                "checked_at": now,
            }
            if vals["status"] == "not_applicable":
                vals["na_reason"] = row["na_reason"] or "other"
                if not row["na_reason"]:
                    warnings.append(self.env._(
                        "%(where)s: %(name)s is not applicable without a stated reason (out "
                        "of scope, business priorities, architecture constraints); recorded "
                        "as Other", where=where(row), name=row["component"]))
            finding_vals.append(vals)
        self.env["ipai.waf.finding"]._create_bulk(finding_vals)

        Score = self.env["ipai.waf.pillar.score"]
        existing = {s.pillar_id.id: s for s in self.pillar_score_ids}
        new_scores = {}  # created in one go; a later line for the same pillar wins
        for item in plan["stated"]["pillars"]:
            pid = pillar_id(item["pillar_id"])
            vals = {"override_score": item["score"], "override_justification": self.env._(
                "Imported from report (line %s)", item["line"])}
            if pid in existing:
                existing[pid].write(vals)
            else:
                new_scores.setdefault(pid, {"assessment_id": self.id, "pillar_id": pid})
                new_scores[pid].update(vals)
        Score.create(list(new_scores.values()))
        return warnings + self._apply_plan_roadmap(plan, pillar_id)

    def _apply_plan_roadmap(self, plan, pillar_id):
        """Risks and recommendations of the plan."""
        warnings = []
        Users = self.env["res.users"]
        owners = {}

        def owner_of(item):
            text = (item["owner"] or "").strip()
            if not text:
                return False
            if text not in owners:
                users = Users.search(
                    ["|", ("name", "=ilike", text), ("login", "=ilike", text)], limit=2)
                owners[text] = users if len(users) == 1 else Users
                if len(users) != 1:
                    warnings.append(self.env._(
                        "Line %(line)s: owner %(owner)s is not one user; left empty",
                        line=item["line"], owner=text))
            return owners[text].id or False

        risk_vals = []
        for risk in plan["risks"]:
            vals = {
                "assessment_id": self.id, "title": risk["title"],
                "pillar_id": pillar_id(risk["pillar_id"]) or False,
                "severity": risk["severity"] or False, "mitigation": risk["mitigation"] or False,
                "owner_id": owner_of(risk), "due_date": risk["due_date"] or False,
                "state": risk.get("state") or "open",
            }
            for key in ("likelihood", "impact", "residual_likelihood", "residual_impact"):
                if risk[key]:
                    vals[key] = risk[key]
            risk_vals.append(vals)
        # An import brings items by the hundred: one INSERT each, and no creation
        # message or follower each (as create under tracking_disable).
        risks = self._import_insert(self.env["ipai.waf.risk"], [
            dict(vals, company_id=self.company_id.id) for vals in risk_vals],
            compute=_risk_ratings)
        self._import_owner_activities(risks, risk_vals)

        rec_vals = []
        for rec in plan["recommendations"]:
            vals = {
                "assessment_id": self.id, "title": rec["title"],
                "effort_days": rec["effort_days"] or 0.0, "owner_id": owner_of(rec),
                "expected_gain": rec["gain"] or 0.0, "company_id": self.company_id.id,
            }
            for key in ("phase", "priority", "state"):
                if rec[key]:
                    vals[key] = rec[key]
            rec_vals.append(vals)
        created = self._import_insert(self.env["ipai.waf.recommendation"], rec_vals)
        self._import_relation(created, "pillar_ids", [
            [pillar_id(p) for p in rec["pillar_ids"]] for rec in plan["recommendations"]])
        self._import_owner_activities(created, rec_vals)
        by_title = {}
        for vals, record in zip(rec_vals, created, strict=True):
            by_title.setdefault(_norm(vals["title"]), record)
        for parsed, record in zip(plan["recommendations"], created, strict=True):
            deps = self.env["ipai.waf.recommendation"]
            for ref in parsed["depends_on"]:
                match = re.fullmatch(r"#\s*(\d+)", ref.strip())
                dep = created[int(match.group(1)) - 1] if match and \
                    0 < int(match.group(1)) <= len(created) else by_title.get(_norm(ref))
                if dep and dep != record:
                    deps |= dep
                else:
                    warnings.append(self.env._(
                        "Line %(line)s: %(title)s depends on %(ref)s, which is not a "
                        "recommendation of this report; left out",
                        line=parsed["line"], title=parsed["title"], ref=ref))
            if deps:
                record.depends_on_ids = [Command.set(deps.ids)]
        return warnings

