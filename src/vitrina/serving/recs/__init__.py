"""``GET /recs/{user_id}``: the precomputed list, its fast path and the popularity fallback."""
