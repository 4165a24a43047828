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

from continual_ml.app.window_draft import draft_training_window, window_note
from continual_ml.config import DatasetConfig
from continual_ml.ingestion.files import format_of_name

NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE")
# Names a label column goes by, most telling first; a column named so is preferred to any other.
LABEL_NAMES = (
    "y_true",
    "label",
    "target",
    "y",
    "class",
    "outcome",
    "approved",
    "default",
    "churn",
)
# ...or ends so (`default_label`); not `_class`, a common feature name (`zurich_class`).
LABEL_PATTERN = re.compile(r"(^|_)(label|target)$", re.IGNORECASE)
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
    # keys (dotted: `model.training_window`) whose line the YAML marks `# REVIEW`
    review: set[str] = field(default_factory=set)

    def yaml_text(self) -> str:
        header = ["# Drafted by `continual-ml init --from`; check every line marked REVIEW."]
        header += [f"# REVIEW: {note}" for note in self.notes]
        body = yaml.safe_dump(self.config, sort_keys=False)
        return "\n".join(header + _marked(body.splitlines(), self.review)) + "\n"


_KEY_LINE = re.compile(r"^( *)([A-Za-z_]\w*):")


def _marked(lines: list[str], review: set[str]) -> list[str]:
    """The YAML lines, those of a key in `review` ending in `# REVIEW`."""
    path: list[tuple[int, str]] = []
    marked = []
    for line in lines:
        match = _KEY_LINE.match(line)
        if match:
            indent = len(match.group(1))
            path = [(i, key) for i, key in path if i < indent] + [(indent, match.group(2))]
            if ".".join(key for _, key in path) in review:
                line += "  # REVIEW"
        marked.append(line)
    return marked


def profile_columns(
    path: Path, sample_rows: int = 100_000
) -> tuple[list[Column], int, date | None, float | None]:
    """Type, distinct count, nulls and (few) values of each column of the sample's first rows;
    the number of rows read, the first day of the time column and the rows per day."""
    # By the file's name, as ingestion does: DuckDB's CSV sniffer reads anything, Parquet too.
    reader = "read_parquet" if format_of_name(path) == "parquet" else "read_csv"
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
        first = per_day = None
        if time is not None:
            quoted = '"' + time.name.replace('"', '""') + '"'
            first, n_days = conn.execute(
                f"SELECT min({quoted})::DATE, count(DISTINCT {quoted}::DATE) FROM sample"
            ).fetchone()
            per_day = n_rows / n_days if n_days else None
    return columns, n_rows, first, per_day


def _time_column(columns: list[Column]) -> Column | None:
    # DATE, TIMESTAMP and its precisions and time-zone variant (TIMESTAMP_NS from pandas)
    typed = [c for c in columns if c.type == "DATE" or c.type.startswith("TIMESTAMP")]
    named = [c for c in typed if TIME_PATTERN.search(c.name)]
    return (named or typed or [None])[0]


def _id_column(columns: list[Column], n_rows: int) -> Column | None:
    unique = [c for c in columns if c.n_distinct == n_rows and c.n_null == 0]
    named = [c for c in unique if ID_PATTERN.search(c.name)]
    return (named or [None])[0]


def _named_like_a_label(name: str) -> bool:
    return name.lower() in LABEL_NAMES or LABEL_PATTERN.search(name) is not None


def _label_column(columns: list[Column]) -> Column | None:
    """A column named like a label (the most telling name first), else the last two-valued one."""
    rank = {name: index for index, name in enumerate(LABEL_NAMES)}
    named = sorted(
        (c for c in columns if _named_like_a_label(c.name)),
        key=lambda c: rank.get(c.name.lower(), len(rank)),
    )
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


# A numeric label with more distinct values than this is a quantity, not a set of classes...
MAX_DRAFTED_CLASSES = 20
# ...unless every value is an integer below this: codes of many classes (a 0..99 grade).
CLASS_CODES_BELOW = 100


