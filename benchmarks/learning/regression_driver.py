"""The loop driver of `benchmarks.learning.loop_driver`, recording what a regression run needs
besides: each run's trigger and the causes the retrain sensor tagged, each gate decision's
reason, what `model_performance` recorded for a day when it was monitored (before its labels),
and whether the day's rows fell inside the champion's conformal interval."""

from __future__ import annotations

import numpy as np

from benchmarks.learning.loop_driver import DECISIONS, LoopDriver

CAUSES_TAG = "continual_ml/causes"  # `continual_ml.decisions.retrain_policy.CAUSES_TAG`
TRIGGER_TAG = "continual_ml/trigger"
MODEL_PERFORMANCE = "model_performance"


class RegressionLoopDriver(LoopDriver):
    def __init__(self) -> None:
        super().__init__()
        self._last_result = None
        self._calibrations: dict[int, dict | None] = {}

    def _execute(self, job, partition, run_config=None, tags=None):
        self._last_result = super()._execute(job, partition, run_config=run_config, tags=tags)
        return self._last_result

    def _run(self, sensor, request) -> dict:
        run = super()._run(sensor, request)
        reasons = [
            event.materialization.metadata["reason"].value
            for event in self._last_result.get_asset_materialization_events()
            if event.asset_key.to_user_string() == DECISIONS
            and "reason" in event.materialization.metadata
        ]
        return {
            **run,
            "trigger": request.tags.get(TRIGGER_TAG),
            "causes": [c for c in request.tags.get(CAUSES_TAG, "").split(",") if c],
            "reasons": reasons,
        }

    def day_details(self, partition: str) -> dict:
        return {"monitored": self.monitored_metadata(partition)}

    def monitored_metadata(self, partition: str) -> dict:
        """The numbers `model_performance` recorded for `partition` in its newest event."""
        import dagster as dg

        records = self.instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey(MODEL_PERFORMANCE), asset_partitions=[partition]
            ),
            limit=1,
            ascending=False,
        ).records
        if not records:
            return {}
        metadata = records[0].asset_materialization.metadata
        return {
            key: entry.value
            for key, entry in metadata.items()
            if isinstance(entry.value, int | float | str) and len(str(entry.value)) < 200
        }

    def calibration(self, version: int) -> dict | None:
        """The champion's split-conformal calibration, as its promotion exported it."""
        if version not in self._calibrations:
            import duckdb

            from continual_ml.decisions.served_interval import holdout_calibration

            with duckdb.connect(str(self.paths.warehouse), read_only=True) as conn:
                self._calibrations[version] = holdout_calibration(conn, version)
        return self._calibrations[version]

    def interval_hits(self, version: int, predicted, truth) -> dict:
        """How many of the day's rows the champion's interval (prediction ± half width) held."""
        calibration = self.calibration(version)
        if calibration is None:
            return {"level": None, "half_width": None, "covered": None}
        inside = np.abs(np.asarray(truth) - np.asarray(predicted, dtype=float))
        return {
            "level": calibration["level"],
            "half_width": calibration["half_width"],
            "covered": int((inside <= calibration["half_width"]).sum()),
        }
