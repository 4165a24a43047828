"""The BentoML service: predictions from the newest promoted champion, swapped in without restart.

It reads models only from the BentoML model store, logs predictions and feedback to rotating
JSONL files, and never opens the DuckDB warehouse.

`/predict` scores one row as soon as it arrives: the quickest route when the champion is linear
and scored without scikit-learn. Over HTTP it is answered by the service's own middleware right
behind the request guard, from the body the guard already checked: BentoML's API endpoint would
parse and validate the body again, and its routing and request context cost more than scoring
the row. It still passes BentoML's metrics (its per-endpoint counts), tracing and timeout
middlewares, and it is a BentoML API as well, so `/schema.json` and BentoML's clients
(`bentoml.SyncHTTPClient(url).predict(features=...)`) see it, and get the same answers.
`/predict_batch` scores a client's many rows at once, answered the same way (in a worker thread,
as BentoML runs a synchronous API). `/score_file` scores a whole CSV or Parquet file, sent raw or
as BentoML's clients send a file (`client.score_file(file=path)`, a multipart upload).

`/predict_rows` takes a few rows that BentoML's adaptive batching merges with other callers'
into one scoring call: the faster route for many concurrent callers when a scoring call is
expensive (forests, boosting).
"""

import gc
import logging
import os

# One thread per prediction: many requests at once beat one request on many cores here, and
# OpenMP's thread pools showed second-long tails for single rows.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Annotated  # noqa: E402

import bentoml  # noqa: E402
from bentoml.validators import ContentType  # noqa: E402

import continual_ml.serving.service_metrics as metrics  # noqa: E402
from continual_ml.alerts.model_serving import ServingAnnouncer  # noqa: E402
from continual_ml.config import Paths, default_config  # noqa: E402
from continual_ml.models.bentoml_internals import bind_api_methods  # noqa: E402
from continual_ml.serving.endpoint_labels import RestorePath, bound_endpoint_labels  # noqa: E402
from continual_ml.serving.file_scoring import CSV, MULTIPART, PARQUET, UnreadableFile, scored_file  # noqa: E402
from continual_ml.serving.follower import ChampionFollower, UnscorableRows, predict_rows  # noqa: E402
from continual_ml.serving.http_guard import RefusedRows, RequestGuard, unscorable  # noqa: E402
from continual_ml.serving.json_refusals import JsonRefusals  # noqa: E402
from continual_ml.serving.metric_batches import BATCHES  # noqa: E402
from continual_ml.serving.openapi import openapi_document  # noqa: E402
from continual_ml.serving.plain_routes import (  # noqa: E402
    AnsweredHere,
    file_scorer,
    plain_routes,
    predict_batch_endpoint,
    predict_endpoint,
    route_app,
    why_unavailable,
)
from continual_ml.serving.prediction_log import RotatingJsonlWriter, close_abandoned  # noqa: E402
from continual_ml.serving.prediction_records import prediction_records  # noqa: E402
from continual_ml.serving.request_schema import (  # noqa: E402
    Limits,
    RowRefusal,
    answer_model,
    answer_of,
    request_models,
)
from continual_ml.serving.request_timeout import prompt_timeout  # noqa: E402
from continual_ml.settings import Settings  # noqa: E402

CONFIG, SETTINGS, PATHS = default_config(), Settings.from_env(), Paths.from_env()
UNKNOWN_CATEGORY = SETTINGS.unknown_category
LIMITS = Limits(
    rows_per_batch=SETTINGS.max_rows,
    # Rows BentoML's dispatcher merges into one scoring call; also the most one request may send.
    rows_per_merged_request=SETTINGS.adaptive_batch_rows,
    max_body_bytes=SETTINGS.max_body_bytes,
    file_body_bytes=SETTINGS.max_file_bytes,
)
MODELS = request_models(CONFIG, UNKNOWN_CATEGORY, LIMITS)
FeatureRow = MODELS.row
# Classes and probabilities, or for `task: regression` a number: the shapes of `request_schema`.
Prediction, BatchResponse = MODELS.prediction, MODELS.batch_response
ADAPTIVE_BATCH_ROWS = LIMITS.rows_per_merged_request
TOKEN = Settings.secret(SETTINGS.api_token)
REQUEST_TIMEOUT_S = 30
# BentoML's access log line and OpenTelemetry span per request cost more CPU than scoring the row,
# and every prediction is already logged with its id, version, latency and features.
PER_REQUEST_TELEMETRY = SETTINGS.per_request_telemetry
SCORING_PATHS = frozenset({"/predict", "/predict_rows", "/predict_batch", "/score_file"})
bound_endpoint_labels(SCORING_PATHS | {"/feedback"})
prompt_timeout()
if not PER_REQUEST_TELEMETRY:
    # BentoML leaves uvicorn's access logger enabled but below the root's level: each response
    # still formats its client address and quoted path for a line then dropped. Without a
    # handler up its chain, uvicorn skips it, as a bare uvicorn app with `access_log=False` does.
    logging.getLogger("uvicorn.access").propagate = False
