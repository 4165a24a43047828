"""Live traffic, from the demo's synthetic stream or from the user's own file: predictions over
HTTP, then the day's record landed.

Each simulated day lasts `day_seconds` of real time. During it the day's rows are sent to the
service's `/predict_batch` in a few requests; when it ends, the day's observations with their
labels are landed as one Parquet file (the landing sensor takes it from there), and the labels
of the day's predictions are posted to `/feedback`: labels arrive after the predictions they
judge, up to a day late.

The service may be down for a while (a worker restarting): a request that gets no 2xx is sent
again until it does. With `acknowledged_path`, every 2xx answer is recorded there as one JSON
line, `{"kind": "prediction" | "feedback", "ids": [prediction ids]}`, and every attempt that got
none as `{"kind": "unanswered", "endpoint": ..., "rows": n}`, and each landed file as
`{"kind": "landed", "file": name, "rows": n}`: what the client was promised, for comparing with
what reached the warehouse.

The synthetic stream exists only for the demo's config; a user's dataset replays its own rows
(`FileDays`: a CSV or Parquet file in the user's format, one of its days per simulated day).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
import pandas as pd

from continual_ml.config import DatasetConfig
from continual_ml.demo.synthetic_stream import generate_batch, partition_date, write_batch_file

REQUESTS_PER_DAY = 8
ACKNOWLEDGED_FILE = "traffic-acknowledged.jsonl"
RETRY_SECONDS = 0.5


@dataclass
class TrafficDay:
    index: int
    day: str
    started_at: float  # wall-clock seconds (time.time), comparable with Dagster's timestamps
    landed_at: float = 0.0
    accuracy: float = 0.0
    versions: set[int] = field(default_factory=set)


class FileDays:
    """A user's file as traffic: its rows grouped by the day of their event time, in order.

    Raises ValueError with one line when the file lacks a column the config names."""

    def __init__(self, path: str | Path, config: DatasetConfig) -> None:
        path = Path(path)
        self.suffix = ".parquet" if path.suffix == ".parquet" else ".csv"
        if self.suffix == ".parquet":
            self.rows = self.text = pd.read_parquet(path)
        else:
            self.rows = pd.read_csv(path)
            # landed as the user wrote it (ids like 007 stay text)
            self.text = pd.read_csv(path, dtype=str, keep_default_na=False)
        needed = [config.id_column, config.event_time_column, *config.feature_names, config.label]
        missing = [name for name in needed if name not in self.rows.columns]
        if missing:
            raise ValueError(f"{path.name} lacks the column(s) the config names: {missing}")
        times = pd.to_datetime(self.rows[config.event_time_column], utc=True, format="mixed")
        self.day_of = times.dt.date
        self.days = sorted(self.day_of.dropna().unique())
        self.config = config

    def __call__(self, index: int) -> tuple[date, pd.DataFrame, pd.DataFrame] | None:
        """Day `index`: its date, its rows typed for requests and as written for landing."""
        if index >= len(self.days):
            return None
        mask = (self.day_of == self.days[index]).to_numpy()
        return self.days[index], self.rows[mask], self.text[mask]


def request_records(config: DatasetConfig, rows: pd.DataFrame) -> list[dict]:
    """JSON-ready feature rows: empty cells as null, categories as text, numpy types as Python."""
    features = rows[config.feature_names].copy()
    for spec in config.features:
        if spec.kind == "categorical":
            column = features[spec.name]
            features[spec.name] = column.where(column.isna(), column.astype(str))
    return json.loads(features.to_json(orient="records", double_precision=15))


class TrafficGenerator:
    """Plays days `start_index`, `start_index + 1`, ... of the stream (or of `days`, a user's
    file) against the service."""

    def __init__(
        self,
        config: DatasetConfig,
        service_url: str,
        landing_dir: Path,
        start_index: int,
        n_days: int | None = None,
        day_seconds: float = 5.0,
        token: str | None = None,
        acknowledged_path: Path | None = None,
        days: Callable[[int], tuple | None] | None = None,
    ) -> None:
        self.file_days = days
        self.config, self.service_url, self.landing_dir = config, service_url, landing_dir
        self.start_index, self.n_days, self.day_seconds = start_index, n_days, day_seconds
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.acknowledged_path = acknowledged_path
        self.days: list[TrafficDay] = []
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        """Play days until `n_days` are done or `stop()` is called."""
        index = self.start_index
        with httpx.Client(base_url=self.service_url, timeout=30, headers=self.headers) as client:
            while not self.stopping.is_set():
                if self.n_days is not None and index >= self.start_index + self.n_days:
                    return
                started = time.monotonic()
                played = self.play_day(client, index)
                if played is None:  # the user's file has no more days
                    return
                self.days.append(played)
                index += 1
                self.stopping.wait(max(0.0, self.day_seconds - (time.monotonic() - started)))

    def play_day(self, client: httpx.Client, index: int) -> TrafficDay | None:
        if self.file_days is None:
            day = partition_date(self.config, index)
            rows = landed_rows = generate_batch(self.config, day)
            records = rows[self.config.feature_names].to_dict("records")
        else:
            found = self.file_days(index)
            if found is None:
                return None
            day, rows, landed_rows = found
            records = request_records(self.config, rows)
        record = TrafficDay(index, day.isoformat(), time.time())
        size = -(-len(records) // REQUESTS_PER_DAY)
        pause = self.day_seconds * 0.8 / REQUESTS_PER_DAY
        feedback, correct = [], 0
        for start in range(0, len(records), size):
            response = self.post(client, "/predict_batch", {"rows": records[start : start + size]})
            if response is None:  # stopped while the service was down
                break
            body = response.json()
            self.record("prediction", [p["prediction_id"] for p in body["predictions"]])
            record.versions.add(body["model_version"])
            labels = rows[self.config.label].iloc[start : start + size].tolist()
            for prediction, label in zip(body["predictions"], labels, strict=True):
                if pd.isna(label):  # a row without its label yet: no feedback for it
                    continue
                label = int(label) if isinstance(self.config.classes[0], int) else str(label)
                correct += int(prediction["predicted_class"] == label)
                feedback.append({"prediction_id": prediction["prediction_id"], "label": label})
            if self.stopping.wait(pause):
                break
        record.accuracy = correct / max(len(feedback), 1)
        landed = self.land(landed_rows, day.isoformat())
        self.record("landed", file=landed.name, rows=len(rows))
        record.landed_at = time.time()
        if feedback and self.post(client, "/feedback", {"items": feedback}) is not None:
            self.record("feedback", [item["prediction_id"] for item in feedback])
        return record

    def post(self, client: httpx.Client, path: str, body: dict) -> httpx.Response | None:
        """The first 2xx answer to `body`, sent again while the service is down or failing;
        None if stopped first. A 4xx other than 429 is our mistake, not an outage: raised."""
        rows = len(body.get("rows") or body.get("items") or ())
        while True:
            try:
                response = client.post(path, json=body)
                if response.is_success:
                    return response
                if response.status_code < 500 and response.status_code != 429:
                    response.raise_for_status()
            except httpx.TransportError:
                pass
            self.record("unanswered", endpoint=path, rows=rows)
            if self.stopping.wait(RETRY_SECONDS):
                return None

    def record(self, kind: str, ids: list[str] | None = None, **facts) -> None:
        if self.acknowledged_path is None:
            return
        line = {"kind": kind, **({"ids": ids} if ids is not None else {}), **facts}
        with self.acknowledged_path.open("a") as out:
            out.write(json.dumps(line) + "\n")

    def land(self, rows, day: str) -> Path:
        """Land the day's record in the landing folder, whole, in the format its source had."""
        suffix = getattr(self.file_days, "suffix", ".parquet")
        return write_batch_file(rows, self.landing_dir / f"traffic-{day}{suffix}")

    def start(self) -> threading.Thread:
        def guarded() -> None:
            # Kept for whoever watches the generator, so a failure is reported, not lost.
            try:
                self.run()
            except BaseException as error:
                self.error = error

        thread = threading.Thread(target=guarded, name="traffic", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stopping.set()
