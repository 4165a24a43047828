"""Runs on Celery workers (the scale-out profile): the run launcher that sends each run, whole,
to the broker; `continual-ml worker`, which executes it; and each worker's heartbeat, by which
the launcher tells a lost worker's run from a slow one."""
