"""What the service accepts and answers, generated from the dataset configuration.

Requests are validated strictly: a number is a JSON number (not `"0.5"`, not `true`), a boolean
feature is a JSON boolean, nothing is coerced, and no key may be missing, extra or repeated. The
same models back the request check in front of BentoML (`http_guard`) and the OpenAPI document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, create_model
from pydantic_core import PydanticCustomError

from continual_ml.config import DatasetConfig, FeatureSpec

STRICT = ConfigDict(extra="forbid", strict=True)
# A category sent under CONTINUAL_ML_UNKNOWN_CATEGORY=map is logged with the prediction: its
# length is bounded so one request cannot write megabytes to the log.
MAX_CATEGORY_CHARS = 200


@dataclass(frozen=True)
class Limits:
    """How much one request may carry, per route."""

    rows_per_merged_request: int = 64
    rows_per_batch: int = 10_000
    feedback_items: int = 10_000  # the labels of one full batch of predictions
    max_body_bytes: int = 8 * 1024 * 1024  # /predict_batch
    small_body_bytes: int = 256 * 1024  # /predict and /predict_rows
    feedback_body_bytes: int = 2 * 1024 * 1024
    file_body_bytes: int = 64 * 1024 * 1024  # /score_file
    file_rows: int = 1_000_000


class Prediction(BaseModel):
    """One answer of the service: which model said what, under which id."""

    prediction_id: str
    model_version: int
    predicted_class: int | str  # the class label: an integer, or text for text classes
    probabilities: dict[str, float]


class PredictionInterval(BaseModel):
    """A split-conformal interval: it holds the truth with probability at least `level` on rows
    like the champion's holdout (`training.conformal`)."""

    lower: float
    upper: float
    level: float


class NumberPrediction(BaseModel):
    """One answer of a regression champion: which model predicted which number, under which id."""

    prediction_id: str
    model_version: int
    prediction: float = Field(description="the predicted value of the label (always finite)")
    interval: PredictionInterval | None = Field(
        None, description="null unless the champion was exported with a conformal calibration"
    )


# A prediction's fields, in order: each is also a key of the prediction's log record.
ANSWER_FIELDS = tuple(Prediction.model_fields)
NUMBER_FIELDS = tuple(NumberPrediction.model_fields)


def answer_of(record: dict) -> dict:
    """The part of a prediction's log record its client is answered, as a `Prediction`'s fields
    (a `NumberPrediction`'s for a record holding a number: a regression champion's)."""
    fields = ANSWER_FIELDS if "probabilities" in record else NUMBER_FIELDS
    return {name: record[name] for name in fields}


def answer_model(model: type[BaseModel], answer: dict) -> BaseModel:
    """`model` (`Prediction` or `NumberPrediction`) holding `answer`, our own validated values,
    built without validating them again; an interval as the model it is, so that serializing
    the answer finds the type it declares."""
    interval = answer.get("interval")
    if isinstance(interval, dict):
        answer = {**answer, "interval": PredictionInterval.model_construct(**interval)}
    return model.model_construct(**answer)


class RowRefusal(BaseModel):
    """In a merged call's answers, in place of a prediction: the model refused this row.

    Never sent to a client: `http_guard.RefusedRows` answers the row's request with a 422.
    """

    unscorable: str


class BatchResponse(BaseModel):
    model_version: int
    predictions: list[Prediction]


class NumberBatchResponse(BaseModel):
    model_version: int
    predictions: list[NumberPrediction]


def _feature_type(feature: FeatureSpec, unknown_category: str) -> tuple[Any, Any]:
    if feature.kind == "numeric":
        kind: Any = float
        field = Field(allow_inf_nan=False, ge=feature.min, le=feature.max)
    elif feature.kind == "boolean":
        kind, field = bool, Field()
    elif unknown_category == "map":
        kind = str
        field = Field(
            max_length=MAX_CATEGORY_CHARS, description=f"one of {list(feature.categories)}"
        )
    else:
        kind, field = Literal[feature.categories], Field()
    return (kind | None if feature.nullable else kind), field


