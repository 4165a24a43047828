"""The key columns of a row of scores, shared by each task's scores table."""

# A model in a role (candidate, champion), on a slice of a candidate's holdout or of a day in
# shadow, and the rows it was scored on; each task's table adds its metrics after these.
SCORE_KEY = """    partition_date DATE NOT NULL,
    candidate_version INTEGER NOT NULL,
    role VARCHAR NOT NULL,
    model_version INTEGER NOT NULL,
    slice VARCHAR NOT NULL,
    n INTEGER NOT NULL,"""