LOG_DIR = PATHS.prediction_logs

# Refusals and swaps are worth a line each at INFO; BentoML leaves other loggers at WARNING.
logging.getLogger("continual_ml").setLevel(logging.INFO)

# The signatures repeat the limits `RequestGuard` enforces first, for BentoML's own parsing.
MergeableRows, BatchRows = MODELS.merged_rows, MODELS.batch_rows
FeedbackItems = MODELS.feedback_items
# Declared, the media type of a list is not derived from its JSON schema on every response.
# A refused row's request is answered 422 by `RefusedRows`; no client sees a `RowRefusal`.
PredictionList = Annotated[list[Prediction | RowRefusal], ContentType("application/json")]
DOCUMENT = openapi_document(MODELS, secured=TOKEN is not None)

# Served ahead of BentoML's own `/`, `/docs.json`: they describe these routes truthfully, offline.
info_app = plain_routes(CONFIG, UNKNOWN_CATEGORY, LIMITS.file_rows, DOCUMENT)


@bentoml.service(
    name="continual_ml",
    traffic={"timeout": REQUEST_TIMEOUT_S},
    logging={"access": {"enabled": PER_REQUEST_TELEMETRY}},
    tracing={"excluded_urls": [] if PER_REQUEST_TELEMETRY else sorted(SCORING_PATHS)},
)
@bentoml.asgi_app(info_app, path="/")
class ChampionClassifier:
    """Serves the current champion of the continual-ml loop."""

    def __init__(self) -> None:
        # The plain routes reach the service through their app's state (Starlette's own place).
        info_app.state.service = self
        # A worker killed outright left its logs open: close them, so they are ingested.
        close_abandoned(LOG_DIR, dead_writers=True, replica_id=SETTINGS.replica_id)
        logs = {
            "replica_id": SETTINGS.replica_id,
            "max_age_seconds": SETTINGS.prediction_log_seconds,
        }
        self.predictions_log = RotatingJsonlWriter(LOG_DIR, "predictions", **logs)
        self.feedback_log = RotatingJsonlWriter(LOG_DIR, "feedback", **logs)
        self.prediction_counts = metrics.PredictionCounts()
        self.follower = ChampionFollower(
            PATHS.bentoml_home,
            CONFIG,
            poll_seconds=SETTINGS.model_poll_seconds,
            on_swap=ServingAnnouncer(metrics.swapped, PATHS.alerts_record, settings=SETTINGS),
            on_failure=metrics.swap_failed,
        )
        self.follower.refresh()
        self.follower.follow(also_each_poll=self._rotate_logs)
        bind_api_methods(self, ChampionClassifier)
        # What is loaded by now lives as long as the process. Frozen out of the cyclic garbage
        # collector, a full collection scans only what requests allocate, instead of stalling
        # the event loop for ~100 ms over the whole heap every few thousand requests.
        gc.freeze()

    def __is_ready__(self) -> bool:
        return self.follower.current is not None

    # BentoML's dispatcher answers a queued request 503 as soon as it predicts the request will
    # wait past max_latency_ms: set low, that failed thousands of requests at concurrency 64.
    # At the request timeout it refuses none that could still be answered in time.
    @bentoml.api(
        batchable=True,
        batch_dim=0,
        max_batch_size=ADAPTIVE_BATCH_ROWS,
        max_latency_ms=REQUEST_TIMEOUT_S * 1000,
    )
    async def predict_rows(self, rows: MergeableRows) -> PredictionList:  # type: ignore[valid-type]
        """Predictions for a few rows, scored together with other callers' rows.

        Each prediction names the model version that scored it: rows of one request may be
        split across two merged batches.
        """
        # Validation happens per request before merging, so this never fails for one bad row.
        try:
            return self._score(rows)
        except UnscorableRows:
            # Only a pipeline without the fast scorer refuses values. Merged, one caller's row
            # would fail every caller's: each row is scored alone, and a refused one is marked,
            # so that `RefusedRows` refuses only the request it came in.
            return [self._score_or_refusal(row) for row in rows]

    @bentoml.api
    def predict(self, features: FeatureRow) -> Prediction:  # type: ignore[valid-type]
        """Class probabilities and predicted class for one row.

        Over HTTP, `plain_routes.predict_endpoint` answers first, in the same shape.
        """
        try:
            return self._score([features])[0]
        except UnscorableRows as error:
            return unscorable(str(error))

    @bentoml.api
    def predict_batch(self, rows: BatchRows) -> BatchResponse:
        """Class probabilities and predicted class for many rows, all from one model.

        Over HTTP, `plain_routes.predict_batch_endpoint` answers first, in the same shape.
        """
        try:
            predictions = self._score(rows)
        except UnscorableRows as error:
            return unscorable(str(error))
        return BatchResponse.model_construct(
            model_version=predictions[0].model_version, predictions=predictions
        )

    @bentoml.api
    def score_file(self, file: Path) -> Annotated[Path, ContentType(CSV)]:
        """A CSV or Parquet file back as CSV: each row with its prediction, or its error.

        Over HTTP, `file_scoring.file_endpoint` answers first (a raw CSV or Parquet body, or
        this API's multipart upload), streaming the same CSV.
        """
        try:
            return scored_file(file, LIMITS.file_rows, file_scorer(self, CONFIG, UNKNOWN_CATEGORY))
        except UnreadableFile as error:
            raise bentoml.exceptions.InvalidArgument(str(error)) from None

    @bentoml.api
    def feedback(self, items: FeedbackItems) -> dict:
        """Record the true label of earlier predictions, by prediction id."""
        received = datetime.now(UTC).isoformat()
        record = {"kind": "feedback", "received_at": received}
        self.feedback_log.write(
            [{**record, "prediction_id": i.prediction_id, "label": i.label} for i in items]
        )
        return {"accepted": len(items)}

    def _score(self, rows: list) -> list[Prediction]:
        """Score, count and log `rows`, all with the model being served when the call starts."""
        # Built from our own validated values: pydantic need not check them again.
        return [
            answer_model(Prediction, answer_of(record)) for record in self._scored_records(rows)
        ]

    def _scored_records(self, rows: list) -> list[dict]:
        """Score, count and log `rows`; the log records, each holding its row's answer."""
        model = self.follower.current  # one read: the whole call uses one model
        if model is None:
            raise bentoml.exceptions.ServiceUnavailable("no champion model has been promoted yet")
        features = [row.model_dump() for row in rows]
        outputs = predict_rows(model, CONFIG, features)
        served_at = datetime.now(UTC).isoformat()
        records, class_counts = prediction_records(model.version, served_at, features, outputs)
        self.prediction_counts.add(class_counts, model.version)
        self.predictions_log.write(records)
        return records

    def _score_or_refusal(self, row) -> Prediction | RowRefusal:
        try:
            return self._score([row])[0]
        except UnscorableRows as error:
            return RowRefusal(unscorable=str(error))

    def _rotate_logs(self) -> None:  # each model poll; the loop's lag gauges too
        self.predictions_log.rotate()
        self.feedback_log.rotate()
        metrics.publish_loop_lag(PATHS.loop_lag_record)

    @bentoml.on_shutdown
    def _close_logs(self) -> None:
        """Stop following, close the logs, write the last metric updates: nothing half-done."""
        self.follower.stop()
        self.predictions_log.close()
        self.feedback_log.close()
        BATCHES.flush()


