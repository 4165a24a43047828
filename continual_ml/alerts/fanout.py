"""Every sink of an alert tried at once, all within one time bound.

Tried one after the other, a hanging Slack held Discord's message back for Slack's whole retry
budget, and the run for both budgets. Here each sink posts in its own thread under a retry budget
of `bound_seconds`, and the caller waits at most that bound (plus a moment for the last reply to
be read): a receiver that never answers costs the run the bound once, whatever the sinks.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import replace

from continual_ml.alerts.delivery import RetryPolicy, post_webhook

# How long past the bound the caller waits for the threads to report: each attempt's timeout is
# already cut to the bound, so this only covers reading the last reply and thread scheduling.
GRACE_SECONDS = 2.0


def post_to_all(
    posts: dict[str, tuple[str, dict]],
    timeout_seconds: float,
    bound_seconds: float,
    *,
    retry: RetryPolicy | None = None,
    post: Callable[..., str | None] = post_webhook,
) -> dict[str, str | None]:
    """Post `{sink: (url, payload)}` concurrently; per sink, None on success or why it failed.

    No exception escapes: a sink that raised, or is still posting past the bound, has a reason
    (one that names no URL) like any other failure.
    """
    if not posts:
        return {}
    retry = retry or RetryPolicy()
    policy = replace(retry, max_total_seconds=min(retry.max_total_seconds, bound_seconds))
    pool = ThreadPoolExecutor(max_workers=len(posts), thread_name_prefix="alert-sink")
    try:
        futures = {
            name: pool.submit(post, url, payload, timeout_seconds, retry=policy)
            for name, (url, payload) in posts.items()
        }
        wait(futures.values(), timeout=bound_seconds + GRACE_SECONDS)
    finally:
        # Never wait here for a thread that overran: its attempt times out on its own.
        pool.shutdown(wait=False, cancel_futures=True)
    outcomes: dict[str, str | None] = {}
    for name, future in futures.items():
        if not future.done():
            outcomes[name] = f"no answer within the {bound_seconds:g}s bound"
        elif (error := future.exception()) is not None:
            outcomes[name] = f"{type(error).__name__} while posting"  # its text may hold the URL
        else:
            outcomes[name] = future.result()
    return outcomes
