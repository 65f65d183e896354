"""Named pipeline steps with a progress line and their durations (shared by the pipelines)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console


class Steps:
    """Runs ``with steps.step(name):`` blocks under a spinner and records seconds per step."""

    def __init__(self, console: Console, label: str) -> None:
        self.console = console
        self.label = label
        self.seconds: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        with self.console.status(f"[bold]{self.label}[/] · {name}…"):
            yield
        seconds = time.perf_counter() - started
        self.seconds[name] = round(seconds, 2)
        self.console.print(f"[green]✓[/] {name} [dim]{seconds:.1f} s[/]")
