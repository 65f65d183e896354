"""Synthetic marketplace with hidden ground truth (SPEC §2)."""
