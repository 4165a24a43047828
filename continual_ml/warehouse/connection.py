"""Opening the warehouse: the embedded DuckDB file, or DuckLake for several writers.

DuckLake keeps its catalog in Postgres and its data as Parquet files on an S3-compatible object
store (or in a folder), so processes on several machines write the same tables: each commit is
a Postgres transaction, and a conflicting one fails with a `TransactionException` that
`warehouse.sql.retried_on_conflict` retries. The extensions come from the `duckdb-ext-*`
packages in the lock file, never from the network (autoinstall is off).

Either way the connection's default catalog is the warehouse, so every query names tables bare.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from continual_ml.config import Paths
from continual_ml.settings import Settings
from continual_ml.warehouse.sql import literal

# The name the DuckLake warehouse is attached under (the DuckDB file's own name is its stem).
CATALOG = "warehouse"
# Opening a DuckDB file another process holds raises; the writer usually lets go soon.
LOCKED_FILE_ATTEMPTS = 10


@dataclass(frozen=True)
class ObjectStore:
    """An S3-compatible object store DuckLake writes its data files to."""

    endpoint: str | None = None  # host:port; unset, AWS itself
    access_key_id: str | None = None
    secret_access_key: str | None = None
    region: str = "us-east-1"
    use_ssl: bool = True
    url_style: Literal["path", "vhost"] = "path"

    def secret_sql(self) -> str:
        options = {
            "KEY_ID": self.access_key_id,
            "SECRET": self.secret_access_key,
            "ENDPOINT": self.endpoint,
            "REGION": self.region,
            "URL_STYLE": self.url_style,
        }
        text = ", ".join(f"{k} {literal(v)}" for k, v in options.items() if v is not None)
        return f"CREATE OR REPLACE SECRET warehouse_s3 (TYPE s3, {text}, USE_SSL {self.use_ssl})"


@dataclass(frozen=True)
class WarehouseLocation:
    """Where the warehouse is: `backend` "duckdb" is `database`, a file; "ducklake" is the
    catalog (a libpq connection string) with data under `data_path` (s3://... or a folder)."""

    backend: Literal["duckdb", "ducklake"] = "duckdb"
    database: str = ""
    catalog: str | None = None
    data_path: str | None = None
    object_store: ObjectStore | None = None
    memory_limit: str = "1GB"

    def describe(self) -> str:
        """Where it is, without any secret."""
        if self.backend == "duckdb":
            return self.database
        return f"DuckLake (data in {self.data_path})"


def extension_directory() -> Path:
    """The folder the `duckdb-ext-*` packages install their extensions in."""
    spec = importlib.util.find_spec("duckdb_ext")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the DuckLake warehouse needs the duckdb-ext-* packages: install the scale-out extra "
            "(`uv sync --extra scale-out`, which `make setup` runs)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "extensions"


def open_warehouse(
    location: WarehouseLocation, *, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """A new connection to the warehouse; the caller closes it."""
    if location.backend == "duckdb":
        return _open_file(location, read_only)
    return _open_ducklake(location, read_only)


@contextmanager
def warehouse_connection(
    location: WarehouseLocation, *, read_only: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    conn = open_warehouse(location, read_only=read_only)
    try:
        with interrupts_kept():
            yield conn
    finally:
        conn.close()


def interrupted_query(error: BaseException) -> bool:
    """Whether DuckDB raised `error` because a signal handler raised during a query."""
    if isinstance(error, duckdb.InterruptException):
        return True
    return type(error) is RuntimeError and str(error).startswith("Query interrupted")


@contextmanager
def interrupts_kept() -> Iterator[None]:
    """Raise KeyboardInterrupt where DuckDB swallowed it.

    A signal handler's exception during a query (Dagster's run worker raises KeyboardInterrupt on
    SIGTERM) comes out of DuckDB as `RuntimeError("Query interrupted")`. Dagster would then read
    the step as failed by its own code, which run retries (`retry_on_asset_or_op_failure: false`)
    and the sensors' asking again both leave alone: the killed run's work would be dropped.
    Raised as the interrupt it was, the run fails as terminated and is retried.
    """
    try:
        yield
    except Exception as error:
        if interrupted_query(error):
            raise KeyboardInterrupt("a DuckDB query was interrupted by a signal") from error
        raise


def warehouse_exists(location: WarehouseLocation) -> bool:
    """Whether there is a warehouse to read yet (a DuckLake catalog always answers)."""
    return location.backend == "ducklake" or Path(location.database).exists()


def _open_file(location: WarehouseLocation, read_only: bool) -> duckdb.DuckDBPyConnection:
    config = {"memory_limit": location.memory_limit}
    for attempt in range(1, LOCKED_FILE_ATTEMPTS + 1):
        try:
            return duckdb.connect(location.database, read_only=read_only, config=config)
        except duckdb.IOException:
            if attempt == LOCKED_FILE_ATTEMPTS:
                raise
            time.sleep(min(2.0, 0.1 * 2**attempt))
    raise AssertionError("unreachable")


def _open_ducklake(location: WarehouseLocation, read_only: bool) -> duckdb.DuckDBPyConnection:
    if not location.catalog or not location.data_path:
        raise ValueError(
            "the DuckLake warehouse needs CONTINUAL_ML_DUCKLAKE_CATALOG and "
            "CONTINUAL_ML_DUCKLAKE_DATA_PATH"
        )
    conn = duckdb.connect(
        config={
            "memory_limit": location.memory_limit,
            "extension_directory": str(extension_directory()),
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
    )
    secrets = [s for s in (location.catalog, _store_secret(location)) if s]
    try:
        for extension in ("ducklake", "postgres", "httpfs"):
            conn.execute(f"LOAD {extension}")
        if location.data_path.startswith("s3://"):
            conn.execute((location.object_store or ObjectStore()).secret_sql())
        else:
            Path(location.data_path).mkdir(parents=True, exist_ok=True)
        options = f"DATA_PATH {literal(location.data_path)}" + (", READ_ONLY" if read_only else "")
        conn.execute(
            f"ATTACH {literal('ducklake:postgres:' + location.catalog)} AS {CATALOG} ({options})"
        )
        conn.execute(f"USE {CATALOG}")
    except duckdb.Error as error:
        conn.close()
        # DuckDB repeats a failed statement's text, which holds the catalog's password.
        message = str(error)
        for secret in secrets:
            message = message.replace(secret, "***")
        raise type(error)(message) from None
    return conn


def _store_secret(location: WarehouseLocation) -> str | None:
    store = location.object_store
    return store.secret_access_key if store else None


def location_from_settings(settings, database: Path, memory_limit: str | None = None):
    """The warehouse `settings` (a `continual_ml.settings.Settings`) select; `database` is the
    DuckDB file of the default backend."""
    store = ObjectStore(
        endpoint=settings.s3_endpoint,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=settings.secret(settings.s3_secret_access_key),
        region=settings.s3_region,
        use_ssl=settings.s3_use_ssl,
        url_style=settings.s3_url_style,
    )
    return WarehouseLocation(
        backend=settings.warehouse_backend,
        database=str(database),
        catalog=settings.secret(settings.ducklake_catalog),
        data_path=settings.ducklake_data_path,
        object_store=store,
        memory_limit=memory_limit or settings.duckdb_memory,
    )


def warehouse_location(paths: Paths) -> WarehouseLocation:
    """The warehouse the environment's settings select for a home: its DuckDB file, or DuckLake."""
    return location_from_settings(Settings.from_env(), paths.warehouse)
