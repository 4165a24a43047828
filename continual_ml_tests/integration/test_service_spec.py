"""The service's own OpenAPI document is valid, and the service does what it says.

Schemathesis generates requests from `/docs.json` (valid ones and ones breaking the schema) and
checks every answer against the document: no 5xx, documented status codes, content types and
response schemas, schema-valid bodies accepted and invalid ones refused, refused without the
token, other methods answered 405 with `Allow`. It runs twice: driven by Hypothesis against the
app in process, and as its own command line, every check and phase on, against a real
`bentoml serve`. `support/schemathesis_files` tells it which columns a scored file has.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.python.asgi import get_client, shutdown_lifespans

from continual_ml.app.supervision.service_process import REPO_ROOT
from continual_ml_tests.support import schemathesis_files
from continual_ml_tests.support.in_process_service import service_app
from continual_ml_tests.support.service_support import export, running_service, trained

TOKEN = "spec-token-5d1e"
EXAMPLES_PER_OPERATION = 40


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app in process; schemathesis serves it (runs its lifespan) for every request."""
    root = tmp_path_factory.mktemp("spec")
    export(root / "bentoml", 1, trained(0))
    token = {"CONTINUAL_ML_API_TOKEN": TOKEN}
    with service_app(root / "bentoml", root / "logs", token) as built:
        try:
            yield built
        finally:
            shutdown_lifespans()  # the service stops: follower, logs


@pytest.fixture(scope="module")
def loaded(app):
    return schemathesis.openapi.from_asgi("/docs.json", app)


@pytest.fixture(scope="module")
def document(loaded) -> dict:
    return loaded.raw_schema


def test_the_document_is_valid_openapi_and_names_every_route(document):
    validate(document)
    assert set(document["paths"]) >= {
        "/predict", "/predict_rows", "/predict_batch", "/feedback", "/model"
    }  # fmt: skip
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path in ("/predict", "/predict_rows", "/predict_batch", "/feedback"):
        documented = set(document["paths"][path]["post"]["responses"])
        assert {"400", "401", "405", "413", "415"} <= documented


def test_the_swagger_page_loads_nothing_from_elsewhere(app):
    with get_client(app) as client:
        page = client.get("http://testserver/").text
    assert "swagger-ui-bundle.js" in page
    assert "http://" not in page and "https://" not in page and "//" not in page.replace("://", "")


@pytest.fixture(scope="module")
def api_schema(loaded):
    @loaded.auth()
    class Token:  # schemathesis sends it, and also tries each route without it or with another
        def get(self, case, context):
            return TOKEN

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    return loaded


# Hypothesis drives each operation directly: schemathesis's pytest plugin does not run under
# pytest 9 here ('Function' object has no attribute '_nodeid').
@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
def test_the_service_does_what_its_document_says(api_schema, mode):
    failures, cases, statuses = [], 0, Counter()
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if mode is GenerationMode.NEGATIVE and operation.method.upper() != "POST":
            continue  # GET routes take no input to break

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,  # the same cases every run
            suppress_health_check=list(HealthCheck),
            database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: report the first failure
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case):
            nonlocal cases
            cases += 1
            answer = case.call_and_validate()  # every check
            statuses[case.operation.path, answer.status_code] += 1

        try:
            run()
        except Exception as failure:  # collected, so one run reports every operation's failure
            failures.append(f"{operation.label}: {str(failure)[:600]}")
    CASES[mode.value] = cases
    print(f"schemathesis {mode.value} cases: {cases}, failures: {len(failures)}, {statuses}")
    assert failures == []
    if mode is GenerationMode.POSITIVE:  # accepted, but for one id given two labels (a 409)
        json_routes = {status for (path, status) in statuses if path != "/score_file"}
        assert json_routes == {200, 409} or json_routes == {200}
    assert cases >= EXAMPLES_PER_OPERATION  # the cases did run


CASES: dict[str, int] = {}


@pytest.fixture(scope="module")
def real_service(tmp_path_factory):
    root = tmp_path_factory.mktemp("spec-real")
    with running_service(root, CONTINUAL_ML_API_TOKEN=TOKEN) as running:
        yield running


def test_schemathesis_finds_nothing_against_the_real_service(real_service, tmp_path):
    """`schemathesis run` as a user runs it: every check, every phase, the token given."""
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "run", f"{real_service.url}/docs.json"),
        *("--checks", "all", "--max-examples", "100", "--seed", "20261206", "--workers", "1"),
        *("--suppress-health-check", "all", "--header", f"Authorization: Bearer {TOKEN}"),
        *("--no-color", "--generation-database", "none"),
    ]
    # Run in a folder of its own: schemathesis keeps a cache of past failures in its cwd and
    # replays them, and this run must be the same every time.
    env = os.environ | {
        "SCHEMATHESIS_HOOKS": schemathesis_files.__name__,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.getenv("PYTHONPATH")])),
    }
    run = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env)
    print(run.stdout[-3000:])
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    generated, passed = map(int, re.search(r"(\d+) generated, (\d+) passed", run.stdout).groups())
    assert generated == passed and generated >= 10 * 20  # ten operations, each tried many ways
    assert "10 selected / 10 total" in run.stdout
