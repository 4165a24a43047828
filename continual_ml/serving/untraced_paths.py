"""Requests to untraced paths handed straight past BentoML's tracing middleware.

With per-request telemetry off, the service excludes its scoring paths from tracing. The
OpenTelemetry middleware BentoML puts in front of every request still rebuilds each request's
full URL and matches it against the excluded patterns before passing it on, ~5% of the CPU of a
`/predict`. The subclass passes the given paths on at once: untraced, as they were.
"""

from __future__ import annotations

from continual_ml.models.bentoml_internals import replace_tracing_middleware, tracing_middleware


def untraced_paths(paths: frozenset[str]) -> None:
    """Make BentoML's tracing middleware pass `paths` on untraced without matching their URL.

    Call before the server builds its app, with paths that are also in its excluded URLs.
    """
    base = tracing_middleware()
    if getattr(base, "untraced_by_continual_ml", None) is not None:
        return

    class UntracedPaths(base):
        untraced_by_continual_ml = paths

        async def __call__(self, scope, receive, send):
            if scope["type"] == "http" and scope["path"] in paths:
                return await self.app(scope, receive, send)
            return await super().__call__(scope, receive, send)

    replace_tracing_middleware(UntracedPaths)
