"""A challenger's life: scored in shadow each labelled day, decided when the evidence allows.

One challenger at a time stays open (registry status ``challenger``): a candidate the
sequential gate could not yet call better than the champion. On every later labelled day it and
the champion are scored on the same rows (`shadow_scores`), and the gate looks again. A newer
candidate takes its place only on evidence: when it beats the open challenger on the rows both
were scored on, or once the open one is decided not better (it is then closed for good).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from continual_ml.config import DatasetConfig
from continual_ml.decisions.data_growth import ModelTraining, learnt_less
from continual_ml.decisions.sequential_gate import (
    SequentialSettings,
    SequentialVerdict,
    bounded_scores,
    score_range,
    sequential_verdict,
)
from continual_ml.warehouse import registry
from continual_ml.warehouse.labelled_rows import labelled_rows
from continual_ml.warehouse.shadow_scores import paired_scores, record_scores
from continual_ml.warehouse.training_params import training_record

CHALLENGER = "challenger"


def settings_of(config: DatasetConfig) -> SequentialSettings:
    policy = config.policy
    return SequentialSettings(
        alpha=policy.gate_alpha,
        min_effect=policy.min_improvement,
        margin=policy.gate_margin,
        max_days=policy.challenger_max_days,
    )


def open_challenger(conn) -> dict | None:
    rows = conn.execute(
        "SELECT max(version) FROM model_registry WHERE status = ?", [CHALLENGER]
    ).fetchall()
    return registry.load_model_row(conn, rows[0][0]) if rows[0][0] is not None else None


def judged_on(conn, day: date) -> tuple[dict, str] | None:
    """The model the gate judges on `day` and how: ``holdout`` for the candidate trained for
    that day and not yet decided, else ``shadow`` for the open challenger trained before it."""
    fresh = conn.execute(
        "SELECT max(version) FROM model_registry WHERE partition_date = ? AND status = 'candidate'",
        [day],
    ).fetchone()[0]
    if fresh is not None:
        return registry.load_model_row(conn, fresh), "holdout"
    challenger = open_challenger(conn)
    if challenger and challenger["partition_date"] <= day:
        return challenger, "shadow"
    return None


def row_scores_of(config: DatasetConfig, model: dict, rows: pd.DataFrame) -> pd.DataFrame:
    """The model's per-row gate score (larger is better) and correctness on labelled rows."""
    from continual_ml.training.class_probabilities import class_proba, training_labels
    from continual_ml.training.pipeline import load_model

    metric = config.policy.gate_metric
    fitted = load_model(model["artifact"], model["sha256"])
    proba = class_proba(fitted, config, rows)
    classes = list(config.classes)
    index_of = {label: i for i, label in enumerate(classes)}
    truth = np.array([index_of[v] for v in training_labels(config, rows[config.label])])
    picked = proba[np.arange(len(rows)), truth]
    if config.binary:  # the threshold, as the fixed-sample gate and the service use it
        correct = (proba[:, 1] >= 0.5).astype(int) == truth
    else:
        correct = proba.argmax(axis=1) == truth
    if metric == "accuracy":
        score = correct.astype(float)
    elif metric == "brier":
        one_hot = np.eye(len(classes))[truth]
        score = -np.sum((proba - one_hot) ** 2, axis=1) / (2 if config.binary else 1)
    else:
        score = np.log(np.clip(picked, np.finfo(float).eps, 1))
    return pd.DataFrame(
        {
            "row_id": rows["row_id"].to_numpy(),
            "partition_date": pd.to_datetime(rows["partition_date"]).dt.date.to_numpy(),
            "score": bounded_scores(score, metric),
            "correct": correct,
        }
    )


def unseen_after(conn, model: dict) -> date:
    """The newest day whose rows `model` may have learnt: the newest labelled day it was trained
    on (with labels late, the days after it up to its window's end had none yet), or its
    window's end for a model recorded without it."""
    through = training_record(conn, model["version"])["labelled_through"]
    return date.fromisoformat(through) if through else model["training_end"]


