"""MLflow tracking and the model registry: runs, registered versions, aliases, model cards."""
