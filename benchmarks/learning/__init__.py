"""The learning benchmark's parts: the datasets, the baselines, the loop driven day by day, and
the tables (`python -m benchmarks.user_datasets` runs them)."""
