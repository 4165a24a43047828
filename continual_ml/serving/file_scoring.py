"""Scoring a whole CSV or Parquet file: the file comes back as CSV with a prediction per row.

The file's columns come back as they were sent, then `prediction_id`, `model_version`,
`predicted_class`, one `probability_<class>` per class and `error` (for a regression champion,
`prediction`, its number, in place of the class and probabilities). Each row is checked by the
same rules as `/predict`'s (`file_checks`), a batch of rows at a time; a row that fails gets its
reason in `error` and no prediction, and the rest of the file is scored. One model scores the
whole file (the one served when it arrived), every prediction is logged like any other before
its batch is answered, and batches are streamed back as they are scored.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from continual_ml.config import DatasetConfig
from continual_ml.serving.file_reading import (
    CSV,
    MULTIPART,
    PARQUET,
    UnreadableFile,
    body_table,
    file_type,
    table_batches,
)
from continual_ml.serving.file_scorer import FileScorer

__all__ = ["CSV", "MULTIPART", "PARQUET", "FileScorer", "UnreadableFile", "file_endpoint"]


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
