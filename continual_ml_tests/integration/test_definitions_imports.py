"""Loading the Dagster definitions imports no ML library: every run process, sensor tick and
code server loads them, and only the steps that train, evaluate or render a report need one.
Nor anything of the `scale-out` extra: the embedded default runs without it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

HEAVY = {"sklearn", "mlflow", "evidently"}
SCALE_OUT = {"dagster_celery", "celery", "psycopg2", "duckdb_ext"}
LOADED = "import json, sys, continual_ml.definitions; print(json.dumps(sorted(sys.modules)))"


def test_loading_the_definitions_imports_no_sklearn_mlflow_or_evidently(tmp_path):
    # A fresh interpreter: this one has imported everything the other tests needed.
    env = {**os.environ, "CONTINUAL_ML_HOME": str(tmp_path)}
    loaded = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", LOADED],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    packages = {name.partition(".")[0] for name in json.loads(loaded.stdout.splitlines()[-1])}
    assert {"dagster", "continual_ml"} <= packages  # the definitions did load
    assert packages & HEAVY == set()
    assert packages & SCALE_OUT == set()
