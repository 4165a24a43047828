"""A first dataset YAML drafted from a sample file: `continual-ml init --from FILE`.

DuckDB reads the sample as ingestion will (its CSV sniffer or the Parquet schema), and each
column becomes a feature of the kind its type suggests. The id, event-time and label columns
are guessed from their names, types and values; every guess a person must check is marked
`# REVIEW` in the YAML, and the draft is validated as any config is before it is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import yaml

from continual_ml.config import DatasetConfig

NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE")
LABEL_NAMES = ("label", "target", "y", "class", "outcome", "approved", "default", "churn")
ID_PATTERN = re.compile(r"(^|_)(id|key|uuid)$", re.IGNORECASE)
TIME_PATTERN = re.compile(r"(time|date|_at$|^ts$|timestamp)", re.IGNORECASE)
MAX_CATEGORIES = 1000  # beyond this a text column is more likely free text than a category


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    n_distinct: int
    n_null: int
    values: tuple = ()  # the distinct values, when there are few enough to list


@dataclass
class Draft:
    config: dict
    notes: list[str] = field(default_factory=list)

    def yaml_text(self) -> str:
        header = ["# Drafted by `continual-ml init --from`; check every line marked REVIEW."]
        header += [f"# REVIEW: {note}" for note in self.notes]
        return "\n".join(header) + "\n" + yaml.safe_dump(self.config, sort_keys=False)


def profile_columns(
    path: Path, sample_rows: int = 100_000
) -> tuple[list[Column], int, date | None]:
    """Type, distinct count, nulls and (few) values of each column of the sample's first rows;
    the number of rows read, and the first day of the time column."""
    reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
    with duckdb.connect() as conn:
        conn.execute(
            f"CREATE TEMP TABLE sample AS SELECT * FROM {reader}(?) LIMIT {int(sample_rows)}",
            [str(path)],
        )
        types = conn.execute("SELECT column_name, column_type FROM (DESCRIBE sample)").fetchall()
        columns = []
        for name, kind in types:
            quoted = '"' + name.replace('"', '""') + '"'
            n_distinct, n_null = conn.execute(
                f"SELECT count(DISTINCT {quoted}), count(*) - count({quoted}) FROM sample"
            ).fetchone()
            values = ()
            if n_distinct <= MAX_CATEGORIES:
                values = tuple(
                    v
                    for (v,) in conn.execute(
                        f"SELECT DISTINCT {quoted} FROM sample WHERE {quoted} IS NOT NULL "
                        f"ORDER BY {quoted}"
                    ).fetchall()
                )
            columns.append(Column(name, kind, n_distinct, n_null, values))
        n_rows = conn.execute("SELECT count(*) FROM sample").fetchone()[0]
        time = _time_column(columns)
        first = None
        if time is not None:
            quoted = '"' + time.name.replace('"', '""') + '"'
            first = conn.execute(f"SELECT min({quoted})::DATE FROM sample").fetchone()[0]
    return columns, n_rows, first


def _time_column(columns: list[Column]) -> Column | None:
    # DATE, TIMESTAMP and its precisions and time-zone variant (TIMESTAMP_NS from pandas)
    typed = [c for c in columns if c.type == "DATE" or c.type.startswith("TIMESTAMP")]
    named = [c for c in typed if TIME_PATTERN.search(c.name)]
    return (named or typed or [None])[0]


def _id_column(columns: list[Column], n_rows: int) -> Column | None:
    unique = [c for c in columns if c.n_distinct == n_rows and c.n_null == 0]
    named = [c for c in unique if ID_PATTERN.search(c.name)]
    return (named or [None])[0]


def _label_column(columns: list[Column]) -> Column | None:
    named = [c for c in columns if c.name.lower() in LABEL_NAMES]
    two_valued = [c for c in columns if c.n_distinct == 2 and c.n_null == 0]
    return (named or two_valued[-1:] or [None])[0]


def _classes(label: Column | None, notes: list[str]) -> list:
    """The label's values as classes: [0, 1] is binary, other integers or text multiclass."""
    values = list(label.values) if label is not None else []
    if not values or set(values) == {0, 1} and label.type != "BOOLEAN":
        return [0, 1]
    shown = ", ".join(map(repr, values[:5]))
    if label.type == "BOOLEAN" or not all(isinstance(v, int | str) for v in values):
        notes.append(f"label values are {shown}: map them to 0 and 1 (or text) in your files")
        return [0, 1]
    notes.append(
        f"classes {shown} are in sorted order: list them in the order the service should "
        "report them"
    )
    return sorted(values) if all(isinstance(v, int) for v in values) else sorted(map(str, values))


def draft_config(path: str | Path, name: str | None = None) -> Draft:
    """A config for the file at `path`, with notes on every guess to review."""
    path = Path(path)
    columns, n_rows, first_day = profile_columns(path)
    notes: list[str] = []
    time = _time_column(columns)
    identifier = _id_column(columns, n_rows)
    label = _label_column([c for c in columns if c not in (time, identifier)])
    config: dict = {"name": name or re.sub(r"\W+", "_", path.stem).strip("_") or "dataset"}
    if label is None:
        notes.append("no label column found: set `label` to the column holding the classes 0/1")
        config["label"] = "label"
    else:
        config["label"] = label.name
        notes.append(f"label `{label.name}` is a guess")
    config["classes"] = _classes(label, notes)
    if identifier is None:
        notes.append("no unique id column found: files need one (set `id_column`)")
        config["id_column"] = "row_id"
    else:
        config["id_column"] = identifier.name
    if time is None:
        notes.append("no date or time column found: files need one (set `event_time_column`)")
        config["event_time_column"] = "event_time"
    else:
        config["event_time_column"] = time.name
        config["first_day"] = first_day.isoformat() if first_day else None
    taken = {c.name for c in (time, identifier, label) if c is not None}
    config["features"] = [
        feature
        for column in columns
        if column.name not in taken
        for feature in [_feature(column, notes)]
        if feature is not None
    ]
    config["model"] = {"family": "hist_gradient_boosting", "training_window_days": 7}
    DatasetConfig.model_validate({k: v for k, v in config.items() if v is not None})
    return Draft({k: v for k, v in config.items() if v is not None}, notes)


def _feature(column: Column, notes: list[str]) -> dict | None:
    spec: dict = {"name": column.name}
    if column.type == "BOOLEAN":
        spec["kind"] = "boolean"
    elif column.type in NUMERIC_TYPES or column.type.startswith("DECIMAL"):
        spec["kind"] = "numeric"
    elif column.type == "VARCHAR" and column.values:
        spec["kind"] = "categorical"
        spec["categories"] = [str(v) for v in column.values]
        notes.append(
            f"`{column.name}`: {len(column.values)} categories seen in the sample; a value not "
            "listed is quarantined at ingestion, so add the ones the sample lacks"
        )
    else:
        notes.append(f"`{column.name}` ({column.type}, {column.n_distinct} values) left out")
        return None
    if column.n_null:
        spec["nullable"] = True
    return spec


def write_draft(source: str | Path, target: str | Path) -> Draft:
    """Draft the config for `source` and write it to `target`, refusing to overwrite a file."""
    target = Path(target)
    if target.exists():
        raise FileExistsError(f"{target} exists; choose another path with --out")
    draft = draft_config(source)
    target.write_text(draft.yaml_text())
    return draft
