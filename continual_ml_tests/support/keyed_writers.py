"""Writer processes racing on the same keys, round after round, for the keyed-writes tests.

    python -m continual_ml_tests.support.keyed_writers keyed SIGNALS ROUNDS
    python -m continual_ml_tests.support.keyed_writers ingest SIGNALS ROUNDS FILE...

Round r starts when the file SIGNALS/go-r appears, so every writer starts it at once. In it, a
writer opens the warehouse its environment selects (as a step does), makes its writes, closes
it, and leaves SIGNALS/done-r-PID. `keyed` writes a new key of every keyed table: day r of the
stream (windows, validation, performance, drift), candidate r (gate) and row r (shadow scores).
`ingest` lands the round's files: FILE... holds, for each round in turn, the files it lands in
that order (`files_per_round` of them; the test hands each writer its own order).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd

from continual_ml.config import Paths, default_config
from continual_ml.demo.synthetic_stream import partition_date
from continual_ml.ingestion import ingest_file
from continual_ml.ingestion.partition_checks import record_verdict
from continual_ml.warehouse import record_drift, record_performance, record_window, registry
from continual_ml.warehouse.connection import warehouse_connection, warehouse_location
from continual_ml.warehouse.shadow_scores import record_scores

# Keyed tables and the columns of their key, as the keyed round writes them.
KEYS = {
    "data_windows": ("partition_date", "kind"),
    "partition_validation": ("partition_date",),
    "performance_history": ("partition_date",),
    "drift_reports": ("partition_date",),
    "drift_scores": ("partition_date", "feature"),
    "gate_results": ("candidate_version",),
    "shadow_scores": ("model_version", "row_id"),
}


def round_day(round_number: int) -> date:
    return partition_date(default_config(), round_number)


def write_keys(conn, round_number: int, writer: int) -> None:
    """One new key of every keyed table; `writer` goes in a value, to tell the rows apart."""
    day = round_day(round_number)
    record_window(conn, day, "current", day, day, writer)
    record_verdict(conn, day, {} if writer % 2 else {"writer": writer})
    record_performance(conn, [{"partition_date": day, "champion_version": writer, "n_rows": 1}])
    scores = pd.DataFrame(
        {"partition_date": [day], "feature": ["x1"], "method": ["psi"], "threshold": [0.1]}
    ).assign(score=float(writer), drifted=False)
    record_drift(conn, day, scores, champion_version=writer, n_features=1, n_drifted=0)
    registry.record_gate(conn, round_number, writer, True, "test", {"writer": writer})
    shadow = pd.DataFrame(
        {"row_id": [f"row-{round_number}"], "partition_date": [day], "score": [1.0]}
    ).assign(correct=True)
    record_scores(conn, 0, "accuracy", shadow.assign(score=float(writer)))


def wait_for(path: Path, timeout_seconds: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.005)


def main(command: str, signals: str, rounds: str, *files: str) -> None:
    logging.basicConfig(level=logging.INFO)  # the conflicts retried, on stderr
    signals_dir, n_rounds = Path(signals), int(rounds)
    per_round = len(files) // n_rounds if files else 0
    location = warehouse_location(Paths.from_env())
    config = default_config()
    for r in range(n_rounds):
        wait_for(signals_dir / f"go-{r}")
        with warehouse_connection(location) as conn:
            if command == "keyed":
                write_keys(conn, r, os.getpid())
            else:
                for path in files[r * per_round : (r + 1) * per_round]:
                    report = ingest_file(conn, config, path)
                    print(report.summary(), file=sys.stderr, flush=True)
        (signals_dir / f"done-{r}-{os.getpid()}").touch()


if __name__ == "__main__":
    main(*sys.argv[1:])
