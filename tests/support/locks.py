"""A home whose run lock another thread holds, as a running pipeline would."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vitrina.adapters.home_lock import home_lock


@contextmanager
def lock_held_elsewhere(home: Path, command: str = "vitrina train all") -> Iterator[Path]:
    """Hold ``home``'s run lock in a background thread for the duration of the block."""
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with home_lock(home, command=command):
            held.set()
            release.wait(60)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(10), "the holder thread never took the lock"
        yield home
    finally:
        release.set()
        thread.join(10)
