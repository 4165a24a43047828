"""A shift episode's window: the rows since the onset, unless the rows since it show that the
older rows still help (a shift of the inputs that leaves the concept alone)."""

from datetime import timedelta

from continual_ml.training.episode_window import SINCE_SHIFT, choose_since_shift
from continual_ml_tests.support.window_rows import FIRST, dataset, days_of_rows, last_day


def test_when_the_concept_flips_the_rows_since_the_onset_are_chosen():
    rows = days_of_rows(40, 40, flip_from=34)
    onset = FIRST + timedelta(days=34)
    choice = choose_since_shift(dataset([7, "all"]), rows, onset, last_day(rows))
    assert choice.chosen == SINCE_SHIFT and choice.start == onset
    scores = choice.scores()
    assert scores[SINCE_SHIFT] > scores["all"] + 0.2
    # scored on the newest 120 of the 240 rows since the onset, never on rows before it
    first, last, n = choice.validation
    assert n == 120 and first >= onset and last == last_day(rows)


def test_when_only_the_inputs_move_the_longer_window_is_chosen():
    rows = days_of_rows(40, 40)
    moved = rows["partition_date"] >= FIRST + timedelta(days=34)
    for column in ("x3", "x4", "x5"):  # the inputs move; the label still follows x0
        rows.loc[moved, column] += 3.0
    onset = FIRST + timedelta(days=34)
    choice = choose_since_shift(dataset([7, "all"]), rows, onset, last_day(rows))
    assert choice.chosen == "all" and choice.start == FIRST
    assert choice.scores()["all"] > choice.scores()[SINCE_SHIFT]


def test_too_few_rows_since_the_onset_train_on_them_unvalidated():
    rows = days_of_rows(40, 40, flip_from=39)
    onset = FIRST + timedelta(days=39)
    choice = choose_since_shift(dataset([7, "all"]), rows, onset, last_day(rows))
    assert choice.chosen == SINCE_SHIFT and choice.scores() == {}
    assert "too few to validate on" in choice.reason and choice.validation is None


def test_the_floor_in_rows_reaches_back_before_the_onset():
    rows = days_of_rows(40, 40, flip_from=34)
    onset = FIRST + timedelta(days=34)
    choice = choose_since_shift(dataset([7, "all"], min_rows=400), rows, onset, last_day(rows))
    assert choice.chosen == SINCE_SHIFT
    assert choice.start == last_day(rows) - timedelta(days=9)  # ten days of 40 rows


def test_the_episode_keeps_its_choice_until_the_days_since_the_onset_double():
    rows = days_of_rows(40, 40, flip_from=34)
    onset = FIRST + timedelta(days=34)
    config, end = dataset([7, "all"]), last_day(rows)  # 6 days since the onset
    validated_on = onset + timedelta(days=2)  # 3 days since the onset: doubled by now
    again = choose_since_shift(config, rows, onset, end, ("all", validated_on))
    assert again.chosen == SINCE_SHIFT and again.validated_through == end
    kept = choose_since_shift(config, rows, onset, end, ("all", onset + timedelta(days=3)))
    assert kept.chosen == "all" and kept.scores() == {} and "as validated" in kept.reason
    assert kept.validated_through == onset + timedelta(days=3) and kept.shift_onset == onset


def test_a_fall_of_accuracy_chooses_the_rows_since_the_onset_without_fitting(monkeypatch):
    # Inputs that move while the concept stays: validation would choose the longer window.
    rows = days_of_rows(40, 40)
    moved = rows["partition_date"] >= FIRST + timedelta(days=34)
    for column in ("x3", "x4", "x5"):
        rows.loc[moved, column] += 3.0
    onset = FIRST + timedelta(days=34)
    fitted = []
    monkeypatch.setattr(
        "continual_ml.training.episode_window.score_or_none",
        lambda *args: fitted.append(args) or 0.5,
    )
    config = dataset([7, "all"])
    choice = choose_since_shift(config, rows, onset, last_day(rows), concept_moved=True)
    assert choice.chosen == SINCE_SHIFT and choice.start == onset and not fitted
    assert choice.validation is None and "accuracy fell" in choice.reason
    assert choice.validated_through == last_day(rows) and choice.shift_onset == onset
    assert choice.concept_moved  # recorded, so the episode's later retrains need no validation
    # however long the episode has run since its first retrain
    later = choose_since_shift(
        config, rows, onset, last_day(rows), (SINCE_SHIFT, onset), concept_moved=True
    )
    assert later.chosen == SINCE_SHIFT and later.concept_moved and not fitted
