"""Every test is exactly one of `unit` and `integration` (conftest.py decides which), so none
escapes both `-m "not integration"` and `-m integration`."""

import pytest

# Tests that start a process in each way the rule looks for: a fixture (the service), a helper
# in their module (make, a killed parent), their own code (the CLI in a child interpreter), a
# class in their module (the production profile's deployment).
STARTS_PROCESSES = (
    "test_service.py::test_one_row_gets_probabilities_class_version_and_id",
    "test_first_contact.py::test_make_reuses_the_environment",
    "test_child_processes.py::test_a_live_system_child_dies_with_its_killed_parent",
    "test_demo.py::",
    "test_ingestion.py::test_a_process_killed_mid_write_leaves_the_file_as_it_was",
    "test_production_profile.py::",
)


def kinds(item: pytest.Item) -> set[str]:
    return {name for name in ("unit", "integration") if item.get_closest_marker(name)}


def collected(request) -> dict[str, pytest.Item]:
    return {item.nodeid.split("/")[-1]: item for item in request.session.items}


def test_every_collected_test_is_exactly_one_of_unit_and_integration(request):
    wrong = [nodeid for nodeid, item in collected(request).items() if len(kinds(item)) != 1]
    assert not wrong, f"marked neither or both unit and integration: {wrong}"


def test_tests_that_start_processes_are_integration_and_the_others_unit(request):
    # Whatever the selection: what it holds of these must be integration (a `-m "not
    # integration"` run holds none of them).
    for nodeid, item in collected(request).items():
        if nodeid.startswith(STARTS_PROCESSES):
            assert kinds(item) == {"integration"}, nodeid
    assert kinds(request.node) == {"unit"}
