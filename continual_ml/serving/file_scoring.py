"""Scoring a whole CSV or Parquet file: the file comes back as CSV with a prediction per row.

Each row is checked against the same strict row schema as `/predict`; a row that fails gets its
reason in the `error` column and no prediction, and the rest of the file is scored. Rows are
scored and streamed back a chunk at a time, and every prediction is logged like any other.
"""

from __future__ import annotations

import io
import math
import tempfile
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ValidationError

from continual_ml.config import DatasetConfig
from continual_ml.serving.follower import UnscorableRows
from continual_ml.settings import Settings

CSV = "text/csv"
PARQUET = "application/vnd.apache.parquet"
# How BentoML's clients send a file: one `file` part (the API's parameter), typed by its name.
MULTIPART = "multipart/form-data"
CHUNK_ROWS = 1_000
ERROR_CHARS = 200


class UnreadableFile(ValueError):
    """The file as a whole cannot be scored: not CSV/Parquet, too many rows, columns missing."""


def read_table(body: bytes, content_type: str, config: DatasetConfig, max_rows: int):
    """The file's rows as a DataFrame, or UnreadableFile saying why."""
    if content_type != PARQUET and not body.strip():
        # No bytes, no rows: answered as a header-only file is, with the header alone, as a
        # day with no rows exported by `> day.csv` should be.
        return pd.DataFrame({name: pd.Series(dtype=object) for name in config.feature_names})
    try:
        if content_type == PARQUET:
            frame = pd.read_parquet(io.BytesIO(body))
        else:
            # Categories stay text: "1" is not the number 1 for a categorical feature.
            text_columns = {f.name: "string" for f in config.features if f.kind == "categorical"}
            frame = pd.read_csv(io.BytesIO(body), dtype=text_columns)
    except Exception as error:  # pandas and pyarrow raise many kinds for a malformed file
        raise UnreadableFile(f"file: not readable as {content_type}: {error}"[:300]) from None
    missing = [name for name in config.feature_names if name not in frame.columns]
    if missing:
        raise UnreadableFile(f"file: feature columns missing: {missing[:10]}")
    if len(frame) > max_rows:
        raise UnreadableFile(f"file: {len(frame)} rows, at most {max_rows} per file")
    for feature in config.features:
        if frame[feature.name].dtype == object and feature.kind != "categorical":
            frame[feature.name] = frame[feature.name].map(partial(_from_text, feature.kind))
    return frame


def _from_text(kind: str, cell):
    """A CSV cell as the number or boolean it spells; anything else is left for the row check
    to refuse by name (a column with one bad cell is read as text)."""
    if not isinstance(cell, str):
        return cell
    if kind == "boolean":
        return {"true": True, "false": False}.get(cell.strip().lower(), cell)
    try:
        return float(cell)
    except ValueError:
        return cell


def _plain(value):
    """A cell as JSON would carry it: a missing value is null, numpy scalars plain Python."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return value.item() if hasattr(value, "item") else value


def _score_each(score: Callable[[list], list], rows: list) -> list:
    """Predictions for `rows`; where the model refuses a chunk, row by row, with reasons."""
    try:
        return score(rows)
    except UnscorableRows:
        answers = []
        for row in rows:
            try:
                answers.append(score([row])[0])
            except UnscorableRows as error:
                answers.append(str(error)[:ERROR_CHARS])
        return answers


def scored_csv(
    frame: pd.DataFrame,
    config: DatasetConfig,
    row_model: type[BaseModel],
    score: Callable[[list[BaseModel]], list],
    classes: list[str],
) -> Iterator[bytes]:
    """The file back as CSV chunks: its columns, then the prediction or the row's error."""
    for start in range(0, max(len(frame), 1), CHUNK_ROWS):
        chunk = frame.iloc[start : start + CHUNK_ROWS]
        valid, errors = [], []
        for record in chunk[config.feature_names].to_dict("records"):
            try:
                valid.append(row_model.model_validate({k: _plain(v) for k, v in record.items()}))
                errors.append(None)
            except ValidationError as error:
                first = error.errors(include_url=False, include_input=False)[0]
                where = ".".join(map(str, first["loc"]))
                errors.append(f"{where}: {first['msg']}"[:ERROR_CHARS])
        predictions = iter(_score_each(score, valid) if valid else ())
        answered = [None if error else next(predictions) for error in errors]
        errors = [p if isinstance(p, str) else e for p, e in zip(answered, errors, strict=True)]
        answered = [None if isinstance(p, str) else p for p in answered]
        out = chunk.copy()
        out["prediction_id"] = [p.prediction_id if p else None for p in answered]
        out["model_version"] = pd.array([p.model_version if p else None for p in answered], "Int64")
        # integer classes stay integers where a row has no prediction; text labels stay text
        label_type = "string" if isinstance(config.classes[0], str) else "Int64"
        out["predicted_class"] = pd.array(
            [p.predicted_class if p else None for p in answered], label_type
        )
        for c in classes:
            out[f"probability_{c}"] = [p.probabilities[c] if p else None for p in answered]
        out["error"] = errors
        yield out.to_csv(index=False, header=start == 0).encode()


