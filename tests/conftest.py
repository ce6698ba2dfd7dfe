"""The suite's shared fixtures live in ``tests/fixtures/`` (one plugin module per idea),
registered here. Each domain's own helpers are in ``tests/<domain>/helpers.py``."""

import pytest

# Helper modules' asserts report their operands, as the tests' own do.
pytest.register_assert_rewrite("tests.fixtures", "tests.sync.helpers", "tests.reminders.helpers")

pytest_plugins = [
    "tests.fixtures.backends",
    "tests.fixtures.clock",
    "tests.fixtures.people",
    "tests.fixtures.outside",
    "tests.fixtures.directory",
]
