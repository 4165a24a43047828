"""The dataset, model and policy settings a user edits, and where the local state lives."""

from __future__ import annotations

import os
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from continual_ml.paths import Paths as Paths  # where the local state lives
from continual_ml.settings import Settings

DEFAULT_CONFIG = Path(__file__).parent / "demo" / "demo_dataset.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeatureSpec(_Strict):
    name: str = Field(description="the column's name in your files")
    kind: Literal["numeric", "categorical", "boolean"] = Field(description="how it is checked")
    categories: tuple[str, ...] = Field(
        (), description="categorical only: every value accepted (others are quarantined)"
    )
    min: float | None = Field(None, description="numeric only: smallest value accepted")
    max: float | None = Field(None, description="numeric only: largest value accepted")
    nullable: bool = Field(False, description="whether a row may leave this feature empty")

    @model_validator(mode="after")
    def _categories_only_for_categorical(self) -> FeatureSpec:
        if self.kind == "categorical" and not self.categories:
            raise ValueError(f"feature {self.name!r}: categorical features need `categories`")
        if self.kind != "categorical" and self.categories:
            raise ValueError(f"feature {self.name!r}: {self.kind} features take no `categories`")
        return self

    @model_validator(mode="after")
    def _bounds_only_for_numeric(self) -> FeatureSpec:
        bounded = self.min is not None or self.max is not None
        if bounded and self.kind != "numeric":
            raise ValueError(f"feature {self.name!r}: only numeric features take `min`/`max`")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"feature {self.name!r}: `min` {self.min} is above `max` {self.max}")
        return self


class StreamSettings(_Strict):
    """The built-in synthetic stream: seeded daily batches with drift from `drift_day` on."""

    seed: int = Field(7, description="the stream's random seed")
    start_date: date = Field(date(2026, 1, 1), description="the stream's first day")
    rows_per_day: int = Field(2000, gt=0, description="rows in each day's batch")
    drift_day: int = Field(8, ge=0, description="the day (from 0) the drift starts")
    drift_width_days: int = Field(0, ge=0, description="0 for abrupt drift, else gradual")


class TrainingWindow(_Strict):
    """The window lengths a candidate may train on; time-ordered validation picks one
    (`training.window_selection`). With one candidate nothing is validated."""

    candidates_days: tuple[PositiveInt | Literal["all"], ...] = Field(
        (3,), min_length=1, description="window lengths in days, or `all` for all history"
    )
    min_rows: int = Field(0, ge=0, description="least labelled rows any window trains on")
    validation_rows: int = Field(
        500, ge=1, description="the newest labelled rows (whole days) candidates are scored on"
    )

    @field_validator("candidates_days")
    @classmethod
    def _distinct_candidates(cls, candidates):
        if len(set(candidates)) != len(candidates):
            raise ValueError(f"candidates_days {list(candidates)!r}: each length once")
        return candidates


class ModelSettings(_Strict):
    family: Literal[
        "logistic_regression", "random_forest", "hist_gradient_boosting", "lightgbm"
    ] = Field("logistic_regression", description="the scikit-learn model trained (or LightGBM)")
    training_window: TrainingWindow = Field(
        TrainingWindow(), description="the window lengths a candidate may train on"
    )
    holdout_fraction: float = Field(
        0.3, gt=0, lt=1, description="the newest share of the last partition held out"
    )
    min_holdout_rows: int = Field(
        200, ge=0, description="the gate's least holdout, from recent partitions on small days"
    )
    random_state: int = Field(0, description="the model's seed")
    search: bool = Field(False, description="tune hyperparameters with time-ordered CV")
    search_iterations: int = Field(6, ge=1, description="candidates the search tries")
    cv_splits: int = Field(3, ge=2, description="time-ordered folds of the search")
    slice_column: str | None = Field(None, description="report metrics per value of this column")

    @model_validator(mode="before")
    @classmethod
    def _fixed_window_days(cls, values):
        # `training_window_days: N`, the setting before candidates, is the one candidate N days.
        if isinstance(values, dict) and "training_window_days" in values:
            values = dict(values)
            days = values.pop("training_window_days")
            if "training_window" in values:
                raise ValueError("give `training_window` or `training_window_days`, not both")
            values["training_window"] = {"candidates_days": [days]}
        return values

    @property
    def training_window_days(self) -> int:
        """The shortest candidate window in days (1 if only `all`): what the first model awaits."""
        return min((c for c in self.training_window.candidates_days if c != "all"), default=1)


GateMetric = Literal["accuracy", "log_loss", "brier", "absolute_error", "squared_error"]
REGRESSION_GATE_METRICS = ("absolute_error", "squared_error")


