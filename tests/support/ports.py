"""A free TCP port on the loopback, for the tests that start a real server process."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port the kernel just handed out and released: free unless another process races for it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
