"""Regex rules: Java's answers (recorded once from java.util.regex) on PostgreSQL and DuckDB.

``data/regex_java_cases.json`` was generated with Java 17 from ``data/regex_cases.tsv``:

    cd ipai_databricks_connector/tests/data
    java RegexCases.java regex_cases.tsv > regex_java_cases.json

Each case holds Java's ``Pattern.compile(pattern).matcher(subject).find()`` (Databricks'
RLIKE), or the PatternSyntaxException's description. No Java runs at test time.
"""
import json
from pathlib import Path

import duckdb
import pyarrow as pa

from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.exceptions import ValidationError
from odoo.tests import BaseCase, TransactionCase, tagged

from ..lakehouse import quality, regex
from .common import LakeCase, drain

RECORDED = json.loads((Path(__file__).parent / "data" / "regex_java_cases.json")
                      .read_text(encoding="utf-8"))
CASES = RECORDED["cases"]

# Patterns Java accepts that the translator refuses: (construct named, text quoted).
REFUSED = {
    r"a*+": ("possessive quantifier", "'*+'"),
    r"a++b": ("possessive quantifier", "'++'"),
    r"(?>a|ab)c": ("atomic group", "'(?>'"),
    r"(?=x)x": ("lookahead", "'(?='"),
    r"(?<=a)b": ("lookbehind", "'(?<='"),
    r"(a)\1": ("backreference", "'\\1'"),
    r"[a-z&&[^e]]": ("character class intersection", "'&&'"),
    r"\p{L}": ("character property", "'\\p{L}'"),
    r"\p{IsLatin}": ("character property", "'\\p{IsLatin}'"),
    r"[[:alpha:]]": ("nested character class", "[:alpha:]"),
    r"(?m)^b": ("embedded flag", "'(?m)'"),
    r"(?x)a b": ("embedded flag", "'(?x)'"),
    r"(?u)(?i)é": ("embedded flag", "'(?u)'"),
    r"\R": ("escape", "'\\R'"),
    r"\X": ("escape", "'\\X'"),
    r"\Ga": ("escape", "'\\G'"),
    r"a$b": ("end anchor", "'$' at position 1"),
    r"a\bb": ("word boundary", "never matches"),
    r"\bé": ("word boundary", "'\\b' at position 0"),
    r"a{300}": ("repetition", "'{300}'"),
}


def _supported():
    return [c for c in CASES if "find" in c and c["pattern"] not in REFUSED]


@tagged("post_install", "-at_install")
class TestRegexTranslator(BaseCase):
    def test_the_recording_is_javas_and_messy(self):
        self.assertTrue(RECORDED["java"].startswith("17."), RECORDED["java"])
        subjects = "".join(c["subject"] for c in CASES)
        for needed in ("\u0663", "é", "\r\n", "\u2028", "\u0301", "\U0001F600"):
            self.assertIn(needed, subjects)
        self.assertIn("", [c["subject"] for c in CASES])
        self.assertGreaterEqual(len(_supported()), 240)

    def test_unsupported_constructs_are_refused_by_name(self):
        for pattern, (construct, text) in REFUSED.items():
            with self.subTest(pattern=pattern):
                with self.assertRaises(regex.UnsupportedRegex) as caught:
                    regex.check(pattern)
                message = str(caught.exception)
                self.assertIn(construct, message)
                self.assertIn(text, message)
                self.assertIn("is not supported", message)
        self.assertEqual(str(self._refusal("ab*+")), "possessive quantifier '*+' at position 2 "
                         "is not supported: PostgreSQL and RE2 have no possessive quantifiers")

    def test_what_java_refuses_is_refused(self):
        errors = [c for c in CASES if "error" in c]
        self.assertGreaterEqual(len(errors), 5)
        for case in errors:
            with self.subTest(pattern=case["pattern"], java=case["error"]):
                self.assertIsInstance(self._refusal(case["pattern"]), regex.UnsupportedRegex)

    def test_java_constructs_become_engine_constructs(self):
        pg = {p: regex.translate(p, "postgres").pattern for p in (r"\d", r"\w", "(?i)ab", r"a\z")}
        self.assertEqual(pg, {r"\d": "[0-9]", r"\w": "[0-9A-Z\\u005Fa-z]",
                              "(?i)ab": "[Aa][Bb]", r"a\z": "a\\Z"})
        self.assertEqual(regex.translate(r"\Qa.b\E", "duckdb").pattern, "a\\x{2E}b")
        self.assertEqual(regex.translate("x+?y{2,3}?", "duckdb").pattern, "x+y{2,3}")
        dot = regex.translate(".", "postgres").pattern
        for terminator in regex.TERMINATORS:
            self.assertIn("\\u%04X" % ord(terminator), dot)
        self.assertTrue(dot.startswith("[^"))
        dollar = regex.translate("^a$", "duckdb")
        self.assertEqual(dollar.crlf_pattern, "\\Aa(?:\\x{D}\\x{A})?\\z")
        self.assertIsNone(regex.translate("^a", "duckdb").crlf_pattern)
        # A rule keeps Java's pattern; the SQL binds the translation.
        sql, params = quality.build_sql(quality.Rule("r", "regex", "code", {"pattern": r"\d$"}),
                                        "t", "postgres")
        self.assertIn("CASE WHEN right(CAST(\"code\" AS TEXT), 2) = %(crlf)s", sql)
        self.assertEqual(params["pattern"], "[0-9][\\u000A\\u000D\\u0085\\u2028-\\u2029]?\\Z")
        with self.assertRaises(ValueError):
            quality.build_sql(quality.Rule("r", "regex", "code", {"pattern": "(?=x)"}), "t",
                              "duckdb")

    def _refusal(self, pattern):
        try:
            regex.check(pattern)
        except regex.UnsupportedRegex as exc:
            return exc
        return None


