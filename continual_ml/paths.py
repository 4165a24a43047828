"""Where the embedded default keeps its state, from the environment's settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from continual_ml.settings import Settings


class Paths(BaseModel):
    """Where the embedded default keeps its state: one folder, `CONTINUAL_ML_HOME`."""

    home: Path

    @classmethod
    def from_env(cls) -> Paths:
        return cls(home=Settings.from_env().home.resolve())

    @property
    def warehouse(self) -> Path:
        return Settings.from_env().warehouse or self.home / "warehouse.duckdb"

    @property
    def mlflow_tracking_uri(self) -> str:
        return Settings.from_env().mlflow_tracking_uri or f"sqlite:///{self.home / 'mlflow.db'}"

    @property
    def mlflow_artifacts(self) -> Path:
        return self.home / "mlartifacts"

    @property
    def bentoml_home(self) -> Path:
        return Settings.from_env().bentoml_home or self.home / "bentoml"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def prediction_logs(self) -> Path:
        return Settings.from_env().prediction_log_dir or self.home / "prediction_logs"

    @property
    def alerts_record(self) -> Path:
        return self.home / "alerts.jsonl"

    @property
    def dagster_home(self) -> Path:
        return Settings.from_env().dagster_home or self.home / "dagster_home"
