"""Read what the text stages of search learn from, out of the validated lake.

:class:`~vitrina.core.search.corpus.SearchInputs` and the pure functions over it live in the
core; this step is the one reader of the lake that fills it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.config import Settings
from vitrina.core.search.corpus import SearchInputs
from vitrina.core.search.synonyms import SynonymTable


def read_search_inputs(settings: Settings) -> SearchInputs:
    """Read the validated catalog and search logs through DuckDB. Synonyms, in the shop's
    language, come from the lake's ``synonyms`` table; when it is empty, from the shop file's
    ``synonyms_file``, else from the starter file of the language shipped with vitrina."""
    with Warehouse.from_settings(settings) as warehouse:
        catalog = warehouse.df("SELECT * FROM catalog ORDER BY product_id")
        logs = warehouse.df("SELECT query, results_clicked FROM search_logs ORDER BY ts, search_id")
        synonym_rows = warehouse.df("SELECT term, synonyms, category_scope FROM synonyms")
    if catalog.empty:
        raise ValueError(f"no validated catalog under {settings.lake}: run `vitrina data validate` first")
    logs["results_clicked"] = [list(c) if c is not None else [] for c in logs["results_clicked"]]
    shop = settings.shop
    synonyms = (
        SynonymTable.from_frame(synonym_rows, shop.language)
        if not synonym_rows.empty
        else SynonymTable.from_csv(shop.synonyms_file, shop.language)
    )
    return SearchInputs(catalog, logs, synonyms)


def text_inputs(settings: Settings) -> dict[str, str | None]:
    """What a build's text analysis depends on besides the lake's tables: the shop's language
    and the content hash of its synonyms file (None when it has none)."""
    shop = settings.shop
    digest = None
    if shop.synonyms_file is not None:
        digest = hashlib.sha256(Path(shop.synonyms_file).read_bytes()).hexdigest()
    return {"language": shop.language, "synonyms_file": digest}
