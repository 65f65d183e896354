"""``vitrina serve`` under granian (``VITRINA_SERVER=granian``): the header deadline in
granian's unit and the dispatch from :func:`vitrina.serving.worker.serve`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from vitrina.adapters.prometheus import multiprocess
from vitrina.config import get_settings
from vitrina.serving import granian_server, worker
from vitrina.serving.console.auth import TOKEN_ENV

pytestmark = pytest.mark.unit


def test_the_header_deadline_is_whole_milliseconds_within_granians_bounds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert granian_server.header_timeout_ms(5.0) == 5000
    assert granian_server.header_timeout_ms(0.0004) == 1  # never 0: granian refuses it
    assert granian_server.header_timeout_ms(2.0001) == 2001  # rounded up, never shorter than set
    with caplog.at_level(logging.WARNING, logger=granian_server.__name__):
        assert granian_server.header_timeout_ms(600.0) == granian_server.MAX_HEADER_TIMEOUT_MS
    assert "cut to 60 s" in caplog.text


def test_serve_runs_granian_when_the_setting_asks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
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
    calls: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(granian_server, "run", lambda factory, **kwargs: calls.append((factory, kwargs)))
    settings = get_settings(home=tmp_path, job_runner=False, server="granian", header_timeout_seconds=3.5)
    worker.serve(settings, host="127.0.0.1", port=8124, log_level="warning", workers=2)
    ((factory, kwargs),) = calls
    assert factory == worker.FACTORY
    assert kwargs == {
        "host": "127.0.0.1",
        "port": 8124,
        "workers": 2,
        "header_timeout_seconds": 3.5,
        "log_level": "WARNING",
    }
