"""Offline evaluation that needs no I/O: temporal split, behaviour tests, search ranking metrics."""
