"""Does continual learning pay? Prequential accuracy on concept-drift streams, per strategy.

Each stream (`benchmarks.drift_streams`) is a sequence of daily batches. Every strategy
predicts batch t with the model it holds before batch t's labels arrive, then sees the labels
and may retrain for batch t + 1. All strategies train alike (`continual_ml.training.pipeline`: a
histogram gradient-boosting pipeline on the last `window` batches, the newest 30% of the last
batch held out), start from the same first model (trained on batches 0 .. window - 1) and are
scored from batch `window` on; only the decision to retrain differs:

- previous label: predicts each row's label as the label of the row before it (no model);
- static: the first model, never retrained;
- every batch: retrains after every batch (the accuracy oracle, the most training);
- fixed schedule: retrains after every `fixed_every` batches;
- policy: continual-ml's loop, one batch per daily partition. After each batch, the drift share
  of the batch against the champion's training window (`drift_engine`) and the champion's
  realized accuracy go to `retrain_policy.decide_retrain` with the champion's promoted score,
  as the Dagster sensor passes them (with the champion each accuracy is of, and the newest
  retrain, for the decay rule); a retrain trains a challenger that replaces the champion only if
  `promotion_gate.evaluate_gate` passes it on the holdout, alone or pooled with the refusals
  against the same champion (`pool_refusals`, as the gate check does), and a rejected
  challenger still counts as a retrain. Policy and gate settings are
  `continual_ml/demo/demo_dataset.yaml`'s for every stream, unless `max_drop` overrides the accuracy
  drop that triggers a retrain.

Reports each strategy's mean accuracy, its mean over the 5 batches from each drift's first
batch on (a gradual drift's first mixed batch), its retrains and promotions. Prints a markdown
table per stream and writes JSON to `benchmarks/results/continual_learning.json`.

The defaults, 50 batches of 5,000 rows and a window of one batch, are the honest choices that
let the policy work: a 1,500-row holdout measures the promoted score to about a point, well
inside the 5-point drop that triggers a retrain, and a one-batch window trains the first
challenger after an abrupt drift on the new concept alone. With the demo's 3-day window that
challenger is trained mostly on the old concept, passes the gate against a champion that is
now worse still, and its low promoted score then hides the gap for good (Agrawal: mean
accuracy 0.71 against 0.92 for retraining every batch).

    python -m benchmarks.continual_learning --batches 50 --batch-size 5000
"""

from __future__ import annotations

import argparse
import json
import platform
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter

import numpy as np
from threadpoolctl import threadpool_limits

from benchmarks import tables
from benchmarks.drift_streams import (
    LABEL,
    STREAMS,
    DriftStream,
    TrainedModels,
    accuracy,
    previous_label_accuracy,
)
from benchmarks.stamp import stamp
from continual_ml.config import (
    DatasetConfig,
    FeatureSpec,
    PolicySettings,
    TrainingWindow,
    default_config,
)
from continual_ml.decisions.gate import GateSettings, evaluate_gate
from continual_ml.decisions.gate_pooling import pool_refusals
from continual_ml.decisions.retrain_policy import (
    PartitionObservation,
    RetrainPolicy,
    decide_retrain,
    follow_up_partition,
)
from continual_ml.monitoring.drift_engine import check_drift

RESULTS = Path(__file__).parent / "results" / "continual_learning.json"
FAMILY = "hist_gradient_boosting"  # the concepts are threshold rules, which trees fit
AFTER_DRIFT = 5  # batches, from the first batch of a new concept on
HISTORY = 60  # partitions of evidence the sensor passes (`defs.automation.HISTORY`)
THREADS = 1
STRATEGIES = ("previous label", "static", "every batch", "fixed schedule", "policy")


def policy_settings(max_drop: float | None = None) -> PolicySettings:
    """The demo's policy and gate settings, with `max_drop` as the accuracy drop if given."""
    policy = default_config().policy
    if max_drop is None:
        return policy
    return policy.model_copy(update={"max_performance_drop": max_drop})


def stream_config(stream: DriftStream, window: int, max_drop: float | None = None) -> DatasetConfig:
    """The stream's numeric features with the demo's model settings, policy and gate."""
    return DatasetConfig(
        name=stream.name,
        features=tuple(FeatureSpec(name=name, kind="numeric") for name in stream.feature_names),
        label=LABEL,
        model=default_config().model.model_copy(
            update={"family": FAMILY, "training_window": TrainingWindow(candidates_days=(window,))}
        ),
        policy=policy_settings(max_drop),
    )


