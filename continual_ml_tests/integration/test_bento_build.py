"""Consistency checks for the docker-compose deployment files (Docker itself is not run here)."""

import os
import sys
from pathlib import Path

from continual_ml_tests.support.builds import built_at_root

VENV_BIN = Path(sys.executable).parent
# `${VAR}` is filled in by compose from `.env`; `$${VAR}` reaches the container as `${VAR}`.


def test_the_bentofile_builds_a_bento(tmp_path):
    # A new user's PATH: no `uv` on it, so BentoML must find the one the project installs.
    env = {
        **os.environ,
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "BENTOML_HOME": str(tmp_path),
        "BENTOML_DO_NOT_TRACK": "true",
    }
    built_at_root([str(VENV_BIN / "bentoml"), "build", "-f", "bento/bentofile.yaml", "."], env)
    [bento] = list((tmp_path / "bentos" / "continual_ml").glob("*/bento.yaml"))
    assert "bento.service:ChampionClassifier" in bento.read_text()
    shipped = bento.parent / "src" / "continual_ml"
    assert (shipped / "serving" / "follower.py").exists()
    # Only what serving needs: no Dagster wiring, no commands, no warehouse.
    assert not any((shipped / name).exists() for name in ("defs", "app", "warehouse"))
