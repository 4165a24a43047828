"""Every environment variable continual-ml reads, in one typed model.

Read with `Settings.from_env()` where a value is used, not once at import: the commands set some
of them (`prepare` points the tools at the local home) before the code that reads them runs.
Webhook URLs, the API token, the DuckLake catalog's connection string and the S3 secret key are
`SecretStr`, so printing the settings never shows them; the Dagster resources still bind them
with `dg.EnvVar` by name (`SLACK_ENV`, `DISCORD_ENV`, `DUCKLAKE_CATALOG_ENV`, `S3_SECRET_ENV`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

SLACK_ENV = "CONTINUAL_ML_SLACK_WEBHOOK_URL"
DISCORD_ENV = "CONTINUAL_ML_DISCORD_WEBHOOK_URL"
DUCKLAKE_CATALOG_ENV = "CONTINUAL_ML_DUCKLAKE_CATALOG"
S3_SECRET_ENV = "CONTINUAL_ML_S3_SECRET_ACCESS_KEY"
CELERY_BROKER_ENV = "CONTINUAL_ML_CELERY_BROKER_URL"
CELERY_BACKEND_ENV = "CONTINUAL_ML_CELERY_BACKEND_URL"
MIB = 1024 * 1024


class Settings(BaseSettings):
    """The environment, each variable under its own name (the field's alias)."""

    # An empty variable counts as unset; names are matched exactly, as the process sees them.
    model_config = SettingsConfigDict(
        frozen=True,
        extra="ignore",
        populate_by_name=True,
        case_sensitive=True,
        env_ignore_empty=True,
    )

    # Where state lives (the embedded default keeps it all under `home`)
    home: Path = Field(
        Path(".continual_ml"),
        alias="CONTINUAL_ML_HOME",
        description="the one folder the embedded default keeps its state in",
    )
    config_path: Path | None = Field(
        None, alias="CONTINUAL_ML_CONFIG", description="your dataset's YAML (unset: the demo's)"
    )
    warehouse: Path | None = Field(
        None,
        alias="CONTINUAL_ML_WAREHOUSE",
        description="the DuckDB file (unset: warehouse.duckdb in the home)",
    )
    landing_dir: Path | None = Field(
        None,
        alias="CONTINUAL_ML_LANDING_DIR",
        description="the folder watched for files (unset: landing/ in the home)",
    )
    prediction_log_dir: Path | None = Field(
        None,
        alias="CONTINUAL_ML_PREDICTION_LOG_DIR",
        description="where the service writes its logs (unset: prediction_logs/ in the home)",
    )
    dagster_home: Path | None = Field(
        None,
        alias="DAGSTER_HOME",
        description="Dagster's instance (unset: dagster_home/ in the home)",
    )
    bentoml_home: Path | None = Field(
        None,
        alias="BENTOML_HOME",
        description="BentoML's model store (unset: bentoml/ in the home)",
    )
    mlflow_tracking_uri: str | None = Field(
        None,
        alias="MLFLOW_TRACKING_URI",
        description="MLflow's tracking store (unset: mlflow.db in the home)",
    )
    # The warehouse: the DuckDB file above (default), or DuckLake, its catalog in Postgres and
    # its data on an S3-compatible object store or in a folder (see docs/scaling.md)
    warehouse_backend: Literal["duckdb", "ducklake"] = Field(
        "duckdb",
        alias="CONTINUAL_ML_WAREHOUSE_BACKEND",
        description="ducklake: the multi-writer warehouse instead of the file",
    )
    # A libpq connection string ("host=... port=... dbname=... user=... password=..."): secret
    ducklake_catalog: SecretStr | None = Field(
        None,
        alias=DUCKLAKE_CATALOG_ENV,
        description="DuckLake's catalog: a libpq string, host=... dbname=... user=... password=...",
    )
    ducklake_data_path: str | None = Field(
        None,
        alias="CONTINUAL_ML_DUCKLAKE_DATA_PATH",
        description="where DuckLake writes its Parquet files: s3://bucket/prefix/ or a folder",
    )
    s3_endpoint: str | None = Field(
        None,
        alias="CONTINUAL_ML_S3_ENDPOINT",
        description="an S3-compatible store's host:port (unset: AWS)",
    )
    s3_access_key_id: str | None = Field(
        None, alias="CONTINUAL_ML_S3_ACCESS_KEY_ID", description="the object store's access key"
    )
    s3_secret_access_key: SecretStr | None = Field(
        None, alias=S3_SECRET_ENV, description="the object store's secret key"
    )
    s3_region: str = Field(
        "us-east-1", alias="CONTINUAL_ML_S3_REGION", description="the object store's region"
    )
    s3_use_ssl: bool = Field(
        True, alias="CONTINUAL_ML_S3_USE_SSL", description="reach the object store over TLS"
    )
    s3_url_style: Literal["path", "vhost"] = Field(
        "path",
        alias="CONTINUAL_ML_S3_URL_STYLE",
        description="path- or virtual-host-style object URLs",
    )
    # The pipeline
    duckdb_memory: str = Field(
        "1GB",
        alias="CONTINUAL_ML_DUCKDB_MEMORY",
        description="DuckDB's memory limit in runs (it spills beyond)",
    )
    # `continual-ml ingest`'s progress: on (1) or off (0); unset, on a terminal or a large file
    progress: bool | None = Field(
        None,
        alias="CONTINUAL_ML_PROGRESS",
        description="`ingest` progress: 1 always, 0 never; unset, on a terminal or a large file",
    )
    keep_reports: int = Field(
        60, ge=1, alias="CONTINUAL_ML_KEEP_REPORTS", description="Evidently HTML reports kept"
    )
    sensor_seconds: int = Field(
        5, ge=1, alias="CONTINUAL_ML_SENSOR_SECONDS", description="how often the sensors tick (s)"
    )
    dagster_ui_url: str = Field(
        "http://127.0.0.1:3000",
        alias="CONTINUAL_ML_DAGSTER_UI_URL",
        description="where links to Dagster in metadata and alerts point",
    )
    mlflow_ui_url: str = Field(
        "http://127.0.0.1:5000",
        alias="CONTINUAL_ML_MLFLOW_UI_URL",
        description="where links to MLflow in metadata and alerts point",
    )
    code_server_port: int | None = Field(
        None,
        alias="DAGSTER_CODE_SERVER_PORT",
        description="the code server's port under `up` (unset: a free port)",
    )
    disk_warn_free_mb: float = Field(
        500.0,
        ge=0,
        alias="CONTINUAL_ML_DISK_WARN_FREE_MB",
        description="`up` warns and alerts when the home's disk has less free (MB)",
    )
    # Alerts when the loop falls behind, each once as it starts and once as it ends
    lag_alert_days: int = Field(
        3, ge=0, alias="CONTINUAL_ML_LAG_ALERT_DAYS", description="alert past this monitoring lag"
    )
    queue_alert_minutes: float = Field(
        15, gt=0, alias="CONTINUAL_ML_QUEUE_ALERT_MINUTES", description="alert past this queue wait"
    )
    slack_webhook_url: SecretStr | None = Field(
        None, alias=SLACK_ENV, description="a Slack incoming webhook for alerts"
    )
    discord_webhook_url: SecretStr | None = Field(
        None, alias=DISCORD_ENV, description="a Discord webhook for alerts"
    )
    # Runs on workers (the scale-out profile): the Celery broker and result backend both the
    # run launcher and the workers use (URLs with a password)
    celery_broker_url: SecretStr | None = Field(
        None,
        alias=CELERY_BROKER_ENV,
        description="runs on workers: the broker, Postgres through SQLAlchemy (sqla+postgresql+psycopg2://...)",
    )
    celery_backend_url: SecretStr | None = Field(
        None,
        alias=CELERY_BACKEND_ENV,
        description="runs on workers: the result backend (db+postgresql+psycopg2://...)",
    )
    # The service, and its clients
    demo_service_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        alias="CONTINUAL_ML_DEMO_SERVICE_PORT",
        description="the port `continual-ml demo` serves on (unset: a free one)",
    )
    service_url: str = Field(
        "http://127.0.0.1:3001",
        alias="CONTINUAL_ML_SERVICE_URL",
        description="the service `continual-ml score` calls",
    )
    api_token: SecretStr | None = Field(
        None,
        alias="CONTINUAL_ML_API_TOKEN",
        description="the bearer token the service requires on its scoring and feedback routes",
    )
    unknown_category: Literal["reject", "map"] = Field(
        "reject",
        alias="CONTINUAL_ML_UNKNOWN_CATEGORY",
        description="map: score an unseen category as unknown instead of refusing the row",
    )
    max_rows: int = Field(
        10_000,
        ge=1,
        alias="CONTINUAL_ML_MAX_ROWS",
        description="rows a /predict_batch request may send",
    )
    adaptive_batch_rows: int = Field(
        64,
        ge=1,
        alias="CONTINUAL_ML_ADAPTIVE_BATCH_ROWS",
        description="rows a /predict_rows request may send, and per merged scoring call",
    )
    max_body_bytes: int = Field(
        8 * MIB,
        ge=1,
        alias="CONTINUAL_ML_MAX_BODY_BYTES",
        description="the largest /predict_batch body",
    )
    max_file_bytes: int = Field(
        64 * MIB,
        ge=1,
        alias="CONTINUAL_ML_MAX_FILE_BYTES",
        description="the largest /score_file body",
    )
    per_request_telemetry: bool = Field(
        False,
        alias="CONTINUAL_ML_PER_REQUEST_TELEMETRY",
        description="BentoML's access log and tracing on the scoring routes",
    )
    model_poll_seconds: float = Field(
        1.0,
        gt=0,
        alias="CONTINUAL_ML_MODEL_POLL_SECONDS",
        description="how often the service looks for a new champion",
    )
    prediction_log_seconds: float = Field(
        10.0,
        gt=0,
        alias="CONTINUAL_ML_PREDICTION_LOG_SECONDS",
        description="the service closes each log file this long after opening it, for ingestion",
    )
    # Names this service replica in its log files; unset, the hostname (unique per host)
    replica_id: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$",
        alias="CONTINUAL_ML_REPLICA_ID",
        description="names this service replica in its log files (unset: the hostname)",
    )
    # A landed file is taken once its size and mtime held this long (a Parquet file with its
    # footer in place at once); 0 when every writer renames complete files into place
    landing_settle_seconds: float = Field(
        10.0,
        ge=0,
        alias="CONTINUAL_ML_LANDING_SETTLE_SECONDS",
        description="seconds a landed file's size and mtime must hold before it is taken",
    )

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, **files):
        """Arguments and the environment only: no .env or secrets files (a variable set in the
        process is the one place a value comes from)."""
        return init_settings, env_settings

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings the environment gives; an empty variable counts as unset.

        >>> Settings.from_env({"CONTINUAL_ML_MAX_ROWS": "50", "CONTINUAL_ML_CONFIG": ""}).max_rows
        50
        """
        if environ is None:
            return cls()
        # Its own environment only: model_validate would run __init__, which reads os.environ.
        return cls(_build_sources=((_GivenEnvironment(cls, environ),), {}))

    @staticmethod
    def secret(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value is not None else None


class _GivenEnvironment(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping instead of `os.environ`:
    the same names, parsing and empty-means-unset, for a caller that states its environment."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self.environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k: v for k, v in self.environ.items() if not (self.env_ignore_empty and v == "")}
