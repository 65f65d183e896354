"""Recommendations ("Para ti"): data, candidates, ranking, re-ranking, batch inference (SPEC §3)."""
