"""What one run of the search pipeline is told (:class:`SearchConfig`) and what it produced
(:class:`SearchRun`): shared by the pipeline's steps, the loop and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vitrina.adapters.step_ledger import StepEvent
from vitrina.core.search.semantic.finetune import FinetuneConfig


@dataclass(frozen=True)
class SearchConfig:
    """Knobs of one run; defaults sized for the demo on 2 cores."""

    seed: int = 42
    eval_days: int = 7
    ranker_days: int = 14
    n_trials: int = 3
    max_train_searches: int = 4_000
    max_eval_searches: int = 3_000
    ranker_valid_share: float = 0.2
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    finetune_on_judgments: bool = True
    """Without search logs, fine-tune the encoder on a quarter of the judged queries."""
    evaluate: bool = True
    switch: bool = True


@dataclass
class SearchRun:
    """What a run produced."""

    run_id: str
    version: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    registration: str | None = None
    steps: list[StepEvent] = field(default_factory=list)
    judged_queries: list[str] = field(default_factory=list)
    """The shop's judged query texts (the behaviour tests' queries when there are no logs)."""
    search_logs: dict[str, int] = field(default_factory=dict)
    """How many validated search logs the run read (``rows``), ``live`` of them derived from
    the API's own traffic (:mod:`vitrina.pipelines.search.live_logs`), ``live_learnt`` of
    those before the held-out days."""
