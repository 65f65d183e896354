"""Ingestion from external sources (PostgreSQL) into ``raw/``."""
