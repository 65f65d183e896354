"""What the online side reads: the serving store of precomputed recommendations (SPEC §6).

The API (FastAPI) and the console read through :mod:`vitrina.serving.stores`; the batch
pipeline writes through :mod:`vitrina.recs.batch`. Nothing here connects at import time.
"""
