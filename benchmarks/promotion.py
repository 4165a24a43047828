"""The gate against promoting blindly, on the demo's drifting stream with a retrain every day.

`python -m benchmarks.promotion` trains a candidate each day on the sliding window (as the
retrain job does), then either promotes it only if `candidate_beats_champion` passes, or
promotes every candidate. Each policy's champion is scored on the next day's rows, which is
what it would serve.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from benchmarks.stamp import stamp
from continual_ml.config import default_config
from continual_ml.decisions.gate import GateSettings, evaluate_gate
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.training.pipeline import fit_candidate, split_window

RESULTS = Path(__file__).parent / "results" / "promotion.json"


def run(n_days: int = 16) -> dict:
    config = default_config()
    window = config.model.training_window_days
    policy = config.policy
    gate = GateSettings(
        metric=policy.gate_metric, min_effect=policy.min_improvement, alpha=policy.gate_alpha
    )
    days = {}
    for index in range(n_days + 1):
        rows = generate_batch(config, partition_date(config, index))
        rows["partition_date"] = partition_date(config, index)
        days[index] = rows
    gated = blind = None
    timeline, counts = [], {"trained": 0, "gated_promoted": 0, "gated_rejected": 0}
    for index in range(window - 1, n_days):
        split = split_window(
            pd.concat(days[i] for i in range(index - window + 1, index + 1)),
            config.model.holdout_fraction,
        )
        candidate = fit_candidate(config, split.train)
        counts["trained"] += 1
        holdout, truth = split.holdout[config.feature_names], split.holdout[config.label]
        if gated is None:
            gated, verdict = candidate, "first"
        else:
            result = evaluate_gate(
                truth.to_numpy(),
                candidate.predict_proba(holdout)[:, 1],
                gated.predict_proba(holdout)[:, 1],
                gate,
            )
            verdict = "promoted" if result.passed else "rejected"
            if result.passed:
                gated = candidate
        counts["gated_promoted" if verdict != "rejected" else "gated_rejected"] += 1
        blind = candidate
        tomorrow = days[index + 1]
        features, labels = tomorrow[config.feature_names], tomorrow[config.label]
        timeline.append(
            {
                "trained_on": str(partition_date(config, index)),
                "served_on": str(partition_date(config, index + 1)),
                "gate": verdict,
                "gated_accuracy": float((gated.predict(features) == labels).mean()),
                "blind_accuracy": float((blind.predict(features) == labels).mean()),
            }
        )
    frame = pd.DataFrame(timeline)
    summary = {
        **counts,
        "blind_promoted": counts["trained"],
        "gated_mean_accuracy": float(frame["gated_accuracy"].mean()),
        "blind_mean_accuracy": float(frame["blind_accuracy"].mean()),
        "timeline": timeline,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"stamp": stamp(), **summary}, indent=2))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=16)
    summary = run(parser.parse_args().days)
    print(pd.DataFrame(summary["timeline"]).to_markdown(index=False, floatfmt=".3f"))
    print({k: v for k, v in summary.items() if k != "timeline"})


if __name__ == "__main__":
    main()
