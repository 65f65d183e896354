"""Named pipeline steps with a progress line and their durations, shared by every pipeline."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console


class StepTimer:
    """Runs named steps under a spinner and records their duration in ``seconds``."""

    def __init__(self, console: Console, pipeline: str, seconds: dict[str, float]) -> None:
        self.console = console
        self.pipeline = pipeline
        self.seconds = seconds

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        with self.console.status(f"[bold]{self.pipeline}[/] · {name}…"):
            yield
        elapsed = time.perf_counter() - started
        self.seconds[name] = round(elapsed, 2)
        self.console.print(f"[green]✓[/] {name} [dim]{elapsed:.1f} s[/]")
