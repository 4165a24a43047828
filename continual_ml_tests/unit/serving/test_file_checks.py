"""A file's cells checked by column, and scored by column: the row schema's verdicts, and the
same probabilities as `/predict` gives row by row."""

import numpy as np
import pyarrow as pa
import pytest

from continual_ml.serving.column_scoring import score_checked
from continual_ml.serving.file_checks import check_features
from continual_ml.serving.follower import ChampionFollower, predict_rows
from continual_ml.serving.request_schema import row_schema
from continual_ml.training.pipeline import fit_candidate, serialize_model
from continual_ml_tests.support.exported_models import export_champion
from continual_ml_tests.support.feature_kinds import CONFIG, labelled_rows

# (amount, flag, segment) as CSV text, and the reason expected, or None where the row is taken
CELLS = [
    (("5", "true", "a"), None),
    (("", "FALSE", "b"), None),  # amount is nullable
    ((" 7 ", "true", "a"), None),
    (("1000", "false", "a"), None),
    (("0.5", "true", "a"), "amount: '0.5' is below the minimum 1"),
    (("1001", "true", "a"), "amount: '1001' is above the maximum 1000"),
    (("1e400", "true", "a"), "amount: '1e400' is not a finite number"),
    (("NaN", "true", "a"), "amount: 'NaN' is not a finite number"),
    (("abc", "true", "a"), "amount: 'abc' is not a number"),
    (("5", "1", "a"), "flag: '1' is not a boolean"),
    (("5", "", "a"), "flag: missing value"),
    (("5", "true", "c"), "segment: unknown category 'c'"),
    (("5", "true", ""), "segment: missing value"),
    (("x", "y", "z"), "amount: 'x' is not a number"),  # the first feature's reason
]


def text_batch(rows) -> pa.RecordBatch:
    names = [f.name for f in CONFIG.features]
    return pa.RecordBatch.from_arrays(
        [pa.array([row[i] for row in rows], pa.string()) for i in range(len(names))], names
    )


def test_each_cell_gets_the_row_schemas_verdict_and_a_reason_naming_it():
    checked = check_features(text_batch([cells for cells, _ in CELLS]), CONFIG)
    reasons = [checked.reasons.get(i) for i in range(len(CELLS))]
    assert reasons == [reason for _, reason in CELLS]
    assert list(checked.refused) == [reason is not None for _, reason in CELLS]
    # What was taken, converted, is what the JSON route takes.
    schema = row_schema(CONFIG)
    for i in np.flatnonzero(checked.valid):
        amount = checked.values["amount"][i]
        schema.model_validate(
            {
                "amount": None if np.isnan(amount) else float(amount),
                "flag": bool(checked.values["flag"][i]),
                "segment": checked.values["segment"][int(i)].as_py(),
            }
        )


def test_typed_parquet_columns_are_checked_as_values_and_others_as_text():
    batch = pa.RecordBatch.from_pydict(
        {
            "amount": pa.array([5.0, float("nan"), None, 2000.0]),
            "flag": pa.array([True, False, True, None]),
            "segment": pa.array(["a", "b", "a", "b"]).dictionary_encode(),
        }
    )
    checked = check_features(batch, CONFIG)
    assert checked.reasons == {
        1: "amount: 'nan' is not a finite number",
        3: "amount: '2000.0' is above the maximum 1000",
    }
    assert list(checked.missing) == [False, False, True, True]


def test_an_unknown_category_is_taken_under_map_but_not_a_long_one():
    batch = text_batch([("5", "true", "c"), ("5", "true", "c" * 201)])
    checked = check_features(batch, CONFIG, unknown_category="map")
    assert checked.reasons == {1: "segment: longer than 200 characters"}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    rows = labelled_rows()
    served = {}
    for family in ("logistic_regression", "random_forest"):
        model = CONFIG.model.model_copy(update={"family": family})
        config = CONFIG.model_copy(update={"model": model})
        store = tmp_path_factory.mktemp(family)
        export_champion(store, config, 1, *serialize_model(fit_candidate(config, rows)))
        follower = ChampionFollower(store, config)
        assert follower.refresh(), follower.last_error
        served[family] = follower.current
    return served


@pytest.mark.parametrize("family", ["logistic_regression", "random_forest"])
def test_columns_are_scored_as_rows_are(models, family):
    model = models[family]
    assert (model.fast is not None) == (family == "logistic_regression")
    checked = check_features(text_batch([cells for cells, _ in CELLS]), CONFIG)
    scored = score_checked(model, CONFIG, checked)
    taken = np.flatnonzero(checked.valid)
    rows = [
        {
            "amount": None if np.isnan(a := checked.values["amount"][i]) else float(a),
            "flag": bool(checked.values["flag"][i]),
            "segment": checked.values["segment"][int(i)].as_py(),
        }
        for i in taken
    ]
    one_by_one = [predict_rows(model, CONFIG, [row])[0]["probabilities"]["1"] for row in rows]
    assert np.allclose(scored.probabilities[taken, 1], one_by_one, rtol=0, atol=1e-12)
    assert np.isnan(scored.probabilities[checked.refused]).all()
