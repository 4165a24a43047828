"""The docstring examples (`>>>`) in the package run, so they stay true."""

import doctest
import importlib
import io
from pathlib import Path

import pytest

import continual_ml

PACKAGE = Path(continual_ml.__file__).parent
# Found by their text rather than listed, so examples added to any module run without a change here.
WITH_EXAMPLES = sorted(
    ".".join(("continual_ml", *path.relative_to(PACKAGE).with_suffix("").parts))
    for path in PACKAGE.rglob("*.py")
    if ">>>" in path.read_text()
)


def test_the_package_has_examples():
    assert WITH_EXAMPLES


@pytest.mark.parametrize("module_name", WITH_EXAMPLES)
def test_docstring_examples_run(module_name):
    module = importlib.import_module(module_name)
    tests = [t for t in doctest.DocTestFinder().find(module) if t.examples]
    assert tests, f"{module_name} has `>>>` but no example doctest can find"
    report = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in tests:
        runner.run(test, out=report.write)
    assert runner.failures == 0, report.getvalue()
