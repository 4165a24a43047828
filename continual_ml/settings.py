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
    home: Path = Field(Path(".continual_ml"), alias="CONTINUAL_ML_HOME")
    config_path: Path | None = Field(None, alias="CONTINUAL_ML_CONFIG")
    warehouse: Path | None = Field(None, alias="CONTINUAL_ML_WAREHOUSE")
    landing_dir: Path | None = Field(None, alias="CONTINUAL_ML_LANDING_DIR")
    prediction_log_dir: Path | None = Field(None, alias="CONTINUAL_ML_PREDICTION_LOG_DIR")
    dagster_home: Path | None = Field(None, alias="DAGSTER_HOME")
    bentoml_home: Path | None = Field(None, alias="BENTOML_HOME")
    mlflow_tracking_uri: str | None = Field(None, alias="MLFLOW_TRACKING_URI")
    # The warehouse: the DuckDB file above (default), or DuckLake, its catalog in Postgres and
    # its data on an S3-compatible object store or in a folder (see docs/scaling.md)
    warehouse_backend: Literal["duckdb", "ducklake"] = Field(
        "duckdb", alias="CONTINUAL_ML_WAREHOUSE_BACKEND"
    )
    # A libpq connection string ("host=... port=... dbname=... user=... password=..."): secret
    ducklake_catalog: SecretStr | None = Field(None, alias=DUCKLAKE_CATALOG_ENV)
    ducklake_data_path: str | None = Field(None, alias="CONTINUAL_ML_DUCKLAKE_DATA_PATH")
    s3_endpoint: str | None = Field(None, alias="CONTINUAL_ML_S3_ENDPOINT")
    s3_access_key_id: str | None = Field(None, alias="CONTINUAL_ML_S3_ACCESS_KEY_ID")
    s3_secret_access_key: SecretStr | None = Field(None, alias=S3_SECRET_ENV)
    s3_region: str = Field("us-east-1", alias="CONTINUAL_ML_S3_REGION")
    s3_use_ssl: bool = Field(True, alias="CONTINUAL_ML_S3_USE_SSL")
    s3_url_style: Literal["path", "vhost"] = Field("path", alias="CONTINUAL_ML_S3_URL_STYLE")
    # The pipeline
    duckdb_memory: str = Field("1GB", alias="CONTINUAL_ML_DUCKDB_MEMORY")
    # `continual-ml ingest`'s progress: on (1) or off (0); unset, on a terminal or a large file
    progress: bool | None = Field(None, alias="CONTINUAL_ML_PROGRESS")
    keep_reports: int = Field(60, ge=1, alias="CONTINUAL_ML_KEEP_REPORTS")
    sensor_seconds: int = Field(5, ge=1, alias="CONTINUAL_ML_SENSOR_SECONDS")
    dagster_ui_url: str = Field("http://127.0.0.1:3000", alias="CONTINUAL_ML_DAGSTER_UI_URL")
    mlflow_ui_url: str = Field("http://127.0.0.1:5000", alias="CONTINUAL_ML_MLFLOW_UI_URL")
    code_server_port: int | None = Field(None, alias="DAGSTER_CODE_SERVER_PORT")
    slack_webhook_url: SecretStr | None = Field(None, alias=SLACK_ENV)
    discord_webhook_url: SecretStr | None = Field(None, alias=DISCORD_ENV)
    # Runs on workers (the scale-out profile): where a run's steps execute, and the Celery
    # broker and result backend both the runs and the workers use (URLs with a password)
    executor: Literal["in_process", "celery"] = Field("in_process", alias="CONTINUAL_ML_EXECUTOR")
    celery_broker_url: SecretStr | None = Field(None, alias=CELERY_BROKER_ENV)
    celery_backend_url: SecretStr | None = Field(None, alias=CELERY_BACKEND_ENV)
    # The service, and its clients
    service_url: str = Field("http://127.0.0.1:3001", alias="CONTINUAL_ML_SERVICE_URL")
    api_token: SecretStr | None = Field(None, alias="CONTINUAL_ML_API_TOKEN")
    unknown_category: Literal["reject", "map"] = Field(
        "reject", alias="CONTINUAL_ML_UNKNOWN_CATEGORY"
    )
    max_rows: int = Field(10_000, ge=1, alias="CONTINUAL_ML_MAX_ROWS")
    adaptive_batch_rows: int = Field(64, ge=1, alias="CONTINUAL_ML_ADAPTIVE_BATCH_ROWS")
    max_body_bytes: int = Field(8 * MIB, ge=1, alias="CONTINUAL_ML_MAX_BODY_BYTES")
    max_file_bytes: int = Field(64 * MIB, ge=1, alias="CONTINUAL_ML_MAX_FILE_BYTES")
    per_request_telemetry: bool = Field(False, alias="CONTINUAL_ML_PER_REQUEST_TELEMETRY")
    model_poll_seconds: float = Field(1.0, gt=0, alias="CONTINUAL_ML_MODEL_POLL_SECONDS")
    # Names this service replica in its log files; unset, the hostname (unique per host)
    replica_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$", alias="CONTINUAL_ML_REPLICA_ID"
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
