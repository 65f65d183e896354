"""The step ledger: idempotent pipeline steps keyed on the content hash of their inputs.

Every step of a pipeline leaves one JSON record under
``<lake>/state/steps/<pipeline>/<step>.json``::

    {"pipeline", "step", "status": "done" | "failed", "inputs_hash", "inputs",
     "outputs", "run_id", "started_at", "finished_at", "seconds", "message"}

``inputs`` is what the step's result depends on — validated table digests
(:mod:`vitrina.adapters.lake.digest`), upstream artifacts (a champion version, a served index
version), the run's config — and ``inputs_hash`` is the SHA-256 of its canonical JSON.
:meth:`Ledger.run` skips the work ("reused") when the last record is ``done`` with the same
hash and every URL it listed under ``outputs["artifacts"]`` still exists; otherwise it runs
the step and overwrites the record. A step that raises — while its inputs are hashed or
while it works — is recorded ``failed`` with the message and re-raised as
:class:`StepFailedError`, so the pipeline stops before anything downstream (publishing) and the
CLI can say which step failed. ``force`` ignores the records (but still writes them).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeVar

from rich.console import Console

from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings
from vitrina.core.artifacts.files import filesystem, read_json, write_json_atomic

Status = Literal["done", "failed"]
Outcome = Literal["ran", "reused", "failed", "skipped"]
T = TypeVar("T")
ARTIFACTS = "artifacts"  # outputs key: URLs that must still exist for a reuse


class StepFailedError(RuntimeError):
    """A pipeline step raised; ``str()`` names the pipeline, the step and the cause."""

    def __init__(self, pipeline: str, step: str, message: str) -> None:
        super().__init__(f"{pipeline} · {step} failed: {message}")
        self.pipeline = pipeline
        self.step = step
        self.message = message


@dataclass(frozen=True)
class StepRecord:
    """One step's last execution, as stored in its JSON file."""

    pipeline: str
    step: str
    status: Status
    inputs_hash: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    run_id: str
    started_at: str
    finished_at: str
    seconds: float
    message: str = ""

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> StepRecord:
        return cls(**{name: payload[name] for name in cls.__dataclass_fields__ if name in payload})


@dataclass(frozen=True)
class StepEvent:
    """What happened to a step in this run (for the run's summary table)."""

    pipeline: str
    step: str
    outcome: Outcome
    seconds: float
    detail: str = ""


def canonical(value: Any) -> Any:
    """``value`` as plain JSON types (dataclasses, dates and paths included), so equal inputs
    hash equally across runs."""
    return json.loads(json.dumps(value, sort_keys=True, default=_default))


def _default(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def inputs_hash(inputs: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``inputs``."""
    text = json.dumps(canonical(dict(inputs)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def cache(compute: Callable[[], T]) -> Callable[[], T]:
    """``compute`` run at most once (input digests shared by several steps of one run)."""
    return functools.cache(compute)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _exists(url: str) -> bool:
    fs, path = filesystem(url)
    return bool(fs.exists(path))


@dataclass
class Ledger:
    """The records of one pipeline (``<lake>/state/steps/<pipeline>/``) and this run's events."""

    settings: Settings
    pipeline: str
    run_id: str
    console: Console
    force: bool = False
    events: list[StepEvent] = field(default_factory=list)

    def url(self, step: str) -> str:
        safe = step.replace("/", "_").replace(" ", "_")
        return f"{LakePaths(self.settings.lake).layer('state')}/steps/{self.pipeline}/{safe}.json"

    def last(self, step: str) -> StepRecord | None:
        """The step's stored record (None before its first run)."""
        payload = read_json(self.url(step))
        return StepRecord.from_dict(payload) if isinstance(payload, dict) else None

    def reusable(self, step: str, digest: str) -> StepRecord | None:
        """The last ``done`` record with this inputs hash whose artifacts still exist."""
        record = self.last(step)
        if self.force or record is None or record.status != "done" or record.inputs_hash != digest:
            return None
        if not all(_exists(str(url)) for url in record.outputs.get(ARTIFACTS, [])):
            return None
        return record

    def run(
        self,
        step: str,
        inputs: Callable[[], Mapping[str, Any]],
        work: Callable[[], Mapping[str, Any]],
        detail: Callable[[Mapping[str, Any]], str] | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """(outputs, reused): the stored outputs when the inputs did not change, else ``work()``'s.

        ``inputs`` is called first (hashing tables reads them, so it may fail like a step).
        ``detail`` turns a run's outputs into the sentence its row of the run's table shows
        (what an intake step moved, say); without it a step that ran shows none.
        """
        started, clock = _now(), time.perf_counter()
        digest, resolved = "", {}
        try:
            resolved = canonical(dict(inputs()))
            digest = inputs_hash(resolved)
            reused = self.reusable(step, digest)
            if reused is not None:
                self.console.print(
                    f"[cyan]↺[/] {self.pipeline} · {step} [dim]reused: inputs unchanged since run "
                    f"{reused.run_id} ({reused.finished_at})[/]"
                )
                self.events.append(StepEvent(self.pipeline, step, "reused", 0.0, f"run {reused.run_id}"))
                return dict(reused.outputs), True
            self.console.print(f"[bold]▶ {self.pipeline} · {step}[/]")
            outputs = canonical(dict(work()))  # its sub-steps show their own progress
        except Exception as error:
            message = f"{type(error).__name__}: {error}"
            seconds = round(time.perf_counter() - clock, 2)
            self._write(step, "failed", digest, resolved, {}, started, seconds, message)
            self.events.append(StepEvent(self.pipeline, step, "failed", seconds, message))
            raise StepFailedError(self.pipeline, step, message) from error
        seconds = round(time.perf_counter() - clock, 2)
        self._write(step, "done", digest, resolved, outputs, started, seconds)
        self.events.append(StepEvent(self.pipeline, step, "ran", seconds, detail(outputs) if detail else ""))
        self.console.print(f"[green]✓[/] {self.pipeline} · {step} [dim]{seconds:.1f} s[/]")
        return outputs, False

    def record(self, step: str, inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> None:
        """Store a ``done`` record for work another step already did (e.g. a full retrain
        also publishes the index a re-index would have built), so the next run reuses it."""
        resolved = canonical(dict(inputs))
        self._write(step, "done", inputs_hash(resolved), resolved, canonical(dict(outputs)), _now(), 0.0)

    def skipped(self, step: str, detail: str) -> None:
        """Note in this run's events that a step was not needed (its record is left as is)."""
        self.events.append(StepEvent(self.pipeline, step, "skipped", 0.0, detail))
        self.console.print(f"[dim]– {self.pipeline} · {step} skipped: {detail}[/]")

    def _write(
        self,
        step: str,
        status: Status,
        digest: str,
        inputs: dict[str, Any],
        outputs: dict[str, Any],
        started: str,
        seconds: float,
        message: str = "",
    ) -> None:
        record = StepRecord(
            self.pipeline,
            step,
            status,
            digest,
            inputs,
            outputs,
            self.run_id,
            started,
            _now(),
            seconds,
            message,
        )
        write_json_atomic(asdict(record), self.url(step))
