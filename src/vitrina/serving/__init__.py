"""What the online side reads: the serving store of precomputed recommendations (docs/spec.md §6).

The API (FastAPI) and the console read through :mod:`vitrina.adapters.stores`; the batch
pipeline writes through :mod:`vitrina.pipelines.recs.batch`. Nothing here connects at import time.
"""
