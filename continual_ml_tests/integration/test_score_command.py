"""`continual-ml score` against the real service: a file sent in several pieces comes back whole
and in order, as one request would answer it; `--local` scores the same without the service."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from continual_ml.app import cli
from continual_ml.serving.file_client import score_with_service
from continual_ml_tests.support.service_support import ROW, running_service

ROWS = 3000
PIECE_BYTES = 40_000  # about ten pieces of the file below


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    root = tmp_path_factory.mktemp("score_command")
    with running_service(root) as running:
        yield running


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame([{**ROW, "row_ref": f"r{i}"} for i in range(ROWS)])
    frame["x0"] = rng.normal(size=ROWS).astype(object)
    frame.loc[17, "x0"] = "1e400"  # refused, and echoed as sent
    frame.loc[2999, "segment"] = "up"
    frame["note"] = np.where(np.arange(ROWS) % 7 == 0, 'a "quoted"\nline, with comma', "")
    return frame


def test_a_file_sent_in_pieces_comes_back_whole_and_in_order(service, day, tmp_path, capsys):
    source, output = tmp_path / "day.csv", tmp_path / "day.scored.csv"
    day.to_csv(source, index=False)
    reported = []
    summary = score_with_service(
        str(source),
        service.url,
        str(output),
        chunk_bytes=PIECE_BYTES,
        on_progress=lambda done, rows: reported.append((done, rows)),
    )
    assert summary.startswith(f"day.csv: {ROWS - 2} rows scored, 2 refused")
    assert len(reported) >= 5 and reported[-1][1] == ROWS  # one report per piece
    pieces = pd.read_csv(output, dtype=str, keep_default_na=False)
    one_request = httpx.post(
        f"{service.url}/score_file",
        content=source.read_bytes(),
        headers={"content-type": "text/csv"},
        timeout=60,
    )
    whole = pd.read_csv(io.BytesIO(one_request.content), dtype=str, keep_default_na=False)
    assert list(pieces.columns) == list(whole.columns)
    assert list(pieces["row_ref"]) == [f"r{i}" for i in range(ROWS)]
    same = [c for c in whole.columns if c != "prediction_id"]  # each prediction its own id
    pd.testing.assert_frame_equal(pieces[same], whole[same])
    assert pieces.loc[17, "x0"] == "1e400" and "x0" in pieces.loc[17, "error"]
    assert pieces["prediction_id"].str.len().eq(32).sum() == ROWS - 2


def test_the_command_scores_locally_what_the_service_would(
    service, day, tmp_path, monkeypatch, capsys
):
    source = tmp_path / "day.parquet"
    day.astype({"x0": str}).to_parquet(source)
    monkeypatch.setenv("BENTOML_HOME", str(service.bentoml_home))
    through = tmp_path / "through.csv"
    url = ["--url", service.url]
    assert cli.main(["score", str(source), "--output", str(through), *url, "--no-progress"]) == 0
    local = tmp_path / "local.csv"
    assert cli.main(["score", str(source), "--local", "--output", str(local), "--progress"]) == 0
    out, err = capsys.readouterr()
    assert f"{ROWS - 2} rows scored, 2 refused" in out and "(model v1, local)" in out
    assert "day.parquet [" in err and f"{ROWS:,} rows" in err  # the bar, on stderr when asked
    served, here = pd.read_csv(through, dtype=str), pd.read_csv(local, dtype=str)
    assert here["prediction_id"].isna().all()  # nothing logged, so no id to give feedback on
    same = [c for c in served.columns if c != "prediction_id"]
    pd.testing.assert_frame_equal(here[same], served[same])
    typed = tmp_path / "local.parquet"
    assert cli.main(["score", str(source), "--local", "--output", str(typed)]) == 0
    table = pq.read_table(typed).to_pandas()
    assert np.allclose(
        table["probability_1"].dropna(), served["probability_1"].dropna().astype(float)
    )
    assert table["error"].notna().sum() == 2


def test_a_refused_piece_stops_the_command_and_leaves_no_partial_file(service, tmp_path):
    source, output = tmp_path / "bad.csv", tmp_path / "bad.scored.csv"
    source.write_text("x0,x1\n1,2\n")  # feature columns missing: the service's 400
    assert cli.main(["score", str(source), "--url", service.url, "--output", str(output)]) == 1
    assert not output.exists() and not list(tmp_path.glob(".*partial"))
