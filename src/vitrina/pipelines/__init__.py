"""Pipelines: ordered, orchestrator-agnostic steps wiring the packages (SPEC §5.5)."""
