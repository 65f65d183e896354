"""``vitrina serve``: uvicorn over the API, in one process or in N worker processes.

uvicorn starts worker processes by *spawning* fresh interpreters that import an app factory,
so the app cannot be handed over as an object: :func:`app_from_environment` builds it in each
worker from the environment (the ``VITRINA_*`` settings, ``VITRINA_HOME`` included, which
:func:`serve` exports for ``--home``), after configuring the JSON logs at
``VITRINA_SERVE_LOG_LEVEL``. Every worker loads its own copy of the models and indexes, and
the kernel spreads connections over the workers of the one listening socket.

What several workers share, and how:

- metrics — prometheus_client's multiprocess mode, in a folder emptied here before the
  workers start (:mod:`vitrina.adapters.prometheus.multiprocess`);
- admin changes — :mod:`vitrina.serving.reload_signal` (each worker follows within ~1 s);
- the serving store and the search result cache — SQLite in WAL mode (one connection per
  worker; readers never block each other or the batch writer) or Redis;
- request limits — the body's size and read time in the app (:mod:`vitrina.serving.limits`),
  the headers' read time in uvicorn's protocol (:mod:`vitrina.serving.protocol`);
- the embedded event buffer — SQLite in WAL mode; appends are transactions that SQLite
  serialises across processes (:mod:`vitrina.adapters.events.sqlite_buffer`);
- the console's token — drawn here when ``VITRINA_CONSOLE_TOKEN`` is unset and exported
  before the workers start, so they all inherit it (:mod:`vitrina.serving.console.auth`). The
  environment rather than a file in the home: the token dies with the server, and no
  readable copy is left behind for a backup or a shared volume to carry.

Batch work never runs in a worker: an admin promote of ``vitrina-recs`` queues a job
(:mod:`vitrina.adapters.jobs`), and :func:`job_runner` starts the process that runs it —
``python -m vitrina.pipelines.jobs_runner``, named as a module so serving imports none of
the pipelines — beside the workers, and stops it with them (``VITRINA_JOB_RUNNER=off``
leaves the jobs to a runner started elsewhere).
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
from collections.abc import Iterator

from fastapi import FastAPI

from vitrina.adapters.prometheus import multiprocess
from vitrina.config import Settings, get_settings
from vitrina.serving.app import create_app
from vitrina.serving.console.auth import TOKEN_ENV, TOKEN_PARAM, new_token
from vitrina.serving.request_logs import configure_logging

LOG_LEVEL_ENV = "VITRINA_SERVE_LOG_LEVEL"
FACTORY = f"{__name__}:app_from_environment"
PROTOCOL = "vitrina.serving.protocol:HeaderDeadlineProtocol"
HEADER_TIMEOUT_ENV = "VITRINA_HEADER_TIMEOUT_SECONDS"
JOB_RUNNER = "vitrina.pipelines.jobs_runner"
STOP_SECONDS = 15.0  # a runner cut short re-queues its job and exits at once
# uvicorn's supervisor pings each worker every half second and kills one that has not answered
# in this many seconds (its default, 5, restarts workers for ever on a busy host: the answer
# comes from a thread of the worker, which waits for the interpreter lock while the worker
# imports and loads its models, and that load takes longer the more the cores are shared).
WORKER_HEALTHCHECK_SECONDS = 60

log = logging.getLogger(__name__)


def app_from_environment() -> FastAPI:
    """The app of one worker (uvicorn's factory): settings from the environment."""
    configure_logging(os.environ.get(LOG_LEVEL_ENV, "INFO"))
    return create_app(get_settings(), warm_console=True)


def console_link(settings: Settings, host: str, port: int) -> str | None:
    """The line that tells where the console is, drawing its token first when none is
    configured (exported for the workers); None when the console is off."""
    if not settings.console:
        return None
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    url = f"http://{shown}:{port}/console/"
    if settings.console_token is not None and settings.console_token.get_secret_value():
        return f"console: {url} (sign in with ?{TOKEN_PARAM}= and the value of {TOKEN_ENV})"
    token = new_token()
    os.environ[TOKEN_ENV] = token
    return f"console: {url}?{TOKEN_PARAM}={token}"


@contextlib.contextmanager
def job_runner(settings: Settings) -> Iterator[subprocess.Popen[bytes] | None]:
    """The job runner process for ``settings``' home while the block runs (None when
    ``settings.job_runner`` is off): started with this process as its parent (it stops by
    itself should this one die), stopped with SIGTERM at the end."""
    if not settings.job_runner:
        yield None
        return
    command = [sys.executable, "-m", JOB_RUNNER, "--home", str(settings.home.resolve())]
    process = subprocess.Popen([*command, "--parent-pid", str(os.getpid())])
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                log.warning("the job runner (pid %s) did not stop in time: killing it", process.pid)
                process.kill()
                process.wait()


def serve(settings: Settings, *, host: str, port: int, log_level: str, workers: int = 1) -> None:
    """Run the API on ``host:port`` with ``workers`` processes, and the job runner beside
    them, until interrupted; print the console's link first."""
    import uvicorn

    level = log_level.upper()
    configure_logging(level)
    link = console_link(settings, host, port)
    if link is not None:
        print(link, flush=True)
    os.environ["VITRINA_HOME"] = str(settings.home.resolve())
    os.environ[LOG_LEVEL_ENV] = level
    os.environ[HEADER_TIMEOUT_ENV] = str(settings.header_timeout_seconds)  # read by PROTOCOL
    if workers > 1 or multiprocess.stores_in_files():
        # Workers sum their values through one folder. A single process that inherited the
        # variable (from a shell, or a library that set it) already stores its values in
        # files: without a folder of its own, every request would fail to count itself.
        folder = settings.home / "serving" / "run" / f"prometheus-{port}"
        os.environ[multiprocess.ENV] = str(multiprocess.prepare_dir(folder).resolve())
    else:
        os.environ.pop(multiprocess.ENV, None)  # one process: its own registry, as in tests
    with job_runner(settings):
        uvicorn.run(
            FACTORY,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            access_log=False,
            http=PROTOCOL,  # a deadline on request headers (uvicorn has none)
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        )