class PolicySettings(_Strict):
    drift_share_threshold: float = Field(
        0.3, gt=0, le=1, description="share of drifted features that counts a partition drifted"
    )
    drift_min_rows: int = Field(
        30, ge=0, description="non-null values a feature needs in a day for a drift verdict"
    )
    drift_noise_alpha: float = Field(
        0.05,
        ge=0,
        lt=1,
        description="a distance over its threshold is drift only if K-S or chi-square puts the "
        "change beyond sampling noise at this level; 0 keeps Evidently's verdicts",
    )
    min_improvement: float = Field(
        0.0, ge=0, description="the gate's minimum effect, in units of `gate_metric`"
    )
    gate_metric: GateMetric = Field("accuracy", description="the per-row metric the gate compares")
    gate_alpha: float = Field(0.05, gt=0, lt=1, description="the gate's significance level")
    require_approval: bool = Field(False, description="candidates that pass wait for a human")
    consecutive_partitions: int = Field(1, ge=1, description="drifted partitions in a row")
    max_performance_drop: float = Field(
        0.05, ge=0, le=1, description="accuracy below the champion's promoted score that retrains"
    )
    cooldown_hours: float = Field(
        0.0, ge=0, description="least data time between two retrains (48: skip a day after one)"
    )
    max_retrains_per_day: int = Field(
        24, ge=1, description="retrains in any day of data time (partitions, not the clock)"
    )
    follow_up_refusals: int = Field(
        2, ge=0, description="after a promotion, retrain until the gate refuses this many in a row"
    )
    decay_partitions: int = Field(
        3, ge=0, description="partitions averaged to measure a slow decay; 0 turns it off"
    )
    max_decay: float = Field(
        0.02, ge=0, le=1, description="realized accuracy lost since the champion's first partitions"
    )
    shift_episode_days: int = Field(
        30, ge=1, description="days after a shift's onset with its own retrains, window and gate"
    )
    data_growth: float = Field(
        0.5,
        ge=0,
        description="new rows, as a share of an all-history champion's, that retrain; 0: off",
    )
    growth_evidence_days: int = Field(
        3, ge=1, description="labelled days a growth candidate is scored on, then decided once"
    )
    gate_pooled_refusals: int = Field(
        2, ge=0, description="unused by the gate (evidence accumulates); the benchmarks' old gate"
    )
    challenger_max_days: int = Field(
        30, ge=1, description="days a challenger is scored in shadow before an undecided refusal"
    )
    gate_margin: float = Field(
        0.01, ge=0, description="refuse a challenger once it cannot beat min_improvement by this"
    )


class DatasetConfig(_Strict):
    name: str = Field(description="the dataset's name")
    features: tuple[FeatureSpec, ...] = Field(description="the model's input columns")
    label: str = Field("label", description="the label column")
    task: Literal["classification", "regression"] = Field(
        "classification", description="classes to predict, or a number (a finite label)"
    )
    classes: tuple[StrictInt, ...] | tuple[StrictStr, ...] = Field(
        (0, 1),
        description="classification only: the labels, all integers or all text; [0, 1] is "
        "binary (1 the positive class)",
    )
    # The names these columns have in the files users drop; `observations` always calls them
    # `row_id` and `event_time`.
    id_column: str = Field("row_id", description="the column that identifies a row")
    event_time_column: str = Field("event_time", description="the column that dates a row")
    partition_grain: Literal["day"] = Field("day", description="partitions are days")
    first_day: date | None = Field(
        None, description="the day partitions start: your data's first day (default: the stream's)"
    )
    stream: StreamSettings = Field(StreamSettings(), description="the demo's synthetic stream")
    model: ModelSettings = Field(ModelSettings(), description="what is trained, and how")
    policy: PolicySettings = Field(PolicySettings(), description="when to retrain and promote")

    @field_validator("classes", mode="before")
    @classmethod
    def _no_yaml_booleans(cls, classes):
        if isinstance(classes, list | tuple) and any(isinstance(c, bool) for c in classes):
            quote = "YAML reads yes/no/true/false as booleans; quote text labels (['no', 'yes'])"
            raise ValueError(f"classes {list(classes)!r}: {quote}")
        return classes

    @model_validator(mode="before")
    @classmethod
    def _no_classes_for_regression(cls, values):
        # A number has no classes (refused, not ignored); the gate compares absolute errors.
        if isinstance(values, dict) and values.get("task") == "regression":
            if values.get("classes"):
                raise ValueError("`classes` is for classification: a `task: regression` has none")
            policy = {"gate_metric": "absolute_error", **dict(values.get("policy") or {})}
            values = {**values, "classes": (), "policy": policy}
        return values

    @model_validator(mode="after")
    def _gate_metric_fits_task(self) -> DatasetConfig:
        metric = self.policy.gate_metric
        if (metric in REGRESSION_GATE_METRICS) != self.regression:
            raise ValueError(f"policy.gate_metric {metric!r} does not fit `task: {self.task}`")
        return self

    @field_validator("classes")
    @classmethod
    def _distinct_classes(cls, classes, info: ValidationInfo):
        regression = info.data.get("task") == "regression"  # its classes are left empty
        if not regression and (len(classes) < 2 or len(set(classes)) != len(classes)):
            raise ValueError(f"classes {list(classes)!r}: need at least two distinct labels")
        return classes

    @property
    def binary(self) -> bool:
        """Classes [0, 1]: one class-1 probability and the binary metrics. Any other classes
        (three or more, text, another order) take the multiclass path: a probability per class."""
        return self.classes == (0, 1)

    @property
    def regression(self) -> bool:
        return self.task == "regression"

    @property
    def label_sql_type(self) -> str:
        """How the warehouse stores a label: integers BIGINT, text VARCHAR, a number DOUBLE."""
        if self.regression:
            return "DOUBLE"
        return "VARCHAR" if isinstance(self.classes[0], str) else "BIGINT"

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def partitions_start(self) -> date:
        return self.first_day or self.stream.start_date

    @property
    def numeric_features(self) -> list[str]:
        return [f.name for f in self.features if f.kind == "numeric"]

    @property
    def categorical_features(self) -> list[str]:
        return [f.name for f in self.features if f.kind == "categorical"]


def load_config(path: str | os.PathLike | None = None) -> DatasetConfig:
    """Load and validate a dataset configuration; `CONTINUAL_ML_CONFIG` names the default."""
    path = Path(path or Settings.from_env().config_path or DEFAULT_CONFIG)
    with path.open() as handle:
        return DatasetConfig.model_validate(yaml.safe_load(handle))


@cache
def default_config() -> DatasetConfig:
    return load_config()


# The MLflow experiment every training run is tracked in.
MLFLOW_EXPERIMENT = "continual-ml"
