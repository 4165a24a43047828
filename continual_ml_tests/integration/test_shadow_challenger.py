"""A challenger the gate cannot yet call better stays one: scored in shadow on each later day
through real materializations, and promoted the day the confidence sequence decides."""

import json

import dagster as dg
import pytest
import yaml
from mlflow.tracking import MlflowClient

from continual_ml.config import DEFAULT_CONFIG, default_config
from continual_ml.defs.data.assets import observations
from continual_ml.defs.jobs import retrain_job
from continual_ml.defs.retrain_history import policy_retrains
from continual_ml.defs.training.assets import candidate_model, champion_model, evaluation_scores
from continual_ml.defs.training.checks import candidate_beats_champion
from continual_ml.demo.synthetic_stream import partition_date
from continual_ml.models.store import read_pointer
from continual_ml_tests.support.materialized import metadata, query
from continual_ml_tests.support.synthetic_days import materialize_day

RETRAIN = [candidate_model, evaluation_scores, candidate_beats_champion, champion_model]
# what the shadow job runs on a day without a new candidate
SHADOW = [evaluation_scores, candidate_beats_champion, champion_model]
# After the stream's drift (its labelling rule flips) a fresh model is about 0.67 better than
# the champion. Asking for 0.6465 makes the fresh model's 600-row holdout too little evidence
# (its anytime lower bound is 0.641) and two days more enough; the stream and training are
# seeded, so the days are the same on every run.
MIN_IMPROVEMENT = 0.6465


@pytest.fixture
def strict_gate(tmp_path, monkeypatch, request):
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text())
    raw["policy"]["min_improvement"] = getattr(request, "param", MIN_IMPROVEMENT)
    path = tmp_path / "strict.yaml"
    path.write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("CONTINUAL_ML_CONFIG", str(path))
    return default_config().__class__.model_validate(raw)


def champion_then_drifted_days(config, home, instance):
    """Days 0-2 landed and v1 promoted on day 2, then the days around the drift landed; the
    stream's days by index, and the drift's index."""
    day = lambda index: partition_date(config, index)  # noqa: E731
    for index in range(3):
        materialize_day([observations], day(index), home, instance)
    first = materialize_day(RETRAIN, day(2), home, instance)
    assert metadata(first, champion_model)["decision"] == "promoted"
    drift = config.stream.drift_day
    for index in range(drift - 1, drift + 2):
        materialize_day([observations], day(index), home, instance)
    return day, drift


def policy_retrain(day, home, instance):
    """The policy's retrain of `day`: `retrain_job` run as the sensor asks for it."""
    from continual_ml.definitions import defs
    from continual_ml.defs.resources import build_resources

    local = dg.Definitions(
        assets=defs.assets,
        asset_checks=defs.asset_checks,
        jobs=[retrain_job],
        resources=build_resources(home),
        executor=dg.in_process_executor,
    )
    result = local.resolve_job_def("retrain_job").execute_in_process(
        partition_key=str(day), instance=instance, tags={"continual_ml/trigger": "policy"}
    )
    assert result.success
    return result


def test_a_refused_challenger_accumulates_shadow_evidence_until_it_is_promoted(
    home, instance, strict_gate
):
    config = strict_gate
    day, drift = champion_then_drifted_days(config, home, instance)
    refused = policy_retrain(day(drift + 1), home, instance)
    decided = metadata(refused, champion_model)
    assert decided["decision"] == "challenger" and decided["open_challenger"] == 2
    assert policy_retrains(instance)[-1] == (str(day(drift + 1)), False)
    assert decided["champion_version"] == 1 and "stays a challenger" in decided["reason"]
    assert query(home, "SELECT version, status FROM model_registry ORDER BY 1") == [
        (1, "champion"),
        (2, "challenger"),
    ]

    evidence, outcome = [], None
    for index in range(drift + 2, drift + 12):
        materialize_day([observations], day(index), home, instance)
        shadow = materialize_day(SHADOW, day(index), home, instance)
        scores = metadata(shadow, evaluation_scores)
        assert scores["mode"] == "shadow" and scores["candidate_version"] == 2
        evidence.append(
            (scores["evidence_rows"], scores["evidence_days"], scores["evidence_lower"])
        )
        if index == drift + 2:  # the same day again (a re-run, or late labels): no double count
            again = metadata(materialize_day(SHADOW, day(index), home, instance), evaluation_scores)
            assert again["evidence_rows"] == scores["evidence_rows"]
        outcome = metadata(shadow, champion_model)
        if outcome["decision"] != "challenger":
            break
    rows_a_day = config.stream.rows_per_day
    # each shadow day added its rows once; the sequence went on until it could decide
    assert [(n, days) for n, days, _ in evidence] == [
        (600 + rows_a_day * k, 1 + k) for k in range(1, len(evidence) + 1)
    ]
    assert len(evidence) >= 2 and evidence[-2][2] <= MIN_IMPROVEMENT < evidence[-1][2]
    assert outcome["decision"] == "promoted" and outcome["champion_version"] == 2
    assert outcome["open_challenger"] == "none"
    # promoted by a shadow run, it counts as the retrain's promotion (follow-ups start from it)
    assert policy_retrains(instance)[-1] == (str(day(drift + 1)), True)
    assert read_pointer(home.bentoml_home)["version"] == 2
    assert query(home, "SELECT candidate_version, action FROM promotions ORDER BY id") == [
        (1, "promoted"),
        (2, "kept_as_challenger"),
        (2, "promoted"),
    ]
    # the shadow days in the evaluation_scores table, and on the challenger's MLflow run
    shadow_days = query(
        home,
        "SELECT count(DISTINCT partition_date) FROM evaluation_scores "
        "WHERE candidate_version = 2 AND slice = 'shadow'",
    )
    assert shadow_days == [(len(evidence),)]
    [(run_id,)] = query(home, "SELECT mlflow_run_id FROM model_registry WHERE version = 2")
    history = MlflowClient(home.mlflow_tracking_uri).get_metric_history(run_id, "evidence_lower")
    # one step per data day since the challenger's own (the re-run day logged its value again)
    latest = {m.step: m.value for m in sorted(history, key=lambda m: m.timestamp)}
    assert sorted(latest) == list(range(1, len(evidence) + 1))
    assert [latest[step] for step in sorted(latest)] == pytest.approx(
        [lower for _, _, lower in evidence]
    )


