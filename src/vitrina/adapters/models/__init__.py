"""Trained models in the lake: the recs bundle, search index versions and their pointer."""
