"""A champion change that kept losing its write-write conflicts is run again, later.

`promote` retries a lost conflict itself (`retried_on_conflict`); past its last attempt it raises
with the warehouse, the MLflow alias and the BentoML pointer agreeing on the champion that was
kept. The step then fails, visibly, and Dagster runs it again after a pause: run retries redo
only crashed runs (`retry_on_asset_or_op_failure: false`), and a busy registry is not a failure
of the candidate. Any other error fails the step at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from continual_ml.warehouse.sql import is_conflict

STEP_RETRIES = 3
STEP_RETRY_SECONDS = 20


@contextmanager
def retried_when_the_registry_is_busy() -> Iterator[None]:
    try:
        yield
    except duckdb.TransactionException as error:
        if not is_conflict(error):
            raise
        raise dg.RetryRequested(
            max_retries=STEP_RETRIES, seconds_to_wait=STEP_RETRY_SECONDS
        ) from error
