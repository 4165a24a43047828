"""The scoring of one file's batches with one model: CSV text for the service, or an Arrow table.

Batches are checked, scored and rendered by two threads at a time (Arrow and numpy release the
GIL), answered in the file's order. With a prediction log (the service's), each prediction gets
an id and is logged, and counted, before its batch is answered; without one
(`continual-ml score --local`), rows get no id: nothing was logged that feedback could name.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from continual_ml.config import DatasetConfig
from continual_ml.serving.column_scoring import ScoredRows, prediction_ids, score_checked
from continual_ml.serving.csv_text import csv_cells, csv_lines, header_line
from continual_ml.serving.file_checks import check_features
from continual_ml.serving.follower import ServedModel
from continual_ml.serving.prediction_lines import number_text, prediction_lines
from continual_ml.serving.prediction_records import NUMBER_LABEL

NO_TEXT = pa.scalar(None, pa.string())
THREADS = min(2, os.cpu_count() or 1)


def answer_columns(classes: Iterable | None, interval: bool = False) -> list[str]:
    """The columns added to a file's own, in order; `classes` None for a regression champion,
    whose rows get their number under `prediction` (and with `interval`, its bounds)."""
    if classes is None:
        bounds = ["prediction_lower", "prediction_upper"] if interval else []
        return ["prediction_id", "model_version", "prediction", *bounds, "error"]
    probabilities = [f"probability_{c}" for c in classes]
    return ["prediction_id", "model_version", "predicted_class", *probabilities, "error"]


@dataclass
class FileScorer:
    """Scores a file's batches with `model`, logging to `log` and counting in `counts` if given."""

    model: ServedModel
    config: DatasetConfig
    unknown_category: str = "reject"
    log: Any = None  # a RotatingJsonlWriter
    counts: Any = None  # a PredictionCounts
    rows: int = 0  # scored so far, and of them refused
    refused: int = 0

    def csv_chunks(self, names: list[str], batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
        """The scored file as CSV: the header, then one chunk per batch."""
        yield header_line([*names, *self._answer_names()])
        yield from self._in_order(self.csv_batch, batches)

    def tables(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.Table]:
        """The scored file as tables of the file's columns and the answers, one per batch."""
        yield from self._in_order(self.table_batch, batches)

    def _answer_names(self) -> list[str]:
        if self.model.regression:
            return answer_columns(None, interval=self.model.calibration is not None)
        return answer_columns(self.model.class_keys)

    def _in_order(self, render: Callable, batches: Iterable[pa.RecordBatch]) -> Iterator:
        with ThreadPoolExecutor(THREADS, thread_name_prefix="file-scoring") as pool:
            pending: deque = deque()
            for batch in batches:
                if batch.num_rows:
                    pending.append(pool.submit(render, batch))
                if len(pending) > THREADS:
                    yield self._counted(*pending.popleft().result())
            while pending:
                yield self._counted(*pending.popleft().result())

    def _counted(self, answer, rows: int, refused: int):
        self.rows += rows
        self.refused += refused
        return answer

    def _scored(
        self, batch: pa.RecordBatch, echoed: dict | None = None
    ) -> tuple[ScoredRows, pa.Array, list | None]:
        """Check and score a batch; log and count its predictions when there is a log.
        `echoed` holds the text of typed number columns already written for the answer."""
        checked = check_features(batch, self.config, self.unknown_category)
        scored = score_checked(self.model, self.config, checked)
        if self.log is None:
            return scored, pa.nulls(batch.num_rows, pa.string()), None
        texts = [number_text(column) for column in scored.value_columns()]
        ids = prediction_ids(batch.num_rows)
        served_at = datetime.now(UTC).isoformat()
        lines, count = prediction_lines(
            self.config, checked, scored, ids, texts, served_at, echoed or {}
        )
        self.log.write_lines(lines, count)
        if self.counts is not None and scored.regression:
            if scored.scored.any():
                self.counts.add({NUMBER_LABEL: int(scored.scored.sum())}, scored.version)
        elif self.counts is not None:
            ok = scored.scored
            counts = np.bincount(scored.predicted()[ok], minlength=len(scored.classes))
            self.counts.add(
                {c: int(n) for c, n in zip(scored.classes, counts, strict=True) if n},
                scored.version,
            )
        return scored, ids, texts

    def csv_batch(self, batch: pa.RecordBatch) -> tuple[bytes, int, int]:
        """A batch's CSV lines, its row count and how many were refused."""
        cells = [csv_cells(column) for column in batch.columns]
        # A typed number's text is the same in the answer and in the log: formatted once.
        echoed = {
            name: text
            for name, column, text in zip(batch.schema.names, batch.columns, cells, strict=True)
            if pa.types.is_floating(column.type) or pa.types.is_integer(column.type)
        }
        scored, ids, texts = self._scored(batch, echoed)
        texts = texts or [number_text(column) for column in scored.value_columns()]
        refused = pa.array(~scored.scored)
        cells += [
            pc.fill_null(pc.if_else(refused, NO_TEXT, ids), ""),
            pc.if_else(refused, "", str(scored.version)),
            *([] if scored.regression else [_label_cells(scored, refused)]),
            *(pc.fill_null(text, "") for text in texts),
            csv_cells(scored.error_text()),
        ]
        return csv_lines(cells), batch.num_rows, pc.sum(refused).as_py() or 0

    def table_batch(self, batch: pa.RecordBatch) -> tuple[pa.Table, int, int]:
        """A batch's columns and answers, typed, its row count and how many were refused."""
        scored, ids, _ = self._scored(batch)
        refused = ~scored.scored
        answers = [
            pc.if_else(pa.array(refused), NO_TEXT, ids),
            pa.array(np.full(batch.num_rows, scored.version), pa.int64(), mask=refused),
            *([] if scored.regression else [_label_column(scored, refused)]),
            *(pa.array(column, mask=refused) for column in scored.value_columns()),
            scored.error_text(),
        ]
        names = [*batch.schema.names, *self._answer_names()]
        table = pa.Table.from_arrays([*batch.columns, *answers], names=names)
        return table, batch.num_rows, int(refused.sum())


def _label_cells(scored: ScoredRows, refused: pa.Array) -> pa.Array:
    """The predicted class column's CSV cells, empty for refused rows."""
    return csv_cells(pc.if_else(refused, NO_TEXT, _labels(scored, pa.string())))


def _label_column(scored: ScoredRows, refused: np.ndarray) -> pa.Array:
    """The predicted class column, typed, null for refused rows."""
    label_type = pa.string() if isinstance(scored.classes[0], str) else pa.int64()
    return pc.if_else(pa.array(refused), pa.scalar(None, label_type), _labels(scored, label_type))


def _labels(scored: ScoredRows, kind: pa.DataType) -> pa.Array:
    """Each row's predicted class label (meaningless for a refused row)."""
    labels = [str(c) for c in scored.classes] if kind == pa.string() else list(scored.classes)
    return pa.array(labels, kind).take(pa.array(scored.predicted()))
