"""The row rules as SQL, evaluated by DuckDB on a handful of raw values."""

from datetime import datetime

import duckdb
import pytest
from pydantic import ValidationError

from continual_ml.config import FeatureSpec, load_config
from continual_ml.ingestion import rules
from continual_ml.ingestion.sql_text import any_failed, raw_alias, reasons, value_alias


@pytest.fixture
def conn():
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")  # what ingestion sets while it reads
    yield connection
    connection.close()


def evaluate(conn, column, values, source_type="VARCHAR"):
    """(typed value, reasons, failed) for each raw value, through the column's SQL."""
    checks = column.checks
    return conn.execute(
        f"SELECT {value_alias(column.name)}, {reasons(checks)}, {any_failed(checks)} "
        f"FROM (SELECT {column.raw} AS {raw_alias(column.name)}, "
        f"{column.value} AS {value_alias(column.name)} "
        f"FROM (SELECT CAST(unnest(?) AS {source_type}) AS v) AS s)",
        [values],
    ).fetchall()


def test_numbers_must_parse_be_finite_present_and_in_bounds(conn):
    column = rules.number("x", "s.v", minimum=-1, maximum=10)
    assert evaluate(conn, column, ["1.5", " 2", "abc", None, "inf", "-3", "12"]) == [
        (1.5, "", False),
        (2.0, "", False),
        (None, "x: 'abc' is not a number", True),
        (None, "x: missing value", True),
        (float("inf"), "x: 'inf' is not a finite number", True),
        (-3.0, "x: '-3' is below the minimum -1", True),
        (12.0, "x: '12' is above the maximum 10", True),
    ]


def test_a_nullable_number_accepts_nothing_but_not_garbage(conn):
    column = rules.number("x", "s.v", nullable=True)
    assert evaluate(conn, column, [None, "nan"]) == [
        (None, "", False),
        (pytest.approx(float("nan"), nan_ok=True), "x: 'nan' is not a finite number", True),
    ]


def test_typed_numbers_pass_through(conn):
    column = rules.number("x", "s.v")
    assert evaluate(conn, column, [1.25, None], source_type="DOUBLE") == [
        (1.25, "", False),
        (None, "x: missing value", True),
    ]


def test_labels_are_integral_classes_and_are_never_rounded(conn):
    column = rules.class_label("label", "s.v", (0, 1), nullable=False)
    assert evaluate(conn, column, ["1", "1.0", "0.5", "7", "yes", None]) == [
        (1, "", False),
        (1, "", False),
        (None, "label: '0.5' is not one of the classes 0, 1", True),
        (None, "label: '7' is not one of the classes 0, 1", True),
        (None, "label: 'yes' is not one of the classes 0, 1", True),
        (None, "label: missing value", True),
    ]


def test_integer_labels_are_compared_as_they_are(conn):
    column = rules.class_label("label", "s.v", (0, 1), nullable=True, source_type="BIGINT")
    assert evaluate(conn, column, [1, 7, None], source_type="BIGINT") == [
        (1, "", False),
        (None, "label: '7' is not one of the classes 0, 1", True),
        (None, "", False),
    ]


def test_categories_match_exactly_and_quotes_are_escaped(conn):
    column = rules.category("who", "s.v", ("north", "o'hara"))
    assert evaluate(conn, column, ["north", "o'hara", "North", " north"]) == [
        ("north", "", False),
        ("o'hara", "", False),
        ("North", "who: unknown category 'North'", True),
        (" north", "who: unknown category ' north'", True),
    ]


def test_booleans(conn):
    column = rules.boolean("flag", "s.v")
    assert evaluate(conn, column, ["true", "f", "maybe"]) == [
        (True, "", False),
        (False, "", False),
        (None, "flag: 'maybe' is not a boolean", True),
    ]


def test_timestamps_with_an_offset_become_utc_and_naive_ones_stay(conn):
    column = rules.timestamp("at", "s.v", "VARCHAR")
    assert evaluate(conn, column, ["2026-01-01T23:30:00-02:00", "2026-01-01 10:00", "soon"]) == [
        (datetime(2026, 1, 2, 1, 30), "", False),
        (datetime(2026, 1, 1, 10, 0), "", False),
        (None, "at: 'soon' is not a timestamp", True),
    ]
    zoned = rules.timestamp("at", "s.v", "TIMESTAMP WITH TIME ZONE")
    assert evaluate(
        conn, zoned, ["2026-01-01T23:30:00-02:00"], source_type="TIMESTAMP WITH TIME ZONE"
    ) == [(datetime(2026, 1, 2, 1, 30), "", False)]


def test_ids_must_not_be_blank(conn):
    column = rules.row_identifier("row_id", "s.v", shown_name="customer")
    assert evaluate(conn, column, ["a-1", " a", "", "  ", None]) == [
        ("a-1", "", False),
        (" a", "", False),
        ("", "customer: missing id", True),
        ("  ", "customer: missing id", True),
        (None, "customer: missing id", True),
    ]


def test_long_values_are_cut_in_reasons(conn):
    column = rules.number("x", "s.v")
    ((_, reason, _),) = evaluate(conn, column, ["z" * 500])
    assert reason == f"x: '{'z' * 60}' is not a number"


@pytest.mark.parametrize(
    ("kind", "accepted", "refused"),
    [
        ("number", ["DOUBLE", "BIGINT", "DECIMAL(10,2)", "VARCHAR"], ["DATE", "BOOLEAN"]),
        ("timestamp", ["TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE", "DATE"], ["BIGINT"]),
        ("boolean", ["BOOLEAN", "VARCHAR"], ["INTEGER"]),
        ("identifier", ["VARCHAR", "BIGINT", "UUID"], ["DOUBLE[]"]),
    ],
)
def test_column_types_a_kind_accepts(kind, accepted, refused):
    assert all(rules.accepts(kind, t) for t in accepted)
    assert not any(rules.accepts(kind, t) for t in refused)


def test_schema_problems_name_the_columns():
    required = {"row_id": "identifier", "x0": "number"}
    assert rules.schema_problem({"row_id": "VARCHAR", "x0": "DOUBLE"}, required, {}) is None
    missing = rules.schema_problem({"row_id": "VARCHAR"}, required, {})
    assert missing == "missing required columns x0; the file has row_id"
    wrong = rules.schema_problem({"row_id": "VARCHAR", "x0": "DATE"}, required, {})
    assert wrong == "x0 is DATE, which cannot hold a number"
    optional = rules.schema_problem(
        {"row_id": "VARCHAR", "x0": "DOUBLE", "label": "BOOLEAN"}, required, {"label": "class"}
    )
    assert optional == "label is BOOLEAN, which cannot hold a class"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "x", "kind": "numeric", "min": 2, "max": 1}, "`min` 2.0 is above `max` 1.0"),
        (
            {"name": "s", "kind": "categorical", "categories": ["a"], "max": 1},
            "only numeric features take `min`/`max`",
        ),
        ({"name": "b", "kind": "boolean", "categories": ["a"]}, "boolean features take no"),
    ],
)
def test_feature_specs_refuse_rules_that_cannot_apply(spec, message):
    with pytest.raises(ValidationError, match=message):
        FeatureSpec.model_validate(spec)


def test_the_new_config_fields_have_backward_compatible_defaults():
    spec = FeatureSpec.model_validate({"name": "x", "kind": "numeric"})
    assert (spec.min, spec.max, spec.nullable) == (None, None, False)
    config = load_config()
    assert (config.id_column, config.event_time_column, config.partition_grain) == (
        "row_id",
        "event_time",
        "day",
    )
