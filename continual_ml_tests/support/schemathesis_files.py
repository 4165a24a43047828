"""What a CSV or Parquet file of the service's rows is, taught to schemathesis.

OpenAPI can say a body is a CSV or Parquet file, not which columns it has: left to itself,
schemathesis sends arbitrary bytes as a "valid" file, which the service refuses for good reason
(400, no feature columns). Imported as schemathesis's hooks module (`SCHEMATHESIS_HOOKS`), this
registers one strategy per file type (raw, or as the `file` part of a multipart upload): files
of 0 to 20 rows of the configured features, each cell of its feature's type and range, so
positive cases are files the service must score (200) and every check stays on.
"""

from __future__ import annotations

import io

import pandas as pd
import schemathesis
from hypothesis import strategies as st

from continual_ml.config import FeatureSpec, default_config
from continual_ml.serving.file_scoring import CSV, PARQUET

CONFIG = default_config()


def cells(feature: FeatureSpec) -> st.SearchStrategy:
    if feature.kind == "numeric":
        cell = st.floats(feature.min, feature.max, allow_nan=False, allow_infinity=False)
    elif feature.kind == "boolean":
        cell = st.booleans()
    else:
        cell = st.sampled_from(feature.categories)
    return st.none() | cell if feature.nullable else cell


ROWS = st.lists(st.fixed_dictionaries({f.name: cells(f) for f in CONFIG.features}), max_size=20)


def frame_of(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(CONFIG.feature_names))


def parquet_of(rows: list[dict]) -> bytes:
    buffer = io.BytesIO()
    frame_of(rows).to_parquet(buffer, index=False)
    return buffer.getvalue()


CSV_FILES = ROWS.map(lambda rows: frame_of(rows).to_csv(index=False).encode())
PARQUET_FILES = ROWS.map(parquet_of)

schemathesis.openapi.media_type(CSV, CSV_FILES)
schemathesis.openapi.media_type(PARQUET, PARQUET_FILES)