def _numeric_target(label: Column | None) -> bool:
    """Whether the label looks like a number to predict (`task: regression`): a numeric column
    with more than `MAX_DRAFTED_CLASSES` values that are not all small integer codes."""
    if label is None or label.type not in NUMERIC_TYPES and not label.type.startswith("DECIMAL"):
        return False
    codes = bool(label.values) and all(
        float(v).is_integer() and 0 <= v < CLASS_CODES_BELOW for v in label.values
    )
    return label.n_distinct > MAX_DRAFTED_CLASSES and not codes


def _name_or_placeholder(
    column: Column | None, placeholder: str, missing: str, notes: list[str]
) -> str:
    """The column's name; where none was found, `placeholder`, and `missing` in the notes."""
    if column is None:
        notes.append(missing)
        return placeholder
    return column.name


def draft_config(path: str | Path, name: str | None = None, label_name: str | None = None) -> Draft:
    """A config for the file at `path`, with notes on every guess to review; `label_name` is
    the label column when the user names it (not guessed, so not marked for review)."""
    path = Path(path)
    columns, n_rows, first_day, per_day = profile_columns(path)
    notes: list[str] = []
    named = None
    if label_name is not None:
        named = next((c for c in columns if c.name == label_name), None)
        if named is None:
            found = ", ".join(c.name for c in columns)
            raise ValueError(f"--label {label_name!r} is not a column of {path.name}: {found}")
    time = _time_column([c for c in columns if c is not named])
    identifier = _id_column([c for c in columns if c is not named], n_rows)
    label = named or _label_column([c for c in columns if c not in (time, identifier)])
    config: dict = {"name": name or re.sub(r"\W+", "_", path.stem).strip("_") or "dataset"}
    review = {"model.training_window"} | (set() if named else {"label"})
    if name is None:
        review.add("name")
        notes.append(f"name `{config['name']}` is the file's name: name the dataset")
    if named is not None:
        config["label"] = named.name
    else:
        missing = "no label column found: set `label` to the column holding the classes 0/1"
        config["label"] = _name_or_placeholder(label, "label", missing, notes)
        if label is not None:
            notes.append(f"label `{label.name}` is a guess")
    if _numeric_target(label):
        config["task"] = "regression"
        review.add("task")
        notes.append(
            f"`{label.name}` is numeric with {label.n_distinct} distinct values: drafted as "
            "`task: regression`; for classes, remove `task` and list `classes`"
        )
    else:
        config["classes"] = _classes(label, notes)
    missing = "no unique id column found: files need one (set `id_column`)"
    config["id_column"] = _name_or_placeholder(identifier, "row_id", missing, notes)
    missing = "no date or time column found: files need one (set `event_time_column`)"
    config["event_time_column"] = _name_or_placeholder(time, "event_time", missing, notes)
    if time is not None:
        config["first_day"] = first_day.isoformat() if first_day else None
    taken = {c.name for c in (time, identifier, label) if c is not None}
    config["features"] = [
        feature
        for column in columns
        if column.name not in taken
        for feature in [_feature(column, notes)]
        if feature is not None
    ]
    for column in columns:
        if column.name not in taken and _named_like_a_label(column.name):
            notes.append(
                f"`{column.name}` is named like a label and drafted as a feature: leave it out "
                "if it is known only once the label is (it would leak the answer)"
            )
    window = draft_training_window(per_day)
    notes.append(window_note(per_day, window))
    config["model"] = {"family": "hist_gradient_boosting", "training_window": window}
    DatasetConfig.model_validate({k: v for k, v in config.items() if v is not None})
    return Draft({k: v for k, v in config.items() if v is not None}, notes, review)


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


def write_draft(source: str | Path, target: str | Path, label: str | None = None) -> Draft:
    """Draft the config for `source` and write it to `target`, refusing to overwrite a file;
    `label` names the label column (else it is guessed)."""
    target = Path(target)
    if target.exists():
        raise FileExistsError(f"{target} exists; choose another path with --out")
    draft = draft_config(source, label_name=label)
    target.write_text(draft.yaml_text())
    return draft
