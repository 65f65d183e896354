"""Product search: query understanding, BM25 + semantic retrieval, ranking features, rules."""
