"""Ingesting user files into the warehouse: checked in SQL, quarantined with reasons, exactly once.

`ingest_file` lands a CSV or Parquet file of observations, `ingest_labels` a file of late
labels, `ingest_prediction_log` a JSONL log written by the service (`prediction_log`). Each one:

- reads the file with DuckDB's own readers and checks every row in SQL (see `rules`), so
  memory does not grow with the file: Python never holds the rows;
- writes the good rows to their table and every refused row to `quarantined_rows` with a
  reason naming the column and the rule; rows in = good + quarantined, or the call fails;
- quarantines a file it cannot read at all (truncated, binary, not UTF-8, missing columns) as a
  whole in `quarantined_files` and returns a report saying why, without raising;
- commits the rows, their quarantine and the `ingested_files` record in one transaction, so an
  interrupted call leaves the warehouse as it was;
- is a no-op for a file whose sha256 it has already ingested or quarantined.

Call them outside an open transaction. DuckDB keeps written blocks in its buffer pool up to the
connection's `memory_limit` (80% of RAM unless set): set it (`SET memory_limit = '1GB'`) to bound
the process; under a limit the peak stays flat however large the file (`benchmarks.ingestion`).
An id repeated within a file quarantines every copy, since which one is right cannot be told.

Re-ingesting on purpose goes through `replace_partitions_from_file`: it replaces the partitions
the file covers, whether or not the file was seen before, in one transaction (exactly-once
protects against accidents: the same file dropped twice, a sensor ticking twice, a retried run;
a replacement is a decision, so it always runs and is recorded with mode "replace").

Files name the id and event-time columns as the config says (`id_column`, `event_time_column`);
`observations` calls them `row_id` and `event_time`. CSV files are comma-separated UTF-8 with a
header line and double quotes; an empty field is a missing value. Columns the config does not
name are ignored (and kept in the quarantined row's JSON). A `batch_id` column is used when
present, else the source name. Event times with an offset are converted to UTC; naive ones are
taken as UTC; the partition is the UTC day.

Late labels (`ingest_labels`): a CSV or Parquet file with the id column, the label column and an
optional `labelled_at`, appended to `labels` (a history, never rewriting `observations`). The
label a row trains with is the newest one: largest `labelled_at` (the ingestion time when it is
missing), then the latest ingestion; a late label wins over a label `observations` already has,
since it came later. A label may arrive before its row: it is kept and joins the row when the
row lands (the report counts it as `waiting`). `labelled_rows` returns only rows with a label,
`rows_with_labels` every row with its newest label, for monitoring days still unlabelled.

Prediction logs (`ingest_prediction_log`): UTF-8 JSON lines, one object per line, blank lines
ignored. A prediction::

    {"kind": "prediction", "prediction_id": "9f1c…", "model_version": 3,
     "served_at": "2026-01-09T10:00:00.123456+00:00", "latency_ms": 0.8,
     "features": {"x0": 0.5, "segment": "north"}, "probabilities": {"0": 0.1, "1": 0.9},
     "predicted_class": 1, "row_id": "optional id of the observed row"}

Feedback, the true label of a prediction that arrived later::

    {"kind": "feedback", "prediction_id": "9f1c…", "label": 1,
     "received_at": "2026-01-09T12:00:00+00:00"}

Predictions land in `predictions` (features as columns, like `observations`), feedback in
`labels` keyed by `prediction_id` (and by the prediction's `row_id` when it has one). Feedback
must name a prediction already ingested or in the same file.

This module is the public entry; the code lives in `core` (exactly-once, reports),
`observations`, `labels` and `prediction_logs`, on top of `routing` (rows into their table or
quarantine), `files` (what a file is), `readers` (how DuckDB reads it), `rules` and `sql_text`
(the row checks as SQL) and `ledger` (the tables that remember each ingestion).
"""

from continual_ml.ingestion.core import IngestReport, RowCountMismatch, StepHook
from continual_ml.ingestion.labels import ingest_labels
from continual_ml.ingestion.observations import ingest_file, replace_partitions_from_file
from continual_ml.ingestion.prediction_logs import ingest_prediction_log
from continual_ml.warehouse.labelled_rows import (
    labelled_predictions,
    labelled_rows,
    rows_with_labels,
)

__all__ = [
    "IngestReport",
    "RowCountMismatch",
    "StepHook",
    "ingest_file",
    "ingest_labels",
    "ingest_prediction_log",
    "labelled_predictions",
    "labelled_rows",
    "replace_partitions_from_file",
    "rows_with_labels",
]
