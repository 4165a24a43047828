"""What the retraining policy decides from: its settings and what monitoring saw per partition."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from continual_ml.config import PolicySettings
from continual_ml.training.regression_metrics import DAILY_ERRORS


class RetrainPolicy(BaseModel):
    """How much evidence a retrain needs, and how often one may run.

    The fields and defaults are the dataset's `policy:` settings (`config.PolicySettings`, where
    each is described), with the cooldown as a duration in data time.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    drift_share_threshold: float = Field(0.3, gt=0, le=1)
    consecutive_partitions: int = Field(1, ge=1)
    max_performance_drop: float = Field(0.05, ge=0, le=1)
    cooldown: timedelta = timedelta(0)
    max_retrains_per_day: int = Field(24, ge=1)
    follow_up_refusals: int = Field(2, ge=0)
    decay_partitions: int = Field(3, ge=0)  # 0 turns the decay rule off
    max_decay: float = Field(0.02, ge=0, le=1)
    shift_episode_days: int = Field(30, ge=1)
    data_growth: float = Field(0.5, ge=0)  # 0 turns the growth rule off
    # None: accuracies decide; for a number, its daily error ("mae" or "mse") does
    error_metric: Literal["mae", "mse"] | None = None

    @classmethod
    def from_settings(cls, settings: PolicySettings) -> RetrainPolicy:
        """The policy a dataset's `policy:` settings ask for."""
        shared = set(cls.model_fields) - {"cooldown", "error_metric"}
        return cls(
            cooldown=timedelta(hours=settings.cooldown_hours),
            error_metric=DAILY_ERRORS.get(settings.gate_metric),
            **settings.model_dump(include=shared),
        )

    @field_validator("cooldown", mode="before")
    @classmethod
    def _number_is_hours(cls, value):
        return timedelta(hours=value) if isinstance(value, int | float) else value


@dataclass(frozen=True)
class PartitionObservation:
    """What monitoring saw in one partition; accuracies are None until known."""

    partition: str
    drift_share: float | None  # None: no verdict (too few rows to test any feature)
    realized_accuracy: float | None = None
    estimated_accuracy: float | None = None
    validation_passed: bool = True
    champion_version: int | None = None  # the model the accuracies are of
    n_labelled: int | None = None  # the rows the realized accuracy is measured on
    # a regression champion's daily error (`RetrainPolicy.error_metric`), and the spread of its
    # rows' losses; None until known, and for a classifier
    realized_error: float | None = None
    estimated_error: float | None = None
    error_sd: float | None = None

    @property
    def labelled(self) -> bool:
        """Whether its labels have landed: a realized accuracy or error is known."""
        return self.realized_accuracy is not None or self.realized_error is not None
