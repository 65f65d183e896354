"""Data contracts for the canonical tables (docs/spec.md §1) and the quarantine."""
