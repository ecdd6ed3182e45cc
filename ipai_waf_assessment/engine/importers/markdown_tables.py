# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Tables: findings with a status column, score and scorecard tables, capability x
pillar matrices, alignment and component tables, risk tables and roadmaps."""

import re

from .common import (
    IMPACT_WORDS,
    LIKELIHOOD_WORDS,
    MAX_FIELD,
    PLAN_STATE_WORDS,
    ParsedRisk,
    ParsedStatedScore,
    StatusError,
    clean_heading,
    clean_inline,
    empty_cell,
    extract_url,
    fix_mojibake,
    has_status_marker,
    match_framework,
    norm,
    parse_date,
    parse_effort,
    parse_gain,
    parse_grade,
    parse_phase,
    parse_plan_state,
    parse_priority,
    parse_score,
    read_status,
    risk_state,
    scale_value,
    severity_value,
    status_for_score,
    unlink,
)
from .markdown_words import _OVERALL, COLUMNS, RISK_COLUMNS, ROADMAP_COLUMNS, _roles


class _TableReader:
    """The table readers of :class:`.markdown._Reader` (a mixin of it)."""

    def table(self, header, rows, line_no):
        header = [clean_inline(fix_mojibake(h))[:200] for h in header]
        rows = [(n, [clean_inline(fix_mojibake(c[:MAX_FIELD])) for c in cells])
                for n, cells in rows]
        rows = [(n, cells) for n, cells in rows if any(cells)]
        risk = _roles(header, RISK_COLUMNS)
        if "title" in risk and ({"likelihood", "impact", "severity"} & set(risk)):
            return self.risk_table(risk, rows)
        roles = _roles(header, COLUMNS)
        plan = _roles(header, ROADMAP_COLUMNS)
        if "title" in plan and (
            "phase" in plan or self.phase() or {"effort", "priority"} & set(plan)
        ) and "component" not in roles and "current" not in roles and (
            "status" not in roles or self._plan_states(rows, roles["status"])
        ):
            return self.roadmap_table(plan, rows)
        if "status" not in roles:
            marked = [i for i in range(len(header)) if i not in roles.values() and
                      sum(1 for _n, cells in rows if i < len(cells)
                          and has_status_marker(cells[i])) >= max(1, len(rows) // 2)]
            pillar_cols = [i for i, h in enumerate(header) if i and self.match_pillar(h)]
            if len(pillar_cols) >= 2:
                return self.matrix_table(header, pillar_cols, rows)
            if len(marked) == 1:
                roles["status"] = marked[0]
        if "score" in roles and ("grade" in roles or "status" not in roles):
            return self.score_table(header, roles, rows)
        if "status" in roles:
            return self.status_table(header, roles, rows)
        if "score" in roles:
            return self.score_table(header, roles, rows)
        if "current" in roles or ("evidence" in roles and header and "gap" in norm(
                header[roles["evidence"]])):
            return self.alignment_table(header, roles, rows)
        name_pillars = sum(1 for _n, cells in rows if cells and self.match_pillar(cells[0]))
        if "component" in roles and rows and name_pillars >= max(1, len(rows) // 2):
            return self.mapping_table(header, roles, rows)
        if any(has_status_marker(" ".join(cells)) for _n, cells in rows):
            self.warn(line_no, f"table with columns {header} has status markers but no "
                               "status column; not read")
        elif rows:
            self.warn(line_no, f"table with columns {header} has no status or score column; "
                               f"its {len(rows)} row(s) not read")

    @staticmethod
    def _plan_states(rows, idx):
        """Whether a column mostly holds roadmap words (to do, in progress, done).

        Implementation words (Implemented, Missing) make it a findings table, whatever
        the markers: the word states the status.
        """
        cells = [cells[idx] for _n, cells in rows if idx < len(cells) and cells[idx]
                 and not empty_cell(cells[idx])]
        planned = sum(1 for c in cells if norm(fix_mojibake(c)) in PLAN_STATE_WORDS)
        return bool(cells) and planned * 2 >= len(cells)

    @staticmethod
    def _cell(cells, roles, role):
        idx = roles.get(role)
        return cells[idx] if idx is not None and idx < len(cells) else ""

    def _row_pillar(self, cells, roles, first_is_name=True):
        cell = self._cell(cells, roles, "pillar")
        if cell:
            return self.match_pillar(cell)
        if first_is_name and cells:
            found = self.match_pillar(cells[0])
            if found:
                return found
        return self.pillar()

    def _other_cells(self, header, cells, used):
        return "; ".join(f"{header[i]}: {c}" for i, c in enumerate(cells)
                         if i not in used and i < len(header) and c and not empty_cell(c))

    def status_table(self, header, roles, rows):
        if "component" not in roles:
            free = [i for i in range(len(header)) if i not in roles.values()]
            if not free:
                self.warn(rows[0][0] - 2 if rows else 0,
                          f"table with columns {header} has no component column; not read")
                return
            roles["component"] = free[0]
        if "evidence" not in roles:
            free = [i for i in range(len(header)) if i not in roles.values()
                    and i > roles["status"] and header[i]]
            if free:
                roles["evidence"] = free[0]
        for line_no, cells in rows:
            component = self._cell(cells, roles, "component")
            status_text = self._cell(cells, roles, "status")
            if not component or empty_cell(component):
                if status_text:
                    self.warn(line_no, f"row with status {status_text!r} has no component; "
                                       "not read")
                continue
            if len(component) < 20 and norm(component) in _OVERALL:
                continue
            try:
                reading = read_status(status_text)
            except StatusError as exc:
                score, _why = parse_score(status_text)
                if score is None:
                    self.warn(line_no, f"{exc} for {component!r}; not read")
                    continue
                reading = None
            evidence = self._cell(cells, roles, "evidence")
            if reading is None:
                status, raw, note = status_for_score(score), status_text, "read from the score"
            else:
                status, raw, note = reading.status, reading.raw, reading.note
                if reading.rest:
                    evidence = "; ".join(p for p in (reading.rest, evidence) if p)
            code = self._cell(cells, roles, "code") or None
            pillar = self._row_pillar(cells, roles, first_is_name=False)
            self.add_finding(line_no, component, status, unlink(evidence), raw=raw,
                             pillar=pillar, code=code, note=note,
                             url=extract_url(self._cell(cells, roles, "link"), evidence))
            rec = self._cell(cells, roles, "recommendation")
            if rec and not empty_cell(rec):
                self.add_recommendation(line_no, rec, pillar=pillar)

    def score_table(self, header, roles, rows):
        name_idx = roles.get("component", roles.get("pillar"))
        if name_idx is None:
            free = [i for i in range(len(header)) if i not in roles.values()]
            name_idx = free[0] if free else 0
        pillar_idx = roles.get("pillar") if roles.get("pillar") != name_idx else None
        current_pillar = None
        for line_no, cells in rows:
            if name_idx >= len(cells):
                continue
            name = cells[name_idx]
            raw = self._cell(cells, roles, "score")
            if not name or empty_cell(raw):
                continue
            score, why = parse_score(raw)
            if score is None and why is None:
                try:
                    score = float(raw.replace(",", "."))
                except ValueError:
                    why = f"score {raw!r} is not a number"
                else:
                    if not 0 <= score <= 100:
                        score, why = None, f"score {raw!r} is outside 0-100"
            if why:
                self.warn(line_no, f"{name!r}: {why}; not read")
                continue
            grade = parse_grade(self._cell(cells, roles, "grade"))
            low = norm(clean_heading(name))
            if pillar_idx is not None and pillar_idx < len(cells):
                if cells[pillar_idx]:
                    current_pillar = self.match_pillar(cells[pillar_idx])
                row_pillar = current_pillar
            else:
                row_pillar = None
            framework = match_framework(name)
            pillar = None if framework else self.match_pillar(name)
            if pillar and (name_idx == roles.get("component") or pillar == self.pillar()):
                # a component or a sub-area named like a pillar ("High Availability")
                row_pillar = row_pillar or pillar
            if low in _OVERALL or any(w in low for w in ("overall", "aggregate", "total")) \
                    and not framework and not pillar:
                if self.report.overall_score is None:
                    self.report.overall_score = score
                self.report.stated_scores.append(ParsedStatedScore(
                    clean_heading(name), score, grade, self._cell(cells, roles, "status"),
                    line_no))
            elif framework:
                self.report.stated_scores.append(ParsedStatedScore(
                    clean_heading(name), score, grade, self._cell(cells, roles, "status"),
                    line_no, framework=framework))
            elif pillar and row_pillar is None:
                self.add_score(pillar, score, line_no)
            else:
                owner = row_pillar or self.pillar()
                used = {name_idx, roles["score"]} | ({pillar_idx} if pillar_idx is not None
                                                      else set())
                evidence = "; ".join(p for p in (f"Stated score {raw}",
                                                 self._other_cells(header, cells, used)) if p)
                finding = self.add_finding(line_no, clean_heading(name),
                                           status_for_score(score), evidence, raw=raw,
                                           note="read from the score")
                finding.pillar = owner

    def matrix_table(self, header, pillar_cols, rows):
        for line_no, cells in rows:
            if not cells or not cells[0] or empty_cell(cells[0]):
                continue
            capability = cells[0]
            for idx in pillar_cols:
                cell = cells[idx] if idx < len(cells) else ""
                if empty_cell(cell):
                    continue
                try:
                    reading = read_status(cell)
                    status, note = reading.status, reading.note
                except StatusError:
                    score, _why = parse_score(cell)
                    if score is None:
                        self.warn(line_no, f"{capability!r} / {header[idx]!r}: cell {cell!r} "
                                           "is no status or score; not read")
                        continue
                    status, note = status_for_score(score), "read from the score"
                self.add_finding(line_no, capability, status, f"{header[idx]}: {cell}",
                                 raw=cell, pillar=self.match_pillar(header[idx]), note=note)

    def alignment_table(self, header, roles, rows):
        gap_idx = roles.get("evidence")
        name_idx = roles.get("component", roles.get("pillar", 0))
        for line_no, cells in rows:
            if name_idx >= len(cells) or empty_cell(cells[name_idx]):
                continue
            name = cells[name_idx]
            pillar = self._row_pillar(cells, roles)
            gap = cells[gap_idx] if gap_idx is not None and gap_idx < len(cells) else ""
            status = "implemented" if empty_cell(gap) else "partial"
            used = {name_idx} | ({roles["recommendation"]} if "recommendation" in roles
                                 else set())
            self.add_finding(line_no, clean_heading(name), status,
                             self._other_cells(header, cells, used), raw=gap or "no gap",
                             pillar=pillar, note="no gap stated" if status == "implemented"
                             else "a gap is stated")
            rec = self._cell(cells, roles, "recommendation")
            if rec and not empty_cell(rec):
                self.add_recommendation(line_no, rec, pillar=pillar)

    def mapping_table(self, header, roles, rows):
        comp_idx = roles["component"]
        for line_no, cells in rows:
            if comp_idx >= len(cells) or empty_cell(cells[comp_idx]):
                continue
            pillar = self.match_pillar(cells[0]) or self.pillar()
            self.add_finding(line_no, cells[comp_idx], "implemented",
                             self._other_cells(header, cells, {comp_idx}), raw="in use",
                             pillar=pillar, note="a component in use")

    def risk_table(self, roles, rows):
        for line_no, cells in rows:
            title = unlink(self._cell(cells, roles, "title"))
            if not title or empty_cell(title):
                continue
            risk = ParsedRisk(title=title[:250], line_no=line_no,
                              mitigation=self._cell(cells, roles, "mitigation"),
                              owner=self._cell(cells, roles, "owner"),
                              context_pillar=self.pillar())
            for role, scale in (("likelihood", LIKELIHOOD_WORDS), ("impact", IMPACT_WORDS),
                                ("residual_likelihood", LIKELIHOOD_WORDS),
                                ("residual_impact", IMPACT_WORDS)):
                text = self._cell(cells, roles, role)
                if role not in roles or (role.startswith("residual") and not text):
                    continue
                value = scale_value(text, scale)
                if value is None:
                    self.warn(line_no, f"risk {title!r}: {role.replace('_', ' ')} "
                                       f"{text or '(empty)'!r} is not 1-5 or a known word; "
                                       "left at the default")
                setattr(risk, role, value)
            severity = self._cell(cells, roles, "severity")
            if severity:
                risk.severity = severity_value(severity)
                if risk.severity is None:
                    self.warn(line_no, f"risk {title!r}: severity {severity!r} not "
                                       "recognised; left empty")
            if risk.severity is None and risk.impact:
                risk.severity = "high" if risk.impact >= 4 else (
                    "medium" if risk.impact == 3 else "low")
            state = self._cell(cells, roles, "state")
            if state:
                risk.state = risk_state(state)
            pillar_cell = self._cell(cells, roles, "pillar")
            risk.pillar = pillar_cell or None
            due = self._cell(cells, roles, "due")
            if due:
                risk.due_date = parse_date(due)
                if risk.due_date is None:
                    self.warn(line_no, f"risk {title!r}: due date {due!r} is not a date "
                                       "(YYYY-MM-DD); left empty")
            self.report.risks.append(risk)

    def roadmap_table(self, roles, rows):
        for line_no, cells in rows:
            title = self._cell(cells, roles, "title")
            if not title or empty_cell(title):
                continue
            phase_text = self._cell(cells, roles, "phase")
            phase = parse_phase(phase_text) if phase_text else None
            if phase_text and phase is None:
                self.warn(line_no, f"recommendation {title!r}: phase {phase_text!r} not "
                                   "recognised (0-30, 30-60, 60-90 days or later); left to "
                                   "the default")
            rec = self.add_recommendation(line_no, title, phase=phase)
            if rec is None:
                continue
            gain = self._cell(cells, roles, "gain")
            if gain and rec.gain is None:
                rec.gain = parse_gain(gain)
            if self._cell(cells, roles, "priority"):
                rec.priority = parse_priority(self._cell(cells, roles, "priority"))
            if self._cell(cells, roles, "effort"):
                rec.effort_days, why = parse_effort(self._cell(cells, roles, "effort"))
                if why:
                    self.warn(line_no, f"recommendation {title!r}: {why}")
            if self._cell(cells, roles, "pillar"):
                rec.pillars = [p.strip() for p in re.split(r"[,;/+]",
                                                           self._cell(cells, roles, "pillar"))
                               if p.strip()]
            rec.owner = self._cell(cells, roles, "owner")
            if self._cell(cells, roles, "depends"):
                rec.depends_on = [d.strip() for d in re.split(
                    r"[,;]", self._cell(cells, roles, "depends")) if d.strip()
                    and not empty_cell(d)]
            if self._cell(cells, roles, "state"):
                rec.state = parse_plan_state(self._cell(cells, roles, "state"))