JSON = ("application/json",)
GUARDED = {
    "/predict": (MODELS.bodies["/predict"], LIMITS.small_body_bytes, JSON),
    "/predict_rows": (MODELS.bodies["/predict_rows"], LIMITS.small_body_bytes, JSON),
    "/predict_batch": (MODELS.bodies["/predict_batch"], LIMITS.max_body_bytes, JSON),
    "/feedback": (MODELS.bodies["/feedback"], LIMITS.feedback_body_bytes, JSON),
    "/score_file": (None, LIMITS.file_body_bytes, (CSV, PARQUET, MULTIPART)),
}
ChampionClassifier.add_asgi_middleware(RestorePath)  # first: routing needs the real path
ChampionClassifier.add_asgi_middleware(JsonRefusals, answered_elsewhere=frozenset(GUARDED))
ChampionClassifier.add_asgi_middleware(
    RequestGuard, routes=GUARDED, token=TOKEN, unavailable=lambda: why_unavailable(info_app)
)
# Right behind the guard: the scoring routes need nothing of the routing and layers further in.
ChampionClassifier.add_asgi_middleware(
    AnsweredHere,
    routes={
        "/predict": predict_endpoint(info_app),
        "/predict_batch": predict_batch_endpoint(info_app),
        "/score_file": route_app(info_app, "/score_file"),
    },
)
ChampionClassifier.add_asgi_middleware(RefusedRows, path="/predict_rows")
