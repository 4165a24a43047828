"""Writer processes for the concurrency test: each opens the warehouse its environment selects.

    python -m continual_ml_tests.support.lake_workers ingest GO_FILE FILE...  (a report per file)
    python -m continual_ml_tests.support.lake_workers swap GO_FILE N          (N champion changes)
    python -m continual_ml_tests.support.lake_workers promote GO_FILE N       (in every store)

Each waits for GO_FILE to exist, so they all start writing together.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from continual_ml.config import Paths, default_config
from continual_ml.decisions import promotion
from continual_ml.ingestion import ingest_file
from continual_ml.warehouse.champion import change_champion
from continual_ml.warehouse.connection import warehouse_connection, warehouse_location
from continual_ml.warehouse.registry_lock import champion_version
from continual_ml.warehouse.sql import retried_on_conflict, transaction
from continual_ml_tests.support.keyed_writers import wait_for


@retried_on_conflict
def swap_champion(conn, versions: tuple[int, int]) -> int:
    """Make the other of the two versions champion, as a rollback does."""
    current = champion_version(conn)
    target = versions[1] if current == versions[0] else versions[0]
    with transaction(conn):
        change_champion(conn, target, "rolled_back", "test", "swapper", expected=current)
    return target


def promote_the_other(conn, stores: promotion.ModelStores, versions: tuple[int, int]) -> int:
    """Make the other of the two versions champion in the warehouse, MLflow and BentoML's
    pointer, as the promotion step does (`promote` retries its own conflicts)."""
    current = champion_version(conn)
    target = versions[1] if current == versions[0] else versions[0]
    promotion.promote(conn, stores, target, action="promoted", reason="test", actor="promoter")
    return target


def main(command: str, go: str, *args: str) -> None:
    logging.basicConfig(level=logging.INFO)  # the retries, on stderr
    location = warehouse_location(Paths.from_env())
    with warehouse_connection(location) as conn:
        wait_for(Path(go), timeout_seconds=120.0)
        if command == "ingest":
            for path in args:
                report = ingest_file(conn, default_config(), path)
                partitions = {str(day): n for day, n in report.partitions.items()}
                print(json.dumps({"status": report.status, "partitions": partitions}), flush=True)
        elif command == "promote":
            paths = Paths.from_env()
            stores = promotion.ModelStores(
                paths.bentoml_home, paths.mlflow_tracking_uri, default_config()
            )
            for _ in range(int(args[0])):
                champion = promote_the_other(conn, stores, (1, 2))
                print(json.dumps({"champion": champion}), flush=True)
        else:
            for _ in range(int(args[0])):
                print(json.dumps({"champion": swap_champion(conn, (1, 2))}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
