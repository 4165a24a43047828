"""Every report, binary or multiclass, leaves the process as strict JSON: nulls with reasons."""

import json

import numpy as np
import pytest

from continual_ml.models.metric_values import dumps, finite_scalars, safe_report
from continual_ml.training.classification_metrics import classification_report
from continual_ml.training.evaluation import class_report


def strict(text: str):
    def refuse(token):
        raise ValueError(f"{token} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_a_multiclass_report_defines_the_binary_table_s_metrics_and_says_why_one_is_missing():
    # three classes, "c" never in the sample: one-vs-rest ROC-AUC cannot be computed
    truth = ["a", "b", "a", "b"]
    proba = [[0.7, 0.2, 0.1], [0.2, 0.6, 0.2], [0.4, 0.5, 0.1], [0.3, 0.6, 0.1]]
    report = class_report(truth, proba, ["a", "b", "c"])
    # what was NaN for every multiclass model before: macro and top-label counterparts
    for name in ("precision", "recall", "pr_auc", "ece"):
        assert 0 <= report[name] <= 1, name
    assert report["precision"] == pytest.approx((1.0 + 2 / 3) / 2)  # "c" never predicted
    safe = strict(dumps(safe_report(report)))
    assert safe["roc_auc"] is None and "missing ['c']" in safe["undefined"]["roc_auc"]
    assert set(safe["undefined"]) == {"roc_auc"}
    c = safe["per_class"][2]
    assert c["class"] == "c" and c["precision"] is None and c["recall"] is None
    assert set(c["undefined"]) == {"precision", "recall", "f1"}


def test_a_binary_report_on_one_class_names_each_undefined_metric():
    report = classification_report([0, 0, 0], [0.1, 0.2, 0.3])
    safe = strict(dumps(safe_report(report)))
    assert {k for k, v in safe.items() if v is None} == set(safe["undefined"])
    assert safe["undefined"]["precision"] == "no row was predicted positive"
    assert "only 0 is present" in safe["undefined"]["roc_auc"]
    assert safe["accuracy"] == 1.0


def test_an_empty_sample_has_every_metric_null_with_a_reason():
    report = class_report([], np.zeros((0, 3)), ["a", "b", "c"])
    safe = strict(dumps(safe_report(report)))
    assert safe["undefined"]["accuracy"] == "no rows to score" and safe["n"] == 0
    assert finite_scalars(report) == {"n": 0.0}


def test_a_non_finite_value_from_elsewhere_becomes_null_with_a_generic_reason():
    safe = safe_report({"accuracy": 0.8, "ece": float("inf"), "brier": np.float64("nan")})
    assert safe == {
        "accuracy": 0.8,
        "ece": None,
        "brier": None,
        "undefined": {"ece": "not a finite number", "brier": "not a finite number"},
    }
    with pytest.raises(ValueError):
        json.dumps({"x": float("nan")}, allow_nan=False)  # what `dumps` never hands over
