"""Recommendations ("Para ti"): dataset, candidates, cold start, the full model, re-ranking."""