def score_unseen(conn, config: DatasetConfig, model: dict, rows: pd.DataFrame) -> int:
    """Record `model`'s scores on the rows after the newest day it learnt (rows it never saw)."""
    after = pd.to_datetime(rows["partition_date"]).dt.date > unseen_after(conn, model)
    unseen = rows[after.to_numpy()]
    if unseen.empty:
        return 0
    record_scores(
        conn, model["version"], config.policy.gate_metric, row_scores_of(config, model, unseen)
    )
    return len(unseen)


def labelled_days_rows(conn, config: DatasetConfig, first: date, last: date) -> pd.DataFrame:
    """The rows of days [first, last] whose label has landed."""
    rows = labelled_rows(conn, config, first, last)
    return rows[rows[config.label].notna()]


def compare(conn, config: DatasetConfig, model: dict, other: dict, what: str) -> SequentialVerdict:
    """The sequential verdict on `model` minus `other`, over every row both were scored on."""
    metric = config.policy.gate_metric
    pairs = paired_scores(conn, model["version"], other["version"], metric)
    settings = settings_of(config)
    if what == "newer vs challenger":  # beating the open challenger at all is enough
        settings = SequentialSettings(settings.alpha, 0.0, settings.margin, settings.max_days)
    return sequential_verdict(
        (pairs["score"] - pairs["other_score"]).to_numpy(),
        int(pairs["partition_date"].nunique()),
        settings,
        scale=score_range(metric, len(config.classes)),
        compared=f"v{model['version']} vs {what} v{other['version']}",
    )


@dataclass(frozen=True)
class ChallengerDecision:
    outcome: str  # promote | keep (stays or becomes the challenger) | refuse
    reason: str
    details: dict
    replaces: int | None = None  # the open challenger a newer one takes over from


def decide(
    conn,
    config: DatasetConfig,
    model: dict,
    champion: dict,
    shift_onset: str | None = None,
    growth: bool = False,
) -> ChallengerDecision:
    """Promote, keep watching, or refuse `model`; a newer one may replace the open challenger.

    With `shift_onset`, a shift episode is open and `model` was trained after its onset: the
    burden flips (`shift_episode`), and it is promoted unless shown worse than the champion.
    With `growth`, `model` is a growth retrain's candidate (`data_growth.eased_for_growth`):
    unless the anytime test decides first, it is scored for `growth_evidence_days` labelled
    days and then decided once, on the mean gain over all those rows (`growth_decision`).
    """
    verdict = compare(conn, config, model, champion, "champion")
    details = verdict.as_details()
    if growth and verdict.n > 0:
        details["growth_candidate"] = True
        eased = growth_decision(conn, config, model, verdict, details)
        if eased is not None:
            return eased
    if shift_onset is not None and verdict.n > 0:
        details["shift_onset"] = shift_onset
        episode = f"shift since {shift_onset}, the champion trained before it"
        if verdict.upper < 0:
            reason = f"{verdict.reason}; {episode}, but it is still shown better: refused"
            return ChallengerDecision("refuse", reason, details)
        reason = f"{verdict.reason}; {episode}: promoted, not shown worse (upper bound >= 0)"
        return ChallengerDecision("promote", reason, details)
    if verdict.decision == "better":
        return ChallengerDecision("promote", verdict.reason, details)
    if verdict.decision == "not_better":
        return ChallengerDecision("refuse", verdict.reason, details)
    current = open_challenger(conn)
    if current is None or current["version"] == model["version"]:
        reason = f"{verdict.reason}; stays a challenger, scored in shadow on later labelled days"
        return ChallengerDecision("keep", reason, details)
    stale = compare(conn, config, current, champion, "champion")
    if stale.decision == "not_better":  # the open one is decided worse: its slot is free
        reason = f"{verdict.reason}; replaces challenger v{current['version']}: {stale.reason}"
        return ChallengerDecision("keep", reason, details, replaces=current["version"])
    against = compare(conn, config, model, current, "newer vs challenger")
    details |= {f"newer_{k}": v for k, v in against.as_details().items()}
    if against.decision == "better":
        reason = f"{verdict.reason}; replaces challenger v{current['version']}: {against.reason}"
        return ChallengerDecision("keep", reason, details, replaces=current["version"])
    reason = f"{verdict.reason}; v{current['version']} stays the challenger: {against.reason}"
    return ChallengerDecision("refuse", reason, details)


