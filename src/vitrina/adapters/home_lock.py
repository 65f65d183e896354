"""One pipeline at a time per home: an exclusive lock on ``<home>/.run.lock``.

Two runs on one home would both read the same ledger records and the same champion, both
register a version and both publish, and the step ledger and the registry would then disagree
about which run made what. Every command that writes the step ledger, the registry, the serving
store, ``validated/`` or the generated lake therefore runs under this lock; a second one fails at
once with :class:`HomeLockedError`, whose message names the holder (pid, host, command, start).

Why ``fcntl.flock`` on a file opened per acquisition:

* the kernel releases the lock when its holder dies, ``kill -9`` included, so a crash never
  leaves the home locked; the holder's identity text left behind is overwritten by the next one;
* ``flock`` excludes *open file descriptions*, not processes: two threads sharing one descriptor
  would both "hold" it. Each acquisition opens its own descriptor, so another thread of the same
  process (an API admin request beside another) is refused like another process. Nested calls
  in one thread (``run all`` → ``run recs``, ``vitrina models promote`` → ``promote_model``) re-enter
  the lock their thread already holds.

The lock guards the home (ledger, MLflow store, serving store, lake under it) on one machine:
two machines sharing a remote lake (``VITRINA_LAKE_URL=s3://…``) are not serialised by it.
``VITRINA_LOCK_WAIT_SECONDS`` makes a run wait that long for the holder instead of failing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import functools
import json
import os
import shlex
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from vitrina.config import Settings

LOCK_FILE = ".run.lock"
BUSY_EXIT_CODE = 75  # sysexits.h EX_TEMPFAIL: try again later
POLL_SECONDS = 0.2

P = ParamSpec("P")
R = TypeVar("R")

_held = threading.local()  # {lock path: depth} of the locks this thread holds


class HomeLockedError(RuntimeError):
    """Another run holds the home; ``str()`` names the lock file and its holder."""

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(
            f"another vitrina run holds {path}: {holder}; wait for it or stop it "
            "(VITRINA_LOCK_WAIT_SECONDS makes a run wait for the lock)"
        )
        self.path = path
        self.holder = holder


def lock_path(home: Path | str) -> Path:
    """``<home>/.run.lock`` (absolute, so the message names it unambiguously)."""
    return Path(home).resolve() / LOCK_FILE


def current_command() -> str:
    """This process's command line, ``vitrina …`` for the CLI."""
    argv = sys.argv or ["python"]
    name = Path(argv[0]).name
    return shlex.join(["vitrina" if name == "vitrina" else argv[0], *argv[1:]])


def describe_holder(text: str) -> str:
    """The holder's identity as one phrase, from the lock file's JSON text."""
    try:
        who = json.loads(text)
        return f"pid {who['pid']} on {who['host']}, {who['command']!r}, since {who['started_at']}"
    except (ValueError, KeyError, TypeError):
        return "a holder that has not written its identity yet"


def _depths() -> dict[Path, int]:
    depths: dict[Path, int] | None = getattr(_held, "depths", None)
    if depths is None:
        depths = _held.depths = {}
    return depths


def _read(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 4096).decode("utf-8", "replace")


def _acquire(fd: int, path: Path, wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as error:
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
        if time.monotonic() >= deadline:
            raise HomeLockedError(path, describe_holder(_read(fd)))
        time.sleep(POLL_SECONDS)


def _write_identity(fd: int, command: str) -> None:
    identity = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command,
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(identity) + "\n").encode(), 0)


@contextlib.contextmanager
def home_lock(
    home: Settings | Path | str, command: str | None = None, wait_seconds: float | None = None
) -> Iterator[Path]:
    """Hold the home's run lock for the ``with`` block; yields the lock file's path.

    ``command`` is what the holder's identity says it runs (default: this process's command
    line); ``wait_seconds`` how long to wait for another holder (default: the settings'
    ``lock_wait_seconds``, else 0). Raises :class:`HomeLockedError` when it is held elsewhere.
    """
    if isinstance(home, Settings):
        wait = home.lock_wait_seconds if wait_seconds is None else wait_seconds
        folder = Path(home.home)
    else:
        wait, folder = wait_seconds or 0.0, Path(home)
    folder.mkdir(parents=True, exist_ok=True)
    path = lock_path(folder)
    depths = _depths()
    if path in depths:  # this thread already holds it: a nested call
        depths[path] += 1
        try:
            yield path
        finally:
            depths[path] -= 1
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        _acquire(fd, path, wait)
        _write_identity(fd, command or current_command())
        depths[path] = 1
        try:
            yield path
        finally:
            del depths[path]
            os.ftruncate(fd, 0)  # no stale identity while nobody holds it
    finally:
        os.close(fd)  # closing the last descriptor releases the flock


def holds_home_lock(func: Callable[Concatenate[Settings, P], R]) -> Callable[Concatenate[Settings, P], R]:
    """Run ``func(settings, …)`` under ``settings.home``'s lock (re-entered by nested calls)."""

    @functools.wraps(func)
    def locked(settings: Settings, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with home_lock(settings):
            return func(settings, *args, **kwargs)

    return locked