def row_schema(config: DatasetConfig, unknown_category: str = "reject") -> type[BaseModel]:
    """A pydantic model of one input row: every feature required, typed, finite, nothing extra.

    With `unknown_category="map"`, a category outside the configured ones is accepted and the
    pipeline's encoder treats it as unknown (all-zero one-hot); with "reject" it is a 400. A
    nullable feature takes `null`; a numeric feature with `min`/`max` refuses values outside.
    """
    fields = {f.name: _feature_type(f, unknown_category) for f in config.features}
    return create_model("FeatureRow", __config__=STRICT, **fields)


CONFLICT = "conflicting_labels"  # the error type `http_guard` answers with a 409


def one_label_each(items: list) -> list:
    """The items with repeats dropped; two different labels for one prediction are refused."""
    labels: dict[str, Any] = {}
    for item in items:
        if labels.setdefault(item.prediction_id, item.label) != item.label:
            raise PydanticCustomError(
                CONFLICT,
                "prediction_id {prediction_id} has two different labels",
                {"prediction_id": item.prediction_id},
            )
    if len(labels) == len(items):
        return items
    seen: set[str] = set()
    return [i for i in items if not (i.prediction_id in seen or seen.add(i.prediction_id))]


def _no_boolean(value: Any) -> Any:
    # `true == 1` in Python, so a literal of integer classes would take a JSON boolean.
    if isinstance(value, bool):
        raise PydanticCustomError("label_type", "a boolean is not one of the classes")
    return value


def feedback_item(config: DatasetConfig) -> type[BaseModel]:
    """One label: one of the classes, or for `task: regression` a finite JSON number."""
    if config.regression:
        # strict: a JSON integer is taken, `"2.5"` and `true` are not
        label: Any = Annotated[float, Field(allow_inf_nan=False)]
    else:
        label = Literal[tuple(config.classes)]
    if not config.regression and not all(isinstance(c, bool) for c in config.classes):
        label = Annotated[label, BeforeValidator(_no_boolean)]
    return create_model(
        "FeedbackItem",
        __config__=STRICT,
        prediction_id=(str, Field(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")),
        label=(label, Field()),
    )


@dataclass(frozen=True)
class RequestModels:
    """Each route's body, and the parameter types BentoML's signatures take from them."""

    row: type[BaseModel]
    feedback_item: type[BaseModel]
    merged_rows: Any  # /predict_rows
    batch_rows: Any  # /predict_batch
    feedback_items: Any  # /feedback
    bodies: dict[str, type[BaseModel]]
    # what /predict and /predict_batch answer: classes, or for a regression a number
    prediction: type[BaseModel] = Prediction
    batch_response: type[BaseModel] = BatchResponse


def request_models(
    config: DatasetConfig, unknown_category: str = "reject", limits: Limits = Limits()
) -> RequestModels:
    row = row_schema(config, unknown_category)
    item = feedback_item(config)

    def rows(most: int) -> Any:
        return Annotated[list[row], Field(min_length=1, max_length=most)]  # type: ignore[valid-type]

    merged_rows, batch_rows = rows(limits.rows_per_merged_request), rows(limits.rows_per_batch)
    feedback_items = Annotated[
        list[item],  # type: ignore[valid-type]
        # counted as sent, then a repeated label is recorded once
        Field(min_length=1, max_length=limits.feedback_items),
        AfterValidator(one_label_each),
    ]

    def body(name: str, **fields: Any) -> type[BaseModel]:
        return create_model(name, __config__=STRICT, **{k: (v, ...) for k, v in fields.items()})

    bodies = {
        "/predict": body("PredictBody", features=row),
        "/predict_rows": body("PredictRowsBody", rows=merged_rows),
        "/predict_batch": body("PredictBatchBody", rows=batch_rows),
        "/feedback": body("FeedbackBody", items=feedback_items),
    }
    answers = (NumberPrediction, NumberBatchResponse) if config.regression else ()
    return RequestModels(row, item, merged_rows, batch_rows, feedback_items, bodies, *answers)
