"""A benchmark run from its test module: once per module, its results file in a temporary folder
(so a test run never overwrites the committed results)."""

from __future__ import annotations

from types import ModuleType

import pytest


def results_of(benchmark: ModuleType, **arguments):
    """A module-scoped `results` fixture: what `benchmark.run(**arguments)` returns."""

    @pytest.fixture(scope="module")
    def results(tmp_path_factory) -> dict:
        name = benchmark.__name__.rpartition(".")[2]
        output = tmp_path_factory.mktemp(f"bench_{name}") / f"{name}.json"
        return benchmark.run(output=output, **arguments)

    return results