def policy_run(models: TrainedModels, first_end: int) -> dict:
    """Replay the sensor's loop: monitor each batch, decide, train, gate, maybe promote."""
    stream, config = models.stream, models.config
    policy = RetrainPolicy.from_settings(config.policy)  # as the sensor builds it
    gate = GateSettings(
        metric=config.policy.gate_metric,
        min_effect=config.policy.min_improvement,
        alpha=config.policy.gate_alpha,
    )
    champion = first_end  # models are named by the last batch of their training window
    first_holdout = models.candidate(first_end).split.holdout
    promoted_score = accuracy(models.predict(first_end, first_holdout), first_holdout[LABEL])
    observations: list[PartitionObservation] = []
    retrained_at: list[datetime] = []
    serving, decisions = [], []
    retrain_log: list[tuple[str, bool]] = []  # (partition, promoted), as the sensor reads them
    refused = []  # the gate's refusals against the current champion, oldest first
    for batch in range(first_end + 1, len(stream.batches)):
        serving.append(champion)
        if batch == len(stream.batches) - 1:
            break  # a retrain now would serve no batch; the other strategies stop here too
        rows = stream.batches[batch]
        day = rows["partition_date"].iloc[0]
        drift = check_drift(models.reference_profile(champion), rows[config.feature_names])
        observations.append(
            PartitionObservation(
                partition=str(day),
                drift_share=drift.drift_share,
                realized_accuracy=models.accuracy_on_batch(champion, batch),
                champion_version=champion,
            )
        )
        # the sensor decides once the day's partition is monitored, after the day is over
        now = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        recent = [moment for moment in retrained_at if now - moment < timedelta(days=1)]
        decision = decide_retrain(
            policy,
            observations[-HISTORY:],
            promoted_score,
            recent,
            now,
            follow_up_partition(retrain_log, policy.follow_up_refusals),
            retrain_log[-1][0] if retrain_log else None,
        )
        entry = {"batch": batch, "reason": decision.reason}
        if decision.retrain:
            retrained_at.append(now)
            holdout = models.candidate(batch).split.holdout
            challenger_proba = models.predict(batch, holdout)
            verdict = evaluate_gate(
                holdout[LABEL].to_numpy(), challenger_proba, models.predict(champion, holdout), gate
            )
            pool = config.policy.gate_pooled_refusals
            verdict = pool_refusals(verdict, refused[-pool:] if pool else [], gate)
            entry.update(causes=list(decision.causes), promoted=verdict.passed)
            retrain_log.append((str(day), verdict.passed))
            refused = [] if verdict.passed else [*refused, verdict]
            if verdict.passed:
                champion = batch
                promoted_score = accuracy(challenger_proba, holdout[LABEL])
        decisions.append(entry)
    retrains = [entry for entry in decisions if "promoted" in entry]
    return {
        "serving": serving,
        "retrains": len(retrains),
        "promotions": sum(entry["promoted"] for entry in retrains),
        "retrains_on_drift_share": sum("drift" in entry["causes"] for entry in retrains),
        "retrains_on_accuracy_drop": sum("performance" in entry["causes"] for entry in retrains),
        "retrains_on_decay": sum("decay" in entry["causes"] for entry in retrains),
        "decisions": decisions,
    }


def run_stream(
    stream: DriftStream, window: int, fixed_every: int, max_drop: float | None = None
) -> dict:
    """Every strategy on one stream: accuracy per scored batch and the retrains it took."""
    # OpenMP threads beyond the free cores make gradient boosting crawl on a busy machine
    with threadpool_limits(limits=THREADS):
        models = TrainedModels(stream, stream_config(stream, window, max_drop))
        return compare_strategies(models, fixed_every)


