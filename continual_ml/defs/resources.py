"""The resources the assets share, bound in one place by `build_resources`."""

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from continual_ml.alerts.delivery import Alert
from continual_ml.alerts.payloads import send_alert
from continual_ml.config import MLFLOW_EXPERIMENT, DatasetConfig, Paths, load_config
from continual_ml.decisions.promotion import ModelStores
from continual_ml.settings import (
    DISCORD_ENV,
    DUCKLAKE_CATALOG_ENV,
    S3_SECRET_ENV,
    SLACK_ENV,
    Settings,
)
from continual_ml.warehouse.connection import (
    CATALOG,
    ObjectStore,
    WarehouseLocation,
    interrupts_kept,
    open_warehouse,
    warehouse_connection,
)


class DatasetResource(dg.ConfigurableResource):
    """The dataset configuration file the pipeline runs on (empty: the built-in demo)."""

    config_path: str = ""

    @property
    def config(self) -> DatasetConfig:
        return load_config(self.config_path or None)


class WarehouseResource(DuckDBResource):
    """The warehouse: the DuckDB file `database` (backend "duckdb"), or DuckLake with its catalog
    in Postgres and its data on an object store or in a folder. A `DuckDBResource`, so assets
    typed with it open connections the same way, `with duckdb.get_connection() as conn`."""

    backend: Literal["duckdb", "ducklake"] = "duckdb"
    ducklake_catalog: str | None = None
    ducklake_data_path: str | None = None
    s3_endpoint: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_region: str = "us-east-1"
    s3_use_ssl: bool = True
    s3_url_style: Literal["path", "vhost"] = "path"
    _lake: Any = PrivateAttr(default=None)  # DuckLake, attached by the run's first step

    @property
    def location(self) -> WarehouseLocation:
        return WarehouseLocation(
            backend=self.backend,
            database=self.database,
            catalog=self.ducklake_catalog,
            data_path=self.ducklake_data_path,
            object_store=ObjectStore(
                self.s3_endpoint,
                self.s3_access_key_id,
                self.s3_secret_access_key,
                self.s3_region,
                self.s3_use_ssl,
                self.s3_url_style,
            ),
            memory_limit=self.connection_config.get("memory_limit", "1GB"),
        )

    @contextmanager
    def get_connection(self) -> Iterator:
        if self.backend == "duckdb":
            # Opened per step: held for the run, the file would keep other runs' steps out of it
            # between this run's steps (one writer process per file).
            with warehouse_connection(self.location) as conn:
                yield conn
            return
        # DuckLake: one attach per run, on the first step that opens the warehouse (it loads
        # the extensions, connects to the catalog and sets the store's secret), shared by the
        # run's steps through cursors of their own (a transaction, temporary tables and the
        # current catalog stay within the step). Closed when the run's resources are torn down.
        if self._lake is None:
            self._lake = open_warehouse(self.location)
        cursor = self._lake.cursor()
        try:
            cursor.execute(f"USE {CATALOG}")
            with interrupts_kept():
                yield cursor
        finally:
            cursor.close()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._lake is not None:
            self._lake.close()
            self._lake = None


class ArtifactDirsResource(dg.ConfigurableResource):
    """Stores outside the warehouse: reports on disk, the BentoML store, the MLflow registry."""

    reports_dir: str
    bentoml_home: str
    mlflow_tracking_uri: str

    def report_path(self, name: str) -> Path:
        return Path(self.reports_dir) / name

    def model_stores(self, config: DatasetConfig) -> ModelStores:
        return ModelStores(Path(self.bentoml_home), self.mlflow_tracking_uri, config)


