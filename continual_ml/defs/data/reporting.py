"""What every ingestion says when it is done: materializations per partition, and an alert."""

from pathlib import Path

import dagster as dg

from continual_ml.alerts.delivery import Alert
from continual_ml.defs.resources import AlertsResource
from continual_ml.ingestion.core import IngestReport


def observation_events(report: IngestReport, skip: set[str] = frozenset()) -> list:
    """One `observations` materialization per partition the file wrote, except those in `skip`
    (the run materializes them itself)."""
    return [
        dg.AssetMaterialization(
            asset_key="observations",
            partition=str(partition),
            metadata={
                "dagster/row_count": n_rows,
                "source": Path(report.path).name,
                "rows_quarantined_from_file": report.rows_quarantined,
                "quarantine_reasons": dg.MetadataValue.json(report.rule_counts),
            },
        )
        for partition, n_rows in sorted(report.partitions.items())
        if str(partition) not in skip
    ]


def alert_on_quarantine(report: IngestReport, alerts: AlertsResource, log) -> None:
    """Say how many rows, or which whole file, went to quarantine and why."""
    if report.status != "quarantined" and not report.rows_quarantined:
        return
    alerts.send(
        Alert(
            "rows_quarantined",
            f"Quarantined from {Path(report.path).name}",
            report.reason or f"{report.rows_quarantined} of {report.rows_in} rows quarantined",
            {rule: str(n) for rule, n in sorted(report.rule_counts.items())},
        ),
        log,
    )
