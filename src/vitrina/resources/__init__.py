"""Curated data files shipped with vitrina (read with :mod:`importlib.resources`)."""
