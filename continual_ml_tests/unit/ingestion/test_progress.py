"""`continual-ml ingest` shows progress on stderr for a large file (or on a terminal), and its
stdout stays one line per file and one summary line."""

import io

from continual_ml.app import cli
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.ingestion import progress


def day_file(config, tmp_path, n=1500):
    path = tmp_path / "day.csv"
    generate_batch(config, partition_date(config, 0)).head(n).to_csv(path, index=False)
    return path


def test_a_large_file_shows_its_progress_on_stderr_and_stdout_stays_a_summary(
    home, config, tmp_path, capfd, monkeypatch
):
    path = day_file(config, tmp_path)
    monkeypatch.delenv("CONTINUAL_ML_PROGRESS", raising=False)
    monkeypatch.setattr(progress, "LARGE_FILE_BYTES", path.stat().st_size)
    capfd.readouterr()
    assert cli.main(["ingest", str(path)]) == 0
    out, err = capfd.readouterr()
    assert out.splitlines() == [
        "day.csv: ingested, 1500 rows in, 0 quarantined",
        "1 files (1 ingested): 1500 rows in, 0 quarantined",
    ]
    stages = [line for line in err.splitlines() if line.startswith("day.csv: ")]
    assert stages[0] == "day.csv: reading"
    assert "day.csv: validating and writing" in {line.split(" [")[0] for line in stages}
    assert stages[-1] == "day.csv: done"
    assert "DEBUG" not in out + err


def test_a_small_file_off_a_terminal_shows_no_progress(home, config, tmp_path, capfd, monkeypatch):
    monkeypatch.delenv("CONTINUAL_ML_PROGRESS", raising=False)
    path = day_file(config, tmp_path, n=50)
    capfd.readouterr()
    assert cli.main(["ingest", str(path)]) == 0
    out, err = capfd.readouterr()
    assert len(out.splitlines()) == 2 and "day.csv: reading" not in err


def test_the_environment_forces_progress_on_or_off(tmp_path, monkeypatch):
    small = tmp_path / "small.csv"
    small.write_text("a\n1\n")
    monkeypatch.setattr(progress, "LARGE_FILE_BYTES", 1)
    monkeypatch.setenv("CONTINUAL_ML_PROGRESS", "0")
    assert not progress.wants_progress(small, io.StringIO())
    monkeypatch.setattr(progress, "LARGE_FILE_BYTES", 10**9)
    monkeypatch.setenv("CONTINUAL_ML_PROGRESS", "1")
    assert progress.wants_progress(small, io.StringIO())
    monkeypatch.delenv("CONTINUAL_ML_PROGRESS")
    assert not progress.wants_progress(small, io.StringIO())
