"""The loop's decisions in plain code: retraining, promotion, retries and queue aging."""
