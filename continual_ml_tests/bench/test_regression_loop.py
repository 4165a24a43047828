"""Issue 29's benchmark: regression datasets run as a new user would (`init --from`, `ingest`,
`bootstrap`, days landed with their labels two days late), the loop beside a static model on
all history and retraining every day, in one run per dataset (`benchmarks.regression_loop`).

Fewer days than the full benchmark keep the run short: the synthetic streams stop
`SHIFT_MARGIN` days after their shift (when the shift's first labels have landed and been acted
on), the public datasets after `PUBLIC_DAYS`. The structure is asserted exactly; figures only
where the margin is wide by construction (the shift turns one term of the target around)."""

import math

import pytest

from benchmarks.learning.regression_datasets import PUBLIC_REGRESSION, SYNTHETIC_SHIFT
from benchmarks.learning.regression_tables import ARM_NAMES, ARMS, markdown
from benchmarks.regression_loop import LABEL_DELAY, run

pytestmark = pytest.mark.slow

SHIFT_MARGIN = 6  # replayed days after the shift: its labels land 2 days late, then decide
PUBLIC_DAYS = 10
DAYS = {
    "friedman_shift": SYNTHETIC_SHIFT + SHIFT_MARGIN,
    "friedman_no_change": SYNTHETIC_SHIFT + SHIFT_MARGIN,
    **dict.fromkeys(PUBLIC_REGRESSION, PUBLIC_DAYS),
}


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    """Runs a dataset once for the module; its result."""
    done: dict[str, dict] = {}

    def replayed(name: str) -> dict:
        if name not in done:
            output = tmp_path_factory.mktemp("bench") / "regression_loop.json"
            report = run((name,), days=DAYS[name], output=output)
            assert report["stamp"]["commit"] and report["stamp"]["uv_lock_sha256"]
            done[name] = report["datasets"][name]
        return done[name]

    return replayed


def policy_retrain_days(result: dict, growth: bool = False) -> list[int]:
    """The replayed days the policy asked for a retrain on; `growth`: growth's alone too (more
    rows of unchanged data, asked for without any sign of a change)."""
    runs = result["summary"]["retrains"]["runs"]
    return [r["day_index"] for r in runs if growth or r["causes"] != ["growth"]]


def test_after_the_concept_shift_the_loop_asks_for_a_retrain_and_not_before(replay):
    result = replay("friedman_shift")
    assert result["drafted_regression"] and result["hand_fix"] == []  # `target` drafted as is
    # Neither the features nor the target's distribution move at the shift, only p(y | x): the
    # loop can see it once the shift day's labels land, and a retrain asked for before then
    # answers noise (the rows before the shift are friedman_no_change's).
    seen = SYNTHETIC_SHIFT + LABEL_DELAY
    days = policy_retrain_days(result)
    assert [d for d in days if d < seen] == []
    runs = [r for r in result["summary"]["retrains"]["runs"] if r["day_index"] >= seen]
    assert runs
    shift_day = result["days"][SYNTHETIC_SHIFT]["day"]
    assert all(run["partition"] >= shift_day for run in runs)
    # the realized error's rise asked for it (a significant one opens a shift episode)
    assert {"performance", "shift"} & set(runs[0]["causes"])


def test_after_the_concept_shift_the_loop_beats_the_champion_it_had(replay):
    summary = replay("friedman_shift")["summary"]
    after = summary["after_shift"]
    assert summary["retrains"]["promoted"] >= 1
    # the shifted term alone moves the old champion's error by about 5 on average
    assert after["mae"]["loop"] < after["mae"]["kept"]


def test_without_a_shift_the_loop_asks_for_no_retrain_but_for_growth(replay):
    result = replay("friedman_no_change")
    assert policy_retrain_days(result) == []
    # the history's 2,400 rows grow by half in three days of 400: growth asks, a few times
    grown = policy_retrain_days(result, growth=True)
    assert 1 <= len(grown) <= 4, grown
    assert result["summary"]["champion_changes"] <= len(grown)


@pytest.mark.parametrize("name", PUBLIC_REGRESSION)
def test_a_public_dataset_runs_end_to_end_with_every_row_accounted_for(replay, name):
    result = replay(name)
    settings, days, warehouse = result["settings"], result["days"], result["warehouse"]
    assert len(days) == settings["days_replayed"] == DAYS[name]
    # the label is not named like one, so the user sets it (and with it the task) by hand
    assert "# Drafted by `continual-ml init --from`" in result["init_draft"]
    assert result["hand_fix"] and not result["drafted_regression"]
    assert "task: regression" in result["config"]
    assert result["source_rows"] == warehouse["observations"] + warehouse["quarantined_rows"]
    landed = [day["labels_landed_for"] for day in days]
    assert landed == [None] * LABEL_DELAY + [day["day"] for day in days[:-LABEL_DELAY]]
    # the history's labels came in its own rows; every later one in a label file, once
    assert warehouse["labels"] == sum(day["rows"] for day in days[:-LABEL_DELAY])
    # monitoring measured each labelled day's realized error and, before labels, its estimate,
    # or said why not (a champion of a short shift window has too few holdout rows for one)
    measured = {row["partition_date"]: row for row in warehouse["regression_performance"]}
    notes = {day["day"]: day["monitored"].get("monitoring_note", "") for day in days}
    for day in filter(None, landed):
        assert measured[day]["n_labelled"] == measured[day]["n_rows"]
        assert measured[day]["realized_mae"] is not None
        if measured[day]["estimated_mae"] is None:
            assert "no error estimate before labels" in notes[day]
        if measured[day]["interval_coverage"] is None:
            assert "no interval" in notes[day]


@pytest.mark.parametrize("name", PUBLIC_REGRESSION)
def test_a_public_dataset_has_its_prequential_table(replay, name):
    summary = replay(name)["summary"]
    table = markdown(name, summary)
    assert all(ARM_NAMES[arm] in table for arm in ARMS)
    for metric in ("mae", "rmse"):
        assert all(math.isfinite(summary["all_days"][metric][arm]) for arm in ARMS)
    assert all(summary["all_days"]["mae"][a] <= summary["all_days"]["rmse"][a] for a in ARMS)
    assert summary["fits"]["static_all"] == 1
    assert summary["daily_retrains"] == DAYS[name] - LABEL_DELAY
    retrains = summary["retrains"]
    assert retrains["promoted"] + retrains["refused"] <= retrains["requested"]
    # the estimate's error, on the labelled days it was made (the first champion's at least)
    estimate = summary["estimate_before_labels"]
    assert 1 <= estimate["days"] <= DAYS[name] - LABEL_DELAY
    assert estimate["mean_abs_error"] >= 0
    covered = summary["interval_coverage"]
    assert 0 <= covered["monitoring"] <= 1 and 0 <= covered["benchmark"] <= 1