class AlertsResource(dg.ConfigurableResource, ABC):
    """Where alerts go. Bound in one place: `WebhookAlerts` when a Slack or Discord webhook is
    set, else `LoggedAlerts`; assets ask for this base and never know which."""

    # Every alert is also appended here (never a URL), for `continual-ml status`.
    record_path: str | None = None
    timeout_seconds: float = 5.0

    @abstractmethod
    def webhooks(self) -> dict[str, str | None]:
        """The webhook URL of each sink, by keyword of `send_alert`."""

    def send(self, alert: Alert, log) -> list[str]:
        """Deliver to every configured sink; a failing sink is logged, never raised."""
        return send_alert(
            alert,
            **self.webhooks(),
            record_path=Path(self.record_path) if self.record_path else None,
            timeout_seconds=self.timeout_seconds,
            say=log.info,
            warn=log.warning,
        )


class WebhookAlerts(AlertsResource):
    """Posts alerts to Slack and Discord incoming webhooks, with retries."""

    slack_webhook_url: str | None = None
    discord_webhook_url: str | None = None

    def webhooks(self) -> dict[str, str | None]:
        return {
            "slack_webhook_url": self.slack_webhook_url,
            "discord_webhook_url": self.discord_webhook_url,
        }


class LoggedAlerts(AlertsResource):
    """No webhook set: alerts go to the run's log and the local record only."""

    def webhooks(self) -> dict[str, str | None]:
        return {"slack_webhook_url": None, "discord_webhook_url": None}


def _secret(name: str, value) -> dg.EnvVar | None:
    # Bound only when set, so an unset optional webhook is "no sink" rather than a load error;
    # by name, so the URL (or password) itself is never in the run's config.
    return dg.EnvVar(name) if value is not None else None


def build_resources(paths: Paths | None = None) -> dict:
    paths, settings = paths or Paths.from_env(), Settings.from_env()
    return {
        "dataset": DatasetResource(config_path=str(settings.config_path or "")),
        # A memory limit keeps ingestion streaming (DuckDB spills) instead of caching 80% of RAM.
        "duckdb": WarehouseResource(
            database=str(paths.warehouse),
            connection_config={"memory_limit": settings.duckdb_memory},
            backend=settings.warehouse_backend,
            ducklake_catalog=_secret(DUCKLAKE_CATALOG_ENV, settings.ducklake_catalog),
            ducklake_data_path=settings.ducklake_data_path,
            s3_endpoint=settings.s3_endpoint,
            s3_access_key_id=settings.s3_access_key_id,
            s3_secret_access_key=_secret(S3_SECRET_ENV, settings.s3_secret_access_key),
            s3_region=settings.s3_region,
            s3_use_ssl=settings.s3_use_ssl,
            s3_url_style=settings.s3_url_style,
        ),
        "artifact_dirs": ArtifactDirsResource(
            reports_dir=str(paths.reports),
            bentoml_home=str(paths.bentoml_home),
            mlflow_tracking_uri=paths.mlflow_tracking_uri,
        ),
        "alerts": (
            WebhookAlerts(
                slack_webhook_url=_secret(SLACK_ENV, settings.slack_webhook_url),
                discord_webhook_url=_secret(DISCORD_ENV, settings.discord_webhook_url),
                record_path=str(paths.alerts_record),
            )
            if settings.slack_webhook_url or settings.discord_webhook_url
            else LoggedAlerts(record_path=str(paths.alerts_record))
        ),
        "mlflow": MlflowResource(mlflow_tracking_uri=paths.mlflow_tracking_uri),
    }


class MlflowResource(dg.ConfigurableResource):
    """dagster-mlflow's MLflow run for a training run: what a step gets as `mlflow`.

    dagster-mlflow is imported only when a run needs it: importing MLflow takes most of a second,
    and every run process (landing a day, a log) imports this module to load the code location,
    while only training runs use MLflow."""

    mlflow_tracking_uri: str
    experiment_name: str = MLFLOW_EXPERIMENT

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[Any]:
        from dagster_mlflow import mlflow_tracking

        # dagster-mlflow reads its config from the context: this resource's fields, by name.
        yield from mlflow_tracking.resource_fn(context)
