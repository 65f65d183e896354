"""One line per request of a running experiment in the request log (arm, status, latency).

Written by :class:`~vitrina.serving.recs.answer.RecsService` (so both the ``/recs`` route and
its fast lane log) and by the ``/search`` route.

The canary's error-rate, degraded-answers and latency guardrails read these lines
(:mod:`vitrina.pipelines.canary_traffic`); the request id ties an event (a click, a
purchase) back to the arm that answered it, so a session keeps the arm it was served under
even after a ramp-up moved its user into the challenger.
"""

from __future__ import annotations

import time

from vitrina.adapters.experiment_logs import JsonLinesLog
from vitrina.serving.experiment_config import CHALLENGER, CHAMPION, SurfaceExperiment


def shown_arm(experiment: SurfaceExperiment, user_id: str | None) -> str:
    """The arm whose answer the user is shown (the champion's for a shadowed challenger)."""
    arm = experiment.arm(user_id)
    return CHAMPION if experiment.shadow and arm == CHALLENGER else arm


def log_request(
    request_log: JsonLinesLog | None,
    surface: str,
    experiment: str,
    arm: str,
    user_id: str | None,
    request_id: str,
    started: float,
    status: int,
    degraded: bool = False,
) -> None:
    """Queue the request's line (nothing without a log)."""
    if request_log is None:
        return
    request_log.record(
        {
            "surface": surface,
            "experiment": experiment,
            "arm": arm,
            "user_id": user_id,
            "request_id": request_id,
            "status": status,
            "ms": round((time.perf_counter() - started) * 1000, 3),
            "degraded": degraded,
        }
    )
