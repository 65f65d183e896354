"""Small search-pipeline settings shared by the tests.

The fine-tuning is bound by its example count (ADR-0027: the learning-rate schedule follows the
planned steps); the wall-clock safety stop sits far above what 16 steps take on a loaded CI
machine, so the behaviour tests that read the served index (typo and synonym queries) read the
same model whatever the machine's load.
"""

from __future__ import annotations

from vitrina.core.search.semantic.finetune import FinetuneConfig

STEP_BOUND_FINETUNE = FinetuneConfig(max_examples=512, max_seconds=600, batch_size=32, show_progress=False)
