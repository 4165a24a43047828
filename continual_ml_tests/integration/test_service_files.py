"""`continual-ml score` scores a file with the running service, over a real socket (the route
itself is tested in process: unit/serving/test_service_files.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from continual_ml.app.cli import main
from continual_ml_tests.support.service_support import ROW, running_service


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    root = tmp_path_factory.mktemp("files")
    with running_service(root) as running:
        yield running


def rows_with_one_bad() -> pd.DataFrame:
    frame = pd.DataFrame([{**ROW, "x0": 0.1 * i, "row_ref": f"r{i}"} for i in range(10)])
    frame["x1"] = frame["x1"].astype(object)
    frame.loc[7, "x1"] = "high"  # not a number
    return frame


def test_the_cli_scores_a_file_with_the_running_service(service, tmp_path, capsys):
    source = tmp_path / "day.csv"
    rows_with_one_bad().to_csv(source, index=False)
    assert main(["score", str(source), "--url", service.url]) == 0
    assert "9 rows scored, 1 refused" in capsys.readouterr().out
    scored = pd.read_csv(tmp_path / "day.scored.csv")
    assert len(scored) == 10 and scored["predicted_class"].notna().sum() == 9
