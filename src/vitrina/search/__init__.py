"""Product search (SPEC §4): query understanding, BM25 + semantic hybrid retrieval, LambdaRank, rules."""
