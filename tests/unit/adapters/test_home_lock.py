"""The home's run lock: one holder at a time (other threads and other descriptors included), a
message naming the holder, re-entry by nested calls in one thread, waiting, and no lock left
behind by a holder that died."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support.locks import lock_held_elsewhere

from vitrina.adapters.home_lock import (
    LOCK_FILE,
    HomeLockedError,
    holds_home_lock,
    home_lock,
    lock_path,
)
from vitrina.config import get_settings

pytestmark = pytest.mark.unit


def _attempt_in_thread(home: Path) -> BaseException | None:
    """Try the lock from another thread; the error it got (None when it got the lock)."""
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            with home_lock(home):
                outcome.append(None)
        except HomeLockedError as error:
            outcome.append(error)

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join(timeout=10)
    assert outcome, "the other thread neither got the lock nor was refused"
    return outcome[0]


def test_another_thread_is_refused_with_the_holders_identity(tmp_path: Path) -> None:
    with home_lock(tmp_path, command="vitrina train recs") as path:
        assert path == tmp_path.resolve() / LOCK_FILE
        error = _attempt_in_thread(tmp_path)
        assert isinstance(error, HomeLockedError)
        message = str(error)
        assert message.startswith(f"another vitrina run holds {path}: ")
        assert f"pid {os.getpid()} on {socket.gethostname()}" in message
        assert "'vitrina train recs'" in message
        assert "since 20" in message
        assert "wait for it or stop it" in message
        identity = json.loads(path.read_text())
        assert identity["pid"] == os.getpid()
        assert identity["command"] == "vitrina train recs"
    assert path.read_text() == ""  # released: no identity of a holder that is gone
    assert _attempt_in_thread(tmp_path) is None


def test_another_descriptor_holding_the_file_refuses_the_lock(tmp_path: Path) -> None:
    path = lock_path(tmp_path)
    with path.open("a+") as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(HomeLockedError, match="has not written its identity yet"), home_lock(tmp_path):
            pass
    with home_lock(tmp_path):
        pass


def test_nested_calls_in_one_thread_reenter_and_release_once(tmp_path: Path) -> None:
    settings = get_settings(home=tmp_path)
    seen: list[str] = []

    @holds_home_lock
    def inner(settings: object, label: str) -> str:
        seen.append(label)
        return label

    @holds_home_lock
    def outer(settings: object) -> str:
        return inner(settings, "inner")  # type: ignore[arg-type]

    with home_lock(settings, command="outer command"):
        assert outer(settings) == "inner"  # type: ignore[arg-type]
        assert json.loads(lock_path(tmp_path).read_text())["command"] == "outer command"
        assert isinstance(_attempt_in_thread(tmp_path), HomeLockedError)
    assert seen == ["inner"]
    assert _attempt_in_thread(tmp_path) is None


def test_a_waiting_run_gets_the_lock_when_the_holder_finishes(tmp_path: Path) -> None:
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with home_lock(tmp_path, command="first"):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(10)
    with pytest.raises(HomeLockedError), home_lock(tmp_path, wait_seconds=0):  # no wait: refused at once
        pass
    threading.Timer(0.5, release.set).start()
    started = time.monotonic()
    with home_lock(tmp_path, command="second", wait_seconds=10):
        waited = time.monotonic() - started
        assert json.loads(lock_path(tmp_path).read_text())["command"] == "second"
    thread.join(10)
    assert 0.3 < waited < 5


def test_the_wait_comes_from_the_settings(tmp_path: Path) -> None:
    settings = get_settings(home=tmp_path, lock_wait_seconds=0.4)
    with home_lock(tmp_path, command="holder"):
        outcome: list[float] = []

        def attempt() -> None:
            started = time.monotonic()
            with pytest.raises(HomeLockedError), home_lock(settings):
                pass
            outcome.append(time.monotonic() - started)

        thread = threading.Thread(target=attempt)
        thread.start()
        thread.join(10)
    assert outcome
    assert 0.35 < outcome[0] < 3


HOLDER = """
import sys, time
from vitrina.adapters.home_lock import home_lock
with home_lock(sys.argv[1], command="killed holder"):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_holder_killed_with_sigkill_leaves_the_home_unlocked(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        refused = pytest.raises(HomeLockedError, match=rf"pid {holder.pid} on .*'killed holder'")
        with refused, home_lock(tmp_path):
            pass
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
    assert "killed holder" in lock_path(tmp_path).read_text()  # its identity is left behind …
    with home_lock(tmp_path, command="next run"):  # … but the kernel released the lock
        assert json.loads(lock_path(tmp_path).read_text())["command"] == "next run"


LOCKED_COMMANDS = [
    ["data", "validate"],
    ["data", "import", "mapping.yaml"],
    ["data", "generate", "--scale", "ci"],
    ["demo", "--scale", "ci"],
    ["train", "recs"],
    ["train", "search"],
    ["train", "search", "--incremental"],
    ["drift"],
    ["train", "all", "--quick"],
    ["models", "promote", "vitrina-recs"],
    ["models", "rollback", "vitrina-recs"],
    ["models", "publish"],
]


@pytest.mark.slow
@pytest.mark.parametrize("command", LOCKED_COMMANDS, ids=" ".join)
def test_every_command_that_writes_refuses_a_locked_home_before_touching_it(
    tmp_path: Path, command: list[str]
) -> None:
    from typer.testing import CliRunner

    from vitrina.adapters.home_lock import BUSY_EXIT_CODE
    from vitrina.cli.main import app

    with lock_held_elsewhere(tmp_path, command="vitrina train all"):
        result = CliRunner().invoke(app, [*command, "--home", str(tmp_path)])
    assert result.exit_code == BUSY_EXIT_CODE, result.output
    flat = " ".join(result.output.split())
    assert f"another vitrina run holds {lock_path(tmp_path)}: pid {os.getpid()}" in flat
    assert "'vitrina train all'" in flat
    assert sorted(p.name for p in tmp_path.iterdir()) == [LOCK_FILE]  # nothing read or written
