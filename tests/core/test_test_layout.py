"""The suite keeps its shape: shared fixtures and helpers live in ``tests/fixtures/`` (or a
domain's ``tests/<domain>/helpers.py``), registered from ``tests/conftest.py``; no module of
the suite imports from a test module or from ``tests/conftest.py``; and the people and the
clock every domain uses are defined once.

Read with ``ast`` (nothing is imported), so a violation fails here with its file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
FIXTURES = TESTS / "fixtures"
# Fixtures that have one definition, in tests/fixtures/.
SHARED = {"clock", "member", "mentor", "staff"}
# (module, fixture) -> why a module keeps its own definition of a shared fixture.
ALLOWED: dict[tuple[str, str], str] = {}


def modules() -> list[Path]:
    return sorted(path for path in TESTS.rglob("*.py") if ".venv" not in path.parts)


def relative(path: Path) -> str:
    return path.relative_to(TESTS.parent).as_posix()


def imported_modules(tree: ast.Module) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if is_test_module_or_conftest(node.module):
                found.append((node.lineno, node.module))
            else:  # from tests.reminders import test_outbox
                found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def is_test_module_or_conftest(dotted: str) -> bool:
    parts = dotted.split(".")
    return parts[0] == "tests" and any(
        part == "conftest" or part.startswith("test_") for part in parts[1:]
    )


def is_fixture(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if ast.unparse(target) in ("pytest.fixture", "fixture"):
            return True
    return False


def fixtures_of(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and is_fixture(node)
    ]


def test_no_module_of_the_suite_imports_a_test_module_or_the_conftest():
    wrong = [
        f"{relative(path)}:{line} imports {dotted}"
        for path in modules()
        for line, dotted in imported_modules(ast.parse(path.read_text()))
        if is_test_module_or_conftest(dotted)
    ]

    assert wrong == [], "import helpers from tests/fixtures/ or tests/<domain>/helpers.py:\n" + (
        "\n".join(wrong)
    )


def test_the_shared_people_and_clock_are_defined_only_in_tests_fixtures():
    wrong = [
        f"{relative(path)}:{node.lineno} defines the fixture {node.name!r}"
        for path in modules()
        if FIXTURES not in path.parents
        for node in fixtures_of(ast.parse(path.read_text()))
        if node.name in SHARED and (relative(path), node.name) not in ALLOWED
    ]

    assert wrong == [], "use the one in tests/fixtures/ (override member_profile or now):\n" + (
        "\n".join(wrong)
    )


def test_every_fixture_module_is_registered_as_a_plugin():
    conftest = ast.parse((TESTS / "conftest.py").read_text())
    (plugins,) = [
        ast.literal_eval(node.value)
        for node in conftest.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "pytest_plugins" for t in node.targets)
    ]
    defining = {
        f"tests.fixtures.{path.stem}"
        for path in FIXTURES.glob("*.py")
        if fixtures_of(ast.parse(path.read_text()))
        or any(
            isinstance(node, ast.FunctionDef) and node.name.startswith("pytest_")
            for node in ast.parse(path.read_text()).body
        )
    }

    assert defining - set(plugins) == set(), "add them to pytest_plugins in tests/conftest.py"
