"""Data contracts for the canonical tables (SPEC §1) and the quarantine."""
