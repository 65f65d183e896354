"""``GET /search``: the served engine behind the result cache, and its warm-up."""
