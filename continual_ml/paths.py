"""Where the embedded default keeps its state, from the environment's settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from continual_ml.settings import Settings


def _in_home(name: str, setting: str | None = None) -> property:
    """A place in the home, unless the environment's `setting` (a `Settings` field) names another.

    Read on each use: the commands set some of these variables before the code that reads them.
    """

    def place(paths: Paths) -> Path:
        chosen = getattr(Settings.from_env(), setting) if setting else None
        return chosen or paths.home / name

    return property(place)


class Paths(BaseModel):
    """Where the embedded default keeps its state: one folder, `CONTINUAL_ML_HOME`."""

    home: Path

    warehouse = _in_home("warehouse.duckdb", setting="warehouse")
    mlflow_artifacts = _in_home("mlartifacts")
    bentoml_home = _in_home("bentoml", setting="bentoml_home")
    reports = _in_home("reports")
    prediction_logs = _in_home("prediction_logs", setting="prediction_log_dir")
    alerts_record = _in_home("alerts.jsonl")
    loop_lag_record = _in_home("loop_lag.json")  # the loop's lag as last read (`status`, /metrics)
    dagster_home = _in_home("dagster_home", setting="dagster_home")

    @classmethod
    def from_env(cls) -> Paths:
        return cls(home=Settings.from_env().home.resolve())

    @property
    def mlflow_tracking_uri(self) -> str:
        return Settings.from_env().mlflow_tracking_uri or f"sqlite:///{self.home / 'mlflow.db'}"
