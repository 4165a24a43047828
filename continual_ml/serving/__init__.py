"""What the BentoML service runs: request schema, champion follower, scorer, guards, logs."""