def test_one_shadow_run_scores_every_day_measured_since_the_last(home, instance, strict_gate):
    """The sensor asks for one shadow run at a time: the run for the newest day takes the
    days landed while it waited too, each into the evidence once and into its own row."""
    config = strict_gate
    day, drift = champion_then_drifted_days(config, home, instance)
    refused = policy_retrain(day(drift + 1), home, instance)
    assert metadata(refused, champion_model)["decision"] == "challenger"
    for index in (drift + 2, drift + 3):
        materialize_day([observations], day(index), home, instance)
    shadow = materialize_day(SHADOW, day(drift + 3), home, instance)
    scores = metadata(shadow, evaluation_scores)
    rows_a_day = config.stream.rows_per_day
    assert (scores["evidence_rows"], scores["evidence_days"]) == (600 + 2 * rows_a_day, 3)
    assert scores["n_shadow_rows"] == rows_a_day  # the run's own day
    assert query(
        home,
        "SELECT partition_date, sum(n) FROM evaluation_scores WHERE candidate_version = 2 "
        "AND slice = 'shadow' AND role = 'challenger' GROUP BY 1 ORDER BY 1",
    ) == [(day(drift + 2), rows_a_day), (day(drift + 3), rows_a_day)]


UNREACHABLE = 0.95  # a gain no model shows on these days: only a flipped burden promotes


@pytest.mark.parametrize("strict_gate", [UNREACHABLE], indirect=True)
@pytest.mark.parametrize("cause", ["drift", "performance"])
def test_a_retrain_of_a_shift_episode_trains_since_the_onset_and_needs_no_proof_of_gain(
    home, instance, strict_gate, cause
):
    # the same days as above, a gate asking for an unreachable gain, and the run a shift's
    config = strict_gate
    day, drift = champion_then_drifted_days(config, home, instance)
    onset = str(day(drift))
    tags = {"continual_ml/shift_onset": onset, "continual_ml/causes": cause}
    shifted = materialize_day(RETRAIN, day(drift + 1), home, instance, tags=tags)
    trained = metadata(shifted, candidate_model)
    assert trained["training_window_choice"] == "since shift"
    assert trained["training_window"].startswith(onset) or trained["training_window"] < onset
    scores = {k: v for k, v in trained.items() if k.startswith("window_score/")}
    if cause == "drift":  # validated on the rows since the onset
        assert len(scores) == 2 and max(scores, key=scores.get) == "window_score/since shift"
    else:  # a fall of accuracy opened the episode: the concept moved, nothing to validate
        assert scores == {} and "accuracy fell" in trained["training_window_reason"]
    # the episode's later retrains read the choice here
    [(params,)] = query(home, "SELECT params FROM model_registry WHERE version = 2")
    recorded = json.loads(params)
    assert recorded["shift_onset"] == onset
    assert recorded["window_validated_through"] == str(day(drift + 1))
    assert recorded["window_concept_moved"] == str(cause == "performance").lower()
    [evaluation] = shifted.get_asset_check_evaluations()
    check = {k: v.value for k, v in evaluation.metadata.items()}
    assert check["decision"] == "promote" and check["sequence_lower"] < UNREACHABLE
    decided = metadata(shifted, champion_model)
    assert decided["decision"] == "promoted" and decided["champion_version"] == 2
    assert f"shift since {onset}" in decided["reason"] and "not shown worse" in decided["reason"]
    assert decided["champion_training_start"] == trained["training_window"].split(" .. ")[0]


def test_the_days_between_a_challengers_training_and_its_own_are_evidence(
    home, instance, strict_gate
):
    """With labels late, a challenger trained for day D learnt the days up to D-2 only: D-1 and
    D are unseen by it and by the champion, and are scored in shadow as any later day."""
    import duckdb

    config = strict_gate
    day, drift = champion_then_drifted_days(config, home, instance)
    refused = policy_retrain(day(drift + 1), home, instance)
    assert metadata(refused, champion_model)["decision"] == "challenger"
    # the stream labels its rows at once; as labels two days late would have left it, the
    # newest labelled day it learnt is two days before its own
    [(params,)] = query(home, "SELECT params FROM model_registry WHERE version = 2")
    assert json.loads(params)["labelled_through"] == str(day(drift + 1))
    late = {**json.loads(params), "labelled_through": str(day(drift - 1))}
    with duckdb.connect(str(home.warehouse)) as conn:
        conn.execute("UPDATE model_registry SET params = ? WHERE version = 2", [json.dumps(late)])
    materialize_day([observations], day(drift + 2), home, instance)
    shadow = metadata(materialize_day(SHADOW, day(drift + 2), home, instance), evaluation_scores)
    scored = query(
        home,
        "SELECT DISTINCT partition_date FROM shadow_scores WHERE model_version = 2 ORDER BY 1",
    )
    assert [d for (d,) in scored] == [day(drift), day(drift + 1), day(drift + 2)]
    assert shadow["evidence_days"] == 3
