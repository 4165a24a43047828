"""Metrics as JSON can carry them: an undefined value is null, and the report says why.

The reports (`classification_report`, `multiclass_report`, `class_report`) keep ``nan`` for a
metric their sample cannot define, which numpy and pandas handle, and name the reason in their
``undefined`` entry. JSON has no ``nan``: strict parsers, Starlette's `JSONResponse` and
DuckDB's JSON type refuse it. So whatever leaves the process (the service's `/model`, the
registry's JSON, Dagster metadata, MLflow) goes through `json_safe` or `safe_report` first, and
a null always comes with its reason.
"""

from __future__ import annotations

import json
import math

import numpy as np

#: The entry of a report naming, for each metric it could not define, why.
UNDEFINED = "undefined"
#: The reasons given for a null whose report said nothing about it.
NOT_FINITE = "not a finite number"
NOT_RECORDED = "no value recorded"


def json_safe(value):
    """`value` with numpy types made plain and every non-finite float made ``None``.

    Examples
    --------
    >>> json_safe({"auc": float("nan"), "n": np.int64(3), "cells": np.array([[1.0, np.inf]])})
    {'auc': None, 'n': 3, 'cells': [[1.0, None]]}
    """
    if isinstance(value, dict):
        return {_key(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def safe_report(report: dict) -> dict:
    """`json_safe(report)`, its ``undefined`` entry naming a reason for every top-level null.

    Examples
    --------
    >>> safe_report({"accuracy": 0.5, "roc_auc": float("nan"), "ece": float("inf")})
    {'accuracy': 0.5, 'roc_auc': None, 'ece': None, 'undefined': {'roc_auc': 'not a finite number', 'ece': 'not a finite number'}}
    """  # noqa: E501
    safe = json_safe(report)
    reasons = dict(safe.pop(UNDEFINED, None) or {})
    for name, value in safe.items():
        if value is None:
            original = report.get(name)
            reasons.setdefault(name, NOT_RECORDED if original is None else NOT_FINITE)
    safe[UNDEFINED] = {name: why for name, why in reasons.items() if safe.get(name) is None}
    return safe


def dumps(value, **kwargs) -> str:
    """JSON text of `value` made safe; never the non-standard ``NaN`` or ``Infinity``."""
    return json.dumps(json_safe(value), allow_nan=False, **kwargs)


def finite_scalars(report: dict, names=None) -> dict[str, float]:
    """The report's finite numbers among `names` (all its top-level numbers by default)."""
    names = report.keys() if names is None else names
    return {
        name: float(report[name])
        for name in names
        if isinstance(report.get(name), int | float | np.number)
        and not isinstance(report.get(name), bool)
        and math.isfinite(report[name])
    }


def undefined_reasons(report: dict, names=None) -> dict[str, str]:
    """Why each metric among `names` (all by default) is missing from `finite_scalars`."""
    safe = safe_report(report)
    names = safe[UNDEFINED].keys() if names is None else names
    return {name: safe[UNDEFINED][name] for name in names if name in safe[UNDEFINED]}


def _key(key):
    key = key.item() if isinstance(key, np.generic) else key
    return key if isinstance(key, str | int) else str(key)
