"""``vitrina serve``'s settings for uvicorn's worker supervisor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from vitrina.adapters.prometheus import multiprocess
from vitrina.config import get_settings
from vitrina.serving import worker
from vitrina.serving.console.auth import TOKEN_ENV

pytestmark = pytest.mark.unit


def test_workers_get_a_minute_to_answer_the_supervisors_ping(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn

    for name in (
        "VITRINA_HOME",
        worker.LOG_LEVEL_ENV,
        worker.HEADER_TIMEOUT_ENV,
        multiprocess.ENV,
        TOKEN_ENV,
    ):
        monkeypatch.setenv(name, "")  # whatever serve() exports is undone after the test
        monkeypatch.delenv(name)
    monkeypatch.setenv(TOKEN_ENV, "a-configured-token")
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append(kwargs))
    settings = get_settings(home=tmp_path, job_runner=False)
    worker.serve(settings, host="127.0.0.1", port=8123, log_level="warning", workers=2)
    (kwargs,) = calls
    assert kwargs["workers"] == 2
    assert kwargs["timeout_worker_healthcheck"] == worker.WORKER_HEALTHCHECK_SECONDS >= 30