def scored_file(
    path: Path,
    config: DatasetConfig,
    row_model: type[BaseModel],
    score: Callable[[list], list],
    max_rows: int,
) -> Path:
    """The file at `path` scored into a CSV in a new temporary folder (for BentoML's file API);
    UnreadableFile if the file as a whole cannot be scored."""
    frame = read_table(path.read_bytes(), file_type(path.name), config, max_rows)
    scored = Path(tempfile.mkdtemp(prefix="scored-")) / f"{path.stem}.scored.csv"
    classes = [str(c) for c in config.classes]
    with scored.open("wb") as out:
        for chunk in scored_csv(frame, config, row_model, score, classes):
            out.write(chunk)
    return scored


def file_endpoint(
    config: DatasetConfig,
    row_model: type[BaseModel],
    max_rows: int,
    scorer: Callable[[], Callable[[list], list]],
):
    """The Starlette endpoint: `scorer()` gives the service's score-and-log function."""
    import anyio
    from starlette.responses import JSONResponse, StreamingResponse

    async def score_file(request):
        content_type = request.headers["content-type"].split(";")[0].strip().lower()
        body = await request.body()  # read and bounded by RequestGuard
        try:
            if content_type == MULTIPART:
                body, content_type = await uploaded_file(request)
            frame = await anyio.to_thread.run_sync(read_table, body, content_type, config, max_rows)
        except UnreadableFile as error:
            return JSONResponse({"error": str(error), "detail": []}, status_code=400)
        score = scorer()
        classes = [str(c) for c in config.classes]
        # A sync iterator: Starlette runs each chunk's validation and scoring in a worker thread.
        return StreamingResponse(
            scored_csv(frame, config, row_model, score, classes), media_type=CSV
        )

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


def file_type(name: str, declared: str | None = None) -> str:
    """CSV or Parquet: the declared type when it is one of them, else by the file's suffix."""
    declared = (declared or "").split(";")[0].strip().lower()
    if declared in (CSV, PARQUET):
        return declared
    return PARQUET if name.lower().endswith(".parquet") else CSV


def score_with_service(path: str, url: str | None = None, output: str | None = None) -> str:
    """Send a file to the service's `/score_file`, stream the answer to `output`; a summary.

    The URL defaults to `CONTINUAL_ML_SERVICE_URL` or the local service; the bearer token is
    `CONTINUAL_ML_API_TOKEN`, when set.
    """
    import csv
    from pathlib import Path

    import httpx

    source = Path(path)
    target = Path(output) if output else source.with_name(f"{source.stem}.scored.csv")
    settings = Settings.from_env()
    base = url or settings.service_url
    token = Settings.secret(settings.api_token)
    headers = {
        "content-type": PARQUET if source.suffix == ".parquet" else CSV,
        **({"authorization": f"Bearer {token}"} if token else {}),
    }
    with (
        source.open("rb") as body,
        httpx.stream("POST", f"{base}/score_file", content=body, headers=headers, timeout=600) as r,
    ):
        if r.status_code != 200:
            raise SystemExit(f"{source.name}: {r.status_code} {r.read().decode()[:500]}")
        with target.open("wb") as out:
            for chunk in r.iter_bytes():
                out.write(chunk)
    with target.open(newline="") as scored:
        rows = list(csv.DictReader(scored))
    refused = sum(1 for row in rows if row["error"])
    return f"{source.name}: {len(rows) - refused} rows scored, {refused} refused -> {target}"
