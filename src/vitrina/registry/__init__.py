"""MLflow tracking and model registry (aliases champion / challenger), the registration gate,
and model cards (SPEC §5.1–§5.3, ADR-0004). Modules import MLflow lazily: nothing at import time."""
