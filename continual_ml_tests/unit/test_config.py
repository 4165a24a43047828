import pytest
import yaml
from pydantic import ValidationError

from continual_ml.config import DEFAULT_CONFIG, ModelSettings, load_config


def write(tmp_path, mutate):
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text())
    mutate(raw)
    path = tmp_path / "dataset.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_the_demo_configuration_loads():
    config = load_config()
    assert config.numeric_features == ["x0", "x1", "x2", "x3", "x4"]
    assert config.categorical_features == ["segment"]


def test_an_unknown_key_is_named(tmp_path):
    path = write(tmp_path, lambda raw: raw["policy"].update(drift_treshold=0.2))
    with pytest.raises(ValidationError, match="drift_treshold"):
        load_config(path)


def test_a_categorical_feature_without_categories_is_named(tmp_path):
    path = write(
        tmp_path, lambda raw: raw["features"].append({"name": "colour", "kind": "categorical"})
    )
    with pytest.raises(ValidationError, match="colour"):
        load_config(path)


def test_an_out_of_range_threshold_is_named(tmp_path):
    path = write(tmp_path, lambda raw: raw["policy"].update(drift_share_threshold=1.5))
    with pytest.raises(ValidationError, match="drift_share_threshold"):
        load_config(path)


@pytest.mark.parametrize(
    ("classes", "reason"),
    [
        ([0], "at least two distinct labels"),
        (["low", "low"], "at least two distinct labels"),
        ([False, True], "YAML reads yes/no/true/false as booleans; quote"),
        (["low", 1], "valid integer"),
    ],
)
def test_classes_that_cannot_be_labels_are_refused_at_load_saying_why(tmp_path, classes, reason):
    path = write(tmp_path, lambda raw: raw.update(classes=classes))
    with pytest.raises(ValidationError, match=reason):
        load_config(path)


@pytest.mark.parametrize(
    ("classes", "binary", "stored_as"),
    [
        ([0, 1], True, "BIGINT"),
        ([0, 1, 2], False, "BIGINT"),
        (["no", "yes"], False, "VARCHAR"),
        (["low", "medium", "high"], False, "VARCHAR"),
    ],
)
def test_multiclass_and_text_classes_load_in_their_order(tmp_path, classes, binary, stored_as):
    config = load_config(write(tmp_path, lambda raw: raw.update(classes=classes)))
    assert (list(config.classes), config.binary, config.label_sql_type) == (
        classes,
        binary,
        stored_as,
    )


def test_partitions_start_on_the_data_s_first_day_when_given(tmp_path):
    assert load_config().partitions_start == load_config().stream.start_date
    path = write(tmp_path, lambda raw: raw.update(first_day="2025-06-30"))
    assert str(load_config(path).partitions_start) == "2025-06-30"


def test_training_window_days_is_one_fixed_candidate_and_both_settings_are_refused():
    legacy = ModelSettings.model_validate({"training_window_days": 7})
    assert legacy.training_window.candidates_days == (7,)
    assert (legacy.training_window.min_rows, legacy.training_window_days) == (0, 7)
    chosen = ModelSettings.model_validate(
        {"training_window": {"candidates_days": [30, 7, "all"], "min_rows": 500}}
    )
    assert chosen.training_window_days == 7  # the shortest: what the first model waits for
    assert "training_window_days" not in chosen.model_dump()
    with pytest.raises(ValidationError, match="not both"):
        ModelSettings.model_validate(
            {"training_window_days": 7, "training_window": {"candidates_days": [7]}}
        )
    with pytest.raises(ValidationError, match="each length once"):
        ModelSettings.model_validate({"training_window": {"candidates_days": [7, 7]}})
