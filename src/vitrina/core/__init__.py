"""The pure core: models, ranking, metrics, experiment and drift statistics.

Numpy/pandas in, numpy/pandas out. Nothing here reads settings, the lake layout, the serving
stores or any service; a model writes its own files only at a path its caller gives
(docs/adr/0016-layers.md). The import contracts in ``pyproject.toml`` hold the rule."""
