"""A job that does nothing, to be submitted to a queue no daemon serves: its runs stay QUEUED.

`dagster job launch -f <this file> -a waiting_job` submits one through the instance's run
coordinator, as the UI or a sensor would."""

import dagster as dg


@dg.op
def wait_in_queue() -> None:
    pass


@dg.job
def waiting_job() -> None:
    wait_in_queue()
