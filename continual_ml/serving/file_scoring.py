"""Scoring a whole CSV or Parquet file: the file comes back as CSV with a prediction per row.

The file's columns come back as they were sent, then `prediction_id`, `model_version`,
`predicted_class`, one `probability_<class>` per class and `error`. Each row is checked by the
same rules as `/predict`'s (`file_checks`), a batch of rows at a time; a row that fails gets its
reason in `error` and no prediction, and the rest of the file is scored. One model scores the
whole file (the one served when it arrived), every prediction is logged like any other before
its batch is answered, and batches are streamed back as they are scored.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from continual_ml.config import DatasetConfig
from continual_ml.serving.column_scoring import prediction_ids, score_checked
from continual_ml.serving.csv_text import csv_cells, csv_lines, header_line
from continual_ml.serving.file_checks import check_features
from continual_ml.serving.file_reading import (
    CSV,
    MULTIPART,
    PARQUET,
    UnreadableFile,
    body_table,
    file_type,
    table_batches,
)
from continual_ml.serving.follower import ServedModel
from continual_ml.serving.prediction_lines import number_text, prediction_lines

NO_TEXT = pa.scalar(None, pa.string())
__all__ = ["CSV", "MULTIPART", "PARQUET", "FileScorer", "UnreadableFile", "file_endpoint"]


def answer_columns(classes: Iterable) -> list[str]:
    """The columns added to a file's own, in order."""
    probabilities = [f"probability_{c}" for c in classes]
    return ["prediction_id", "model_version", "predicted_class", *probabilities, "error"]


@dataclass
class FileScorer:
    """Scores a file's batches with `model`. With a `log` (the service's), each prediction gets
    an id and is logged, and counted in `counts`; without (`continual-ml score --local`), rows
    get no id: nothing was logged that feedback could name."""

    model: ServedModel
    config: DatasetConfig
    unknown_category: str = "reject"
    log: Any = None  # a RotatingJsonlWriter
    counts: Any = None  # a PredictionCounts

    def csv_chunks(self, names: list[str], batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
        """The scored file as CSV: the header, then one chunk per batch."""
        yield header_line([*names, *answer_columns(self.model.class_keys)])
        for batch in batches:
            if batch.num_rows:
                yield self.csv_batch(batch)

    def csv_batch(self, batch: pa.RecordBatch) -> bytes:
        checked = check_features(batch, self.config, self.unknown_category)
        scored = score_checked(self.model, self.config, checked)
        ok = scored.scored
        rows = batch.num_rows
        probabilities = [number_text(column) for column in scored.probabilities.T]
        if self.log is not None:
            ids = prediction_ids(rows)
            served_at = datetime.now(UTC).isoformat()
            lines, count = prediction_lines(
                self.config, checked, scored, ids, probabilities, served_at
            )
            self.log.write_lines(lines, count)
        else:
            ids = pa.nulls(rows, pa.string())
        predicted = scored.predicted()
        if self.counts is not None:
            counts = np.bincount(predicted[ok], minlength=len(scored.classes))
            self.counts.add(
                {c: int(n) for c, n in zip(scored.classes, counts, strict=True) if n},
                scored.version,
            )
        refused = pa.array(~ok)
        labels = pa.array([str(c) for c in scored.classes], pa.string()).take(pa.array(predicted))
        cells = [csv_cells(column) for column in batch.columns]
        cells += [
            pc.fill_null(pc.if_else(refused, NO_TEXT, ids), ""),
            pc.if_else(refused, "", str(scored.version)),
            csv_cells(pc.if_else(refused, NO_TEXT, labels)),
            *(pc.fill_null(text, "") for text in probabilities),
            csv_cells(pa.array(scored.errors, pa.string())),
        ]
        return csv_lines(cells)


def scored_file(path: Path, max_rows: int, scorer: FileScorer | None) -> Path:
    """The file at `path` scored into a CSV in a new temporary folder (for BentoML's file API);
    UnreadableFile if the file as a whole cannot be scored, a 503 without a model."""
    if scorer is None:
        from bentoml.exceptions import ServiceUnavailable

        raise ServiceUnavailable("no champion model has been promoted yet")
    config = scorer.config
    table = body_table(path.read_bytes(), file_type(path.name), config, max_rows)
    scored = Path(tempfile.mkdtemp(prefix="scored-")) / f"{path.stem}.scored.csv"
    with scored.open("wb") as out:
        for chunk in scorer.csv_chunks(table.schema.names, table_batches(table)):
            out.write(chunk)
    return scored


def file_endpoint(config: DatasetConfig, max_rows: int, scorer: Callable[[], FileScorer | None]):
    """The Starlette endpoint: `scorer()` gives the service's scorer, None while no model serves."""
    import anyio
    from starlette.responses import JSONResponse, StreamingResponse

    async def score_file(request):
        content_type = request.headers["content-type"].split(";")[0].strip().lower()
        body = await request.body()  # read and bounded by RequestGuard
        try:
            if content_type == MULTIPART:
                body, content_type = await uploaded_file(request)
            table = await anyio.to_thread.run_sync(body_table, body, content_type, config, max_rows)
        except UnreadableFile as error:
            return JSONResponse({"error": str(error), "detail": []}, status_code=400)
        file_scorer = scorer()
        if file_scorer is None:
            body = {"error": "model: no champion model has been promoted yet", "detail": []}
            return JSONResponse(body, status_code=503)
        # A sync iterator: Starlette runs each batch's checks and scoring in a worker thread.
        chunks = file_scorer.csv_chunks(table.schema.names, table_batches(table))
        return StreamingResponse(chunks, media_type=CSV)

    return score_file


async def uploaded_file(request) -> tuple[bytes, str]:
    """The `file` part of a multipart body and its type (by its name when sent untyped)."""
    try:
        form = await request.form(max_files=1)
    except Exception as error:  # Starlette's parser raises its HTTP exception for a bad body
        raise UnreadableFile(f"file: not a readable multipart body: {error}"[:300]) from None
    try:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise UnreadableFile("file: the multipart body has no `file` part")
        return await upload.read(), file_type(upload.filename or "", upload.content_type)
    finally:
        await form.close()
