"""Drift statistics and decisions over a reference and a current window (pure numpy/scipy)."""