def growth_decision(
    conn, config: DatasetConfig, model: dict, verdict: SequentialVerdict, details: dict
) -> ChallengerDecision | None:
    """A growth candidate's decision unless the anytime test shows it better or worse, or None
    to judge it as any challenger.

    Its paired rows accumulate (its holdout, then each labelled day in shadow) until they span
    `growth_evidence_days` days; then it is decided once: promoted if the mean gain reaches
    `min_improvement` and is above 0 (a tie is no reason to swap), else refused. One look at a
    fixed horizon, so a candidate no better than the champion passes with the chance its mean
    lands above both, about half, once; a better one passes more surely the more rows it waited
    for. An open challenger trained on all history on a part of its rows (an earlier growth
    candidate, say) gives way without a contest; another open challenger is a rival it must
    match on the same rows.
    """
    policy = config.policy
    # Shown better, or shown worse, it is decided as any. Not the margin's "not better": a
    # growth candidate's gain is small by nature, so only its mean at the look decides it.
    if verdict.decision == "better" or verdict.upper < policy.min_improvement:
        return None
    current = open_challenger(conn)
    superseded = None
    if current is not None and current["version"] != model["version"]:
        if learnt_less(_training(conn, current), _training(conn, model)):
            superseded, current = current["version"], None
    elif current is not None:
        current = None  # it is the open challenger itself
    if verdict.days < policy.growth_evidence_days:
        if current is not None:  # another's challenger: the newer must win its place
            return None
        wait = (
            f"{verdict.reason}; a growth retrain's candidate: scored in shadow until "
            f"{policy.growth_evidence_days} days of evidence, then decided on its mean gain"
            + (
                f"; replaces challenger v{superseded}, trained on a part of its rows"
                if superseded
                else ""
            )
        )
        return ChallengerDecision("keep", wait, details, replaces=superseded)
    rival = None if current is None else compare(conn, config, model, current, "challenger")
    looked = f"mean gain {verdict.mean:+.4f} over {verdict.n} rows in {verdict.days} day(s)"
    if rival is not None and not (rival.n > 0 and rival.mean >= 0):  # the look is spent
        reason = (
            f"{verdict.reason}; a growth retrain's candidate, decided once: {looked}, but "
            f"behind challenger v{current['version']} on the same rows: refused"
        )
        return ChallengerDecision("refuse", reason, details)
    # A tie is no gain, even at `min_improvement: 0`: a swap to an equal model would cost a
    # promotion and its alerts for nothing (two models always right were swapped twice).
    if verdict.mean < policy.min_improvement or verdict.mean <= 0:
        short = "no gain" if verdict.mean <= 0 else f"below {policy.min_improvement:g}"
        reason = (
            f"{verdict.reason}; a growth retrain's candidate, decided once: {looked}, {short}: "
            "refused"
        )
        return ChallengerDecision("refuse", reason, details)
    details["growth"] = True
    reason = (
        f"{verdict.reason}; trained on all the champion's history and more, with no sign of a "
        f"change: promoted, its {looked} above 0 and at least {policy.min_improvement:g}"
        + (f" and no worse than challenger v{current['version']}" if current else "")
    )
    return ChallengerDecision("promote", reason, details)  # a promotion closes the others


def _training(conn, model: dict) -> ModelTraining:
    return ModelTraining.of(training_record(conn, model["version"]))
