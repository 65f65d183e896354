"""Ingestion from external sources into ``raw/``."""
