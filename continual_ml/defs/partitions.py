"""The daily partitioning every per-batch asset shares."""

import dagster as dg

from continual_ml.config import default_config

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=default_config().partitions_start.isoformat()
)