@tagged("post_install", "-at_install")
class TestRegexEngines(TransactionCase):
    """Every supported case through quality.evaluate: PostgreSQL (view rules) and DuckDB
    (table rules) must both give Java's recorded answer."""

    def _answers(self, execute, dialect, create, insert, clear):
        execute(create, None)
        wrong = []
        for case in _supported():
            execute(clear, None)
            execute(insert, {"v": case["subject"]})
            rule = quality.Rule("r", "regex", "v", {"pattern": case["pattern"]})
            (result,) = quality.evaluate([rule], "regex_subjects", self._fetch(execute), dialect)
            if result.passed != case["find"]:
                wrong.append((case["pattern"], case["subject"], case["find"]))
        return wrong

    def _fetch(self, execute):
        return lambda sql, params: execute(sql, params, fetch=True)

    def test_postgres_gives_javas_answers(self):
        cr = self.env.cr

        def execute(sql, params, fetch=False):
            cr.execute(sql, params)
            return cr.fetchone() if fetch else None

        wrong = self._answers(execute, "postgres", "CREATE TEMP TABLE regex_subjects (v text)",
                              "INSERT INTO regex_subjects VALUES (%(v)s)",
                              "DELETE FROM regex_subjects")
        self.assertEqual(wrong, [], "PostgreSQL differs from Java (pattern, subject, Java)")

    def test_duckdb_gives_javas_answers(self):
        con = duckdb.connect()
        self.addCleanup(con.close)

        def execute(sql, params, fetch=False):
            cursor = con.execute(sql, params or None)
            return cursor.fetchone() if fetch else None

        wrong = self._answers(execute, "duckdb", "CREATE TABLE regex_subjects (v VARCHAR)",
                              "INSERT INTO regex_subjects VALUES ($v)",
                              "DELETE FROM regex_subjects")
        self.assertEqual(wrong, [], "DuckDB differs from Java (pattern, subject, Java)")


@tagged("post_install", "-at_install")
class TestRegexRules(LakeCase):
    def _rule(self, **vals):
        return self.env["ipai.databricks.quality.rule"].create(dict(
            {"name": "Code format", "table_name": "demo.silver.regions", "kind": "regex",
             "column": "region", "layer": "silver"}, **vals))

    def test_unsupported_pattern_is_refused_at_save(self):
        for pattern, construct in (("(?>a)", "atomic group '(?>'"),
                                   ("a*+", "possessive quantifier '*+'")):
            with self.subTest(pattern=pattern):
                with self.assertRaises(ValidationError) as caught:
                    self._rule(pattern=pattern)
                self.assertIn(construct, str(caught.exception))
        rule = self._rule(pattern=r"^[A-Z]{3}$")
        with self.assertRaises(ValidationError) as caught:
            rule.pattern = r"(?<=x)NCR"
        self.assertIn("lookbehind '(?<='", str(caught.exception))
        with self.assertRaises(ValidationError):
            self._rule(pattern=False)

    def test_view_rule_and_table_rule_agree_with_java(self):
        cases = [c for c in CASES if c["pattern"] == r"\bNCR\b"]
        self.assertGreaterEqual(len(cases), 15)
        expected = round(100.0 * sum(c["find"] for c in cases) / len(cases), 4)
        self.assertNotIn(expected, (0.0, 100.0))
        self.lake.write_table("demo.bronze.regions", pa.table({
            "id": pa.array(range(len(cases)), pa.int32()),
            "region": pa.array([c["subject"] for c in cases], pa.string())}))
        job = self.env["ipai.databricks.job"].create({
            "name": "Regions", "workspace_id": self.workspace.id, "layer": "silver",
            "sql": "SELECT * FROM demo.bronze.regions", "target_table": "demo.silver.regions"})
        self._rule(pattern=r"\bNCR\b", severity="warn")
        with trap_jobs() as trap:
            run = job.action_run_now()
            drain(trap)
        self.assertEqual(run.state, "success", run.message)
        table_rate = run.quality_result_ids.pass_rate  # DuckDB on the Delta table

        view = self.make_view(code="regions", source="demo.silver.regions",
                              quality_threshold=0.0)
        self._rule(pattern=r"\bNCR\b", severity="warn", view_id=view.id, table_name=False)
        snap = view._refresh_now()
        self.assertEqual(snap.state, "published", snap.message)
        view_rate = snap.quality_result_ids.pass_rate  # PostgreSQL on the staging table
        self.assertEqual((view_rate, table_rate), (expected, expected))
