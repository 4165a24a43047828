"""The README is short, names only commands that exist, and quotes no measurement."""

import re

from continual_ml_tests.support.docs_pages import (
    HISTORY,
    ROOT,
    code_blocks,
    hand_written_pages,
    measured_figures,
)

README = (ROOT / "README.md").read_text()
MAKE_TARGET = re.compile(r"^([a-z][a-z-]*):", re.MULTILINE)


def makefile_targets() -> set[str]:
    return set(MAKE_TARGET.findall((ROOT / "Makefile").read_text()))


def test_the_readme_is_at_most_200_lines():
    assert len(README.splitlines()) <= 200


def test_every_make_target_the_readme_names_is_in_the_makefile():
    named = set(re.findall(r"\bmake ([a-z][a-z-]*)", README))
    assert {"demo", "test"} <= named
    assert named <= makefile_targets(), named - makefile_targets()


def test_the_two_commands_are_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.findall(r"^make (\w[\w-]*)$", ci, re.MULTILINE) == ["lint", "test"]
    assert "make lint" in README and "make test" in README


def test_the_readme_quotes_no_measurement():
    """Figures live in benchmarks/results/*.json and the page generated from them."""
    assert measured_figures(README) == []


def test_the_docs_pages_type_no_measurement_by_hand():
    """Every figure on the site comes from a generated table; the prose links to it."""
    typed = {page.name: measured_figures(page.read_text()) for page in hand_written_pages()}
    assert {name: figures for name, figures in typed.items() if figures} == {}


def test_no_history_in_the_readme_or_the_docs():
    """What was and why it changed belongs in CHANGELOG.md."""
    found = {
        page.name: HISTORY.findall(page.read_text())
        for page in hand_written_pages()
        if HISTORY.search(page.read_text())
    }
    assert found == {}


def test_the_readmes_links_into_the_docs_exist():
    for target in re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)(?:#[\w-]+)?\)", README):
        assert (ROOT / target).is_file(), target


def test_the_readmes_commands_run_from_a_fresh_clone():
    """Each command line in the README is make, the venv's own tools, curl or an export."""
    starts = ("make ", ".venv/bin/", "curl ", "export ")
    for block in code_blocks(README):
        language, *lines = block.splitlines()
        if language.strip() != "bash":
            continue  # program output (the demo's timeline)
        for line in lines:
            if line.strip() and not line.startswith((" ", "#")):
                assert line.startswith(starts), line


def test_the_checks_catch_what_the_old_readme_said():
    for old in ("Last round ended at 77%", "issue 17's four kinds", "last session"):
        assert HISTORY.search(old), old
    figures = measured_figures("served 5,167 req/s, p99 45 ms, 1.84× one, 86% of bare")
    assert figures == ["5,167", "45", "1.84", "86"]
