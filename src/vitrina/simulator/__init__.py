"""Synthetic marketplace with hidden ground truth (docs/spec.md §2)."""
