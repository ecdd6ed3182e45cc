"""Every test in a module's tests/ is one that Odoo's own runner collects.

`odoo-bin --test-enable` (what OCA's CI runs) imports `odoo.addons.<module>.tests`, takes
the `test_*` submodules that package imports, and in each one runs the `test*` methods
defined in the body of the `unittest.TestCase` classes defined in that file
(odoo/tests/loader.py). pytest-odoo collects more: module-level functions, fixtures,
parametrized cases, files the package does not import, imported classes and inherited
methods. A test only pytest sees is a test OCA's CI never runs, so each of those shapes
fails here, statically (the files are parsed, not imported).
"""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Odoo's test case classes (odoo/tests/common.py) and the unittest one they derive from.
ODOO_CASES = {"BaseCase", "TransactionCase", "SingleTransactionCase", "HttpCase"}
ODOO_TEST_MODULES = {"odoo.tests", "odoo.tests.common"}


def _modules(root):
    """Addon folders under root (and root/addons): those holding a __manifest__.py."""
    for base in (root, root / "addons"):
        if base.is_dir():
            yield from sorted(p.parent for p in base.glob("*/__manifest__.py"))


class _File:
    """One parsed Python file of a tests/ package: its classes and imported names."""

    def __init__(self, path):
        self.path = path
        self.tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        self.classes = {n.name: n for n in self.tree.body if isinstance(n, ast.ClassDef)}
        self.imports = {}  # local name -> (dotted module or None, name, level)
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = (
                        node.module, alias.name, node.level)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    self.imports[alias.asname or alias.name.split(".")[0]] = (
                        alias.name, None, 0)


class Checker:
    """Finds tests in an addon's tests/ package that Odoo's runner would not run."""

    def __init__(self, addons_root):
        self.root = Path(addons_root)
        self._files = {}

    def _file(self, path):
        if path not in self._files:
            self._files[path] = _File(path)
        return self._files[path]

    def _resolve_module(self, current, module, level):
        """The file a `from <module> import` in `current` reads, or None (not ours)."""
        if level:
            base = current.parent
            for _ in range(level - 1):
                base = base.parent
            parts = module.split(".") if module else []
        elif module and module.startswith("odoo.addons."):
            parts = module.split(".")[2:]
            base = next((m.parent for m in _modules(self.root) if m.name == parts[0]), None)
            if base is None:
                return None
        else:
            return None
        target = base.joinpath(*parts)
        for cand in (target.with_suffix(".py"), target / "__init__.py"):
            if cand.is_file():
                return cand
        return None

    def _base_info(self, file, expr, seen):
        """(is an Odoo test case, test methods it brings) for a base-class expression."""
        if isinstance(expr, ast.Attribute):  # common.TransactionCase, tests.HttpCase
            owner = expr.value.id if isinstance(expr.value, ast.Name) else None
            origin = file.imports.get(owner, (None, None, 0))
            dotted = ".".join(filter(None, (origin[0], origin[1])))
            return (dotted in ODOO_TEST_MODULES and expr.attr in ODOO_CASES), set()
        if not isinstance(expr, ast.Name):
            return False, set()
        name = expr.id
        if name in file.classes:
            return self._class_info(file, file.classes[name], seen)
        module, orig, level = file.imports.get(name, (None, None, 0))
        if module in ODOO_TEST_MODULES and level == 0:
            return orig in ODOO_CASES, set()
        target = self._resolve_module(file.path, module, level)
        if target is None:
            return False, set()
        other = self._file(target)
        if orig in other.classes:
            return self._class_info(other, other.classes[orig], seen)
        if orig in other.imports:  # re-exported
            return self._base_info(other, ast.Name(id=orig), seen)
        return False, set()

    def _class_info(self, file, node, seen=frozenset()):
        key = (file.path, node.name)
        if key in seen:
            return False, set()
        seen = seen | {key}
        is_case, inherited = False, set()
        for base in node.bases:
            base_case, base_tests = self._base_info(file, base, seen)
            is_case |= base_case
            inherited |= base_tests
        return is_case, inherited | set(_test_methods(node))

    def problems(self, module_dir):
        """Human-readable problems, one per uncollected test shape."""
        tests = Path(module_dir) / "tests"
        if not tests.is_dir():
            return []
        out = []
        init = tests / "__init__.py"
        imported = set()
        if init.is_file():
            for node in ast.walk(self._file(init).tree):
                if isinstance(node, ast.ImportFrom) and node.level == 1 and not node.module:
                    imported |= {a.name for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 1:
                    imported.add(node.module.split(".")[0])
        for path in sorted(tests.rglob("*.py")):
            rel = path.relative_to(Path(module_dir).parent)
            file = self._file(path)
            is_test_module = path.parent == tests and path.name.startswith("test_")
            if is_test_module and path.stem not in imported:
                out.append(f"{rel}: not imported by tests/__init__.py")
            for node in file.tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    if node.name.startswith("test"):
                        out.append(f"{rel}:{node.lineno}: module-level test function "
                                   f"{node.name}()")
                    if node.name == "load_tests":
                        out.append(f"{rel}:{node.lineno}: load_tests() is ignored by Odoo")
                    for deco in node.decorator_list:
                        if "pytest" in ast.unparse(deco):
                            out.append(f"{rel}:{node.lineno}: pytest fixture or mark on "
                                       f"{node.name}()")
            for name, cls in file.classes.items():
                is_case, tests_seen = self._class_info(file, cls)
                own = _test_methods(cls)
                if tests_seen and not is_case:
                    out.append(f"{rel}:{cls.lineno}: class {name} has tests but is not an "
                               "Odoo test case (BaseCase, TransactionCase, HttpCase)")
                    continue
                if not is_case:
                    continue
                if own and not is_test_module:
                    out.append(f"{rel}:{cls.lineno}: {name} defines tests in a file Odoo "
                               "does not load (not a tests/test_*.py module)")
                inherited = tests_seen - set(own)
                if inherited and not _allows_inherited(cls):
                    out.append(f"{rel}:{cls.lineno}: {name} inherits "
                               f"{', '.join(sorted(inherited))}: Odoo runs only methods "
                               "defined in the class body")
                for meth, fn in own.items():
                    extra = [a.arg for a in fn.args.args[1:]]
                    if extra or any("pytest" in ast.unparse(d) for d in fn.decorator_list):
                        out.append(f"{rel}:{fn.lineno}: {name}.{meth} takes pytest "
                                   "fixtures or marks")
            for local, (module, orig, level) in file.imports.items():
                if not is_test_module or local in file.classes:
                    continue
                target = self._resolve_module(path, module, level) if module or level else None
                if target is None or orig is None:
                    if module == "pytest" or (module or "").startswith("pytest."):
                        out.append(f"{rel}: imports pytest (fixtures and marks do not run "
                                   "under Odoo)")
                    continue
                other = self._file(target)
                if orig in other.classes and _test_methods(other.classes[orig]):
                    out.append(f"{rel}: imports the test class {orig}; pytest runs it again "
                               "here, Odoo does not")
        return out


def _test_methods(cls):
    return {
        n.name: n for n in cls.body
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test")
    }


def _allows_inherited(cls):
    for node in cls.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "allow_inherited_tests_method"
            for t in node.targets
        ):
            return True
    return False


