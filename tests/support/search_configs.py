"""Small search-pipeline settings shared by the tests.

The fine-tuning is bound by its example count, never by the clock: the wall-clock bound also
drives the learning-rate schedule (``TrainingBudget.progress``), so a 30-second bound trained a
different model on a loaded CI machine than on a quiet one, and the behaviour tests that read
the served index (typo and synonym queries) passed or failed with the machine's load.
"""

from __future__ import annotations

from vitrina.core.search.semantic.finetune import FinetuneConfig

STEP_BOUND_FINETUNE = FinetuneConfig(max_examples=512, max_seconds=600, batch_size=32, show_progress=False)
