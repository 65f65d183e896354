"""Pipelines: ordered, orchestrator-agnostic steps wiring the packages (docs/spec.md §5.5)."""