# ----------------------------------------------------------------------------- tests

SAMPLE = {
    "__manifest__.py": "{'name': 'Sample', 'version': '19.0.1.0.0', 'license': 'LGPL-3'}\n",
    "tests/__init__.py": "from . import test_good, test_shapes\n",
    "tests/common.py": (
        "from odoo.tests import TransactionCase\n\n\n"
        "class SampleCase(TransactionCase):\n"
        "    def helper(self):\n        return 1\n\n\n"
        "class SharedTests(TransactionCase):\n"
        "    def test_shared(self):\n        pass\n"
    ),
    "tests/test_good.py": (
        "from odoo.tests import BaseCase, common, tagged\n\n"
        "from .common import SampleCase\n\n\n"
        "class Mixin:\n    def check(self):\n        return True\n\n\n"
        "@tagged('post_install', '-at_install')\n"
        "class TestGood(Mixin, SampleCase):\n    def test_one(self):\n        pass\n\n\n"
        "class TestPlain(BaseCase):\n    def test_two(self):\n        pass\n\n\n"
        "class TestAttr(common.HttpCase):\n    def test_three(self):\n        pass\n"
    ),
    "tests/test_shapes.py": (
        "import unittest\n\nimport pytest\n\n"
        "from .common import SharedTests\n\n\n"
        "def test_function():\n    assert True\n\n\n"
        "@pytest.fixture\ndef records():\n    return {}\n\n\n"
        "class TestNotOdoo(unittest.TestCase):\n    def test_x(self):\n        pass\n\n\n"
        "class TestBare:\n    def test_y(self):\n        pass\n\n\n"
        "class TestChild(SharedTests):\n    def test_own(self):\n        pass\n"
    ),
    "tests/test_forgotten.py": (
        "from odoo.tests import BaseCase\n\n\n"
        "class TestForgotten(BaseCase):\n    def test_z(self, tmp_path):\n        pass\n"
    ),
}


def test_a_sample_module_with_every_uncollected_shape_fails(tmp_path):
    module = tmp_path / "sample_addon"
    for rel, text in SAMPLE.items():
        (module / rel).parent.mkdir(parents=True, exist_ok=True)
        (module / rel).write_text(text)
    problems = Checker(tmp_path).problems(module)
    text = "\n".join(problems)
    expected = [
        "test_forgotten.py: not imported by tests/__init__.py",
        "TestForgotten.test_z takes pytest fixtures",
        "module-level test function test_function()",
        "pytest fixture or mark on records()",
        "class TestNotOdoo has tests but is not an Odoo test case",
        "class TestBare has tests but is not an Odoo test case",
        "TestChild inherits test_shared",
        "imports the test class SharedTests",
        "test_shapes.py: imports pytest",
        "common.py:9: SharedTests defines tests in a file Odoo does not load",
    ]
    for wanted in expected:
        assert wanted in text, f"{wanted!r} not reported in:\n{text}"
    assert len(problems) == len(expected), text
    assert "test_good.py" not in text and "SampleCase" not in text  # the good shapes pass


def test_every_module_test_is_collected_by_odoos_runner():
    checker = Checker(REPO)
    modules = list(_modules(REPO))
    assert {m.name for m in modules} >= {
        "ipai_microservices_gateway", "ipai_waf_assessment", "ipai_databricks_connector",
        "ipai_well_architected",
    }
    problems = [p for m in modules for p in checker.problems(m)]
    assert not problems, "tests only pytest would run:\n  " + "\n  ".join(problems)
