"""What `model_performance` says about a regression champion: the day's metadata, the chart
of its error, and the alert when its estimate before labels cannot be trusted."""

from datetime import date

import pandas as pd

from continual_ml.defs.monitoring.regression_performance import (
    day_metadata,
    unreliable_error_alert,
)
from continual_ml.monitoring.plots import error_history_png


def day(n: int, reliable, realized=1.4, within=False, **extra) -> dict:
    return {
        "estimate_within_tolerance": within if realized is not None else None,
        "partition_date": date(2026, 3, n),
        "champion_version": 2,
        "error_metric": "mae",
        "realized_mae": realized,
        "estimated_mae": 0.8,
        "prediction_drifted": False,
        "estimate_reliable": reliable,
        "estimate_days_labelled": 6,
        "estimate_days_beyond_tolerance": 4,
        **extra,
    }


def test_an_unreliable_estimate_alerts_with_links_to_the_day_and_the_run():
    alert = unreliable_error_alert([day(4, True), day(5, False), day(6, False)], "run-1")
    assert alert.event == "estimate_unreliable"
    assert alert.title == "Champion v2 error estimate unreliable on 2026-03-06"
    assert "on 4 of 6 labelled days" in alert.text
    assert alert.fields == {"realized MAE": "1.4", "estimated MAE": "0.8"}
    assert any("model_performance" in url and "2026-03-06" in url for url in alert.links.values())


def test_reliable_estimates_or_days_without_labels_send_nothing():
    assert unreliable_error_alert([day(4, True)], "run-1") is None
    # an unreliable record, but this day's estimate held: nothing new to say
    assert unreliable_error_alert([day(4, False, within=True)], "run-1") is None
    assert unreliable_error_alert([day(4, "no labelled day yet", realized=None)], "run-1") is None
    assert unreliable_error_alert([day(4, False, realized=None)], "run-1") is None


def test_a_days_metadata_keeps_numbers_flags_and_the_reliability_as_read():
    metadata = day_metadata(day(4, "no labelled day yet", interval_coverage=float("nan")), True)
    assert metadata["realized_mae"] == 1.4 and metadata["prediction_drifted"] is False
    assert metadata["estimate_reliable"] == "no labelled day yet"
    assert "interval_coverage" not in metadata  # NaN: not measured, not a number
    assert metadata["validation_passed"] is True and metadata["task"] == "regression"


def test_the_error_chart_renders_a_png_for_a_history_with_a_champion_change():
    history = pd.DataFrame(
        {
            "partition_date": pd.date_range("2026-03-01", periods=4),
            "champion_version": [1, 1, 2, 2],
            "realized_mae": [0.8, None, 3.1, 0.9],
            "estimated_mae": [0.7, 0.8, 0.9, 0.8],
        }
    )
    assert error_history_png(history).startswith(b"\x89PNG")