def compare_strategies(models: TrainedModels, fixed_every: int) -> dict:
    """Score each strategy's serving model on each batch from `window` on, and summarise."""
    stream = models.stream
    first_end = models.window - 1
    scored = list(range(models.window, len(stream.batches)))
    policy = policy_run(models, first_end)
    serving = {  # the model that predicts each scored batch
        "static": [first_end] * len(scored),
        "every batch": [batch - 1 for batch in scored],
        "fixed schedule": [
            first_end + (batch - models.window) // fixed_every * fixed_every for batch in scored
        ],
        "policy": policy["serving"],
    }
    accuracies = {"previous label": [previous_label_accuracy(stream, b) for b in scored]}
    for name, models_used in serving.items():
        accuracies[name] = [
            models.accuracy_on_batch(end, batch)
            for end, batch in zip(models_used, scored, strict=True)
        ]
    # each scheduled retrain changed the serving model; the policy's count includes refusals
    retrains = {name: len(set(used)) - 1 for name, used in serving.items()}
    retrains |= {"previous label": 0, "policy": policy["retrains"]}
    after_drift = [
        i
        for i, batch in enumerate(scored)
        if any(0 <= batch - drift < AFTER_DRIFT for drift in stream.drift_batches)
    ]
    summary = {
        name: {
            "mean_accuracy": float(np.mean(accuracies[name])),
            "after_drift_accuracy": float(np.mean([accuracies[name][i] for i in after_drift])),
            "retrains": retrains[name],
            "promotions": policy["promotions"] if name == "policy" else retrains[name],
        }
        for name in STRATEGIES
    }
    return {
        "description": stream.description,
        "drift_batches": list(stream.drift_batches),
        "gradual_width": stream.width,
        "scored_batches": scored,
        "summary": summary,
        "accuracy_per_batch": accuracies,
        "policy": {key: value for key, value in policy.items() if key != "serving"},
        "fit_seconds": models.fit_seconds,
    }


def run(
    streams: Sequence[str] = tuple(STREAMS),
    n_batches: int = 50,
    batch_size: int = 5000,
    window: int = 1,
    fixed_every: int = 5,
    seed: int = 0,
    max_drop: float | None = None,
    output: Path | None = RESULTS,
) -> dict:
    """Run every strategy on each stream; write the results to `output` unless it is None."""
    started = perf_counter()
    settings = {
        "n_batches": n_batches,
        "batch_size": batch_size,
        "window": window,
        "fixed_every": fixed_every,
        "seed": seed,
        "after_drift_batches": AFTER_DRIFT,
        "model_family": FAMILY,
        "holdout_fraction": default_config().model.holdout_fraction,
        "policy": policy_settings(max_drop).model_dump(mode="json"),
        "policy_tuned": max_drop is not None,
    }
    results = {}
    for name in streams:
        stream = STREAMS[name](n_batches, batch_size, seed)
        results[name] = run_stream(stream, window, fixed_every, max_drop)
        table = markdown_table(results[name], fixed_every)
        print(f"\n### {name}: {stream.description}\n\n{table}", flush=True)
    report = {
        "settings": settings,
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "seconds": perf_counter() - started,
        "streams": results,
    }
    print(f"\n{report['seconds']:.0f} s", flush=True)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps({"stamp": stamp(), **report}, indent=2, default=str))
    return report


def markdown_table(result: dict, fixed_every: int) -> str:
    header = ["strategy", "mean accuracy", "accuracy in the 5 batches from each drift"]
    header += ["retrains", "promotions"]
    rows = [
        [
            f"fixed (every {fixed_every})" if name == "fixed schedule" else name,
            f"{row['mean_accuracy']:.3f}",
            f"{row['after_drift_accuracy']:.3f}",
            str(row["retrains"]),
            str(row["promotions"]),
        ]
        for name, row in result["summary"].items()
    ]
    return tables.markdown_table(header, rows, "lrrrr")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", nargs="+", choices=list(STREAMS), default=list(STREAMS))
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=5000, help="rows per batch")
    parser.add_argument("--window", type=int, default=1, help="batches each model trains on")
    parser.add_argument("--fixed-every", type=int, default=5, help="the fixed schedule's period")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-drop",
        type=float,
        default=None,
        help="override the policy's max_performance_drop (default: demo_dataset.yaml's)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)
    run(
        arguments.streams,
        arguments.batches,
        arguments.batch_size,
        arguments.window,
        arguments.fixed_every,
        arguments.seed,
        arguments.max_drop,
        arguments.out,
    )


if __name__ == "__main__":
    main()
