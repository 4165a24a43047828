"""The benchmarks page shows only what the results files hold, and where each came from."""

import json
import re
from importlib.metadata import version

import pytest

from continual_ml_tests.support.docs_pages import RESULTS, benchmark_tables, numbers_in, renderings

FILES = sorted(RESULTS.glob("*.json"))
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?(?:e[+-]\d+)?")
STAMP_KEYS = {"commit", "dirty", "uv_lock_sha256", "machine", "date"}


def strings_in(value: object) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set(value) | {s for item in value.values() for s in strings_in(item)}
    if isinstance(value, list):
        return {s for item in value for s in strings_in(item)}
    return set()


def table_cells(markdown: str) -> list[str]:
    """The body cells of every table (not the header rows)."""
    lines = markdown.splitlines()
    cells = []
    for i, line in enumerate(lines):
        is_body = line.startswith("|") and not line.startswith("|---")
        if is_body and not (i + 1 < len(lines) and lines[i + 1].startswith("|---")):
            cells += [cell.strip().strip("`") for cell in line.strip("|").split(" | ")]
    return cells


def test_there_are_results_to_show():
    assert len(FILES) >= 10


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_figure_in_a_section_is_a_value_of_its_file(path):
    data = json.loads(path.read_text())
    written = renderings(list(numbers_in(data)))
    texts = strings_in(data)
    cells = table_cells(benchmark_tables.section(path))
    assert cells
    for cell in cells:
        if cell in texts or cell in {"–", "True", "False"}:
            continue
        for figure in NUMBER.findall(cell):
            assert figure in written, (cell, figure)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_results_file_is_stamped_and_invents_no_commit(path):
    recorded = json.loads(path.read_text())["stamp"]
    assert STAMP_KEYS <= set(recorded)
    if recorded["commit"] is None:
        assert recorded["measured_before_stamping"] is True
        assert "Measured before stamping" in benchmark_tables.section(path)
    else:
        assert re.fullmatch(r"[0-9a-f]{40}", recorded["commit"])
        assert re.fullmatch(r"[0-9a-f]{64}", recorded["uv_lock_sha256"])
        assert recorded["commit"][:12] in benchmark_tables.section(path)


def test_a_stamped_file_shows_its_commit_lock_and_machine(tmp_path):
    # What `benchmarks.stamp.stamp()` records (it asks git, which a unit test may not start).
    fresh = {
        "commit": "3f2a9c41d0b7e6a5f4c3b2a190817263544536ab",
        "dirty": False,
        "uv_lock_sha256": "9e1d" * 16,
        "machine": {
            "platform": "Linux-6.1-x86_64",
            "python": "3.11.7",
            "nproc": 2,
            "cpu_model": "AMD EPYC",
            "load_average": [0.9, 1.1, 1.2],
        },
        "date": "2026-12-06T19:00:00+00:00",
    }
    path = tmp_path / "promotion.json"
    path.write_text(json.dumps({"stamp": fresh, "trained": 14, "gated_promoted": 4}))
    section = benchmark_tables.section(path)
    assert fresh["commit"][:12] in section and fresh["uv_lock_sha256"][:12] in section
    assert str(fresh["machine"]["nproc"]) in section and "before stamping" not in section
    assert table_cells(section) == ["trained", "14", "gated_promoted", "4"]


def test_figures_measured_on_another_duckdb_say_so(tmp_path):
    path = tmp_path / "ingestion.json"
    data = json.loads((RESULTS / "ingestion.json").read_text())
    for duckdb, warned in (("0.0.1", True), (version("duckdb"), False)):
        path.write_text(json.dumps({**data, "duckdb": duckdb}))
        assert ("Another DuckDB" in benchmark_tables.section(path)) is warned


def test_the_commands_the_page_names_run_modules_that_exist():
    commands = [json.loads(p.read_text()).get("command") for p in FILES]
    for command in [*benchmark_tables.COMMANDS.values(), *filter(None, commands)]:
        module = command.split()[2]
        assert (RESULTS.parents[1] / (module.replace(".", "/") + ".py")).is_file(), command
