"""The folder a test lives in says what it is: unit/ (no process), integration/, bench/ (slow)."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from continual_ml_tests.conftest import MARKERS_BY_FOLDER, TESTS, ProcessStarted


def kinds(item: pytest.Item) -> set[str]:
    return {name for name in ("unit", "integration", "slow") if item.get_closest_marker(name)}


def test_every_collected_test_is_marked_by_its_folder(request):
    wrong = [
        item.nodeid
        for item in request.session.items
        if kinds(item) != set(MARKERS_BY_FOLDER[Path(item.path).relative_to(TESTS).parts[0]])
    ]
    assert not wrong, f"marked otherwise than their folder says: {wrong}"
    assert kinds(request.node) == {"unit"}


def test_every_test_file_lives_in_a_marked_folder():
    stray = [
        str(path.relative_to(TESTS))
        for path in TESTS.rglob("test_*.py")
        if path.relative_to(TESTS).parts[0] not in MARKERS_BY_FOLDER
    ]
    assert not stray, f"test files outside unit/, integration/ and bench/: {stray}"


def test_a_unit_test_that_starts_a_process_fails():
    with pytest.raises(ProcessStarted, match="move it to integration/"):
        subprocess.run([sys.executable, "-c", "pass"], check=True)


def test_no_test_module_imports_another():
    """Shared helpers live in support/ (or conftest.py): a test module is nobody's library."""
    importing = []
    for path in TESTS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and re.match(
                r"continual_ml_tests\..*\.test_\w+$", node.module or ""
            ):
                importing.append(f"{path.relative_to(TESTS)} imports {node.module}")
    assert not importing
