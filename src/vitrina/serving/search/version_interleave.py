"""Team-draft interleaving of two index *versions*: the champion's and the registered challenger's.

Two modes of one index draft rows of the same product table; two versions have a product
table each (built at different times, the champion's re-indexed since), so their rows do not
name the same products and the draft is by **product id** instead. A product the served
(champion's) index lacks — withdrawn from the catalog since the challenger's index was built —
is skipped in the challenger's ranking: the list shows the catalog as the shop serves it now.
A product only the champion's index holds (one that arrived since) is the champion's to draft;
the challenger simply cannot rank it, as it could not if it served alone.

Each shown item keeps the title, brand, price and score of the version that drafted it and is
labelled with its team (champion | challenger): the answer log keeps the labels, and the
interleaving verdict (:mod:`vitrina.core.experiments.interleave_verdict`) credits clicks to them.
"""

from __future__ import annotations

import numpy as np

from vitrina.core.experiments.interleaving import TEAM_A, team_draft
from vitrina.core.search.engine import Ranked, SearchEngine
from vitrina.serving.api_models import SearchItem
from vitrina.serving.experiment_config import CHALLENGER, CHAMPION
from vitrina.serving.search.shown_items import shown_item


def _drafted_by(engine: SearchEngine, ranked: Ranked) -> dict[str, tuple[int, float]]:
    """``engine``'s ranking as product id → (row, score), best first."""
    ids = engine.products.shown[0]
    return {
        ids[row]: (row, score)
        for row, score in zip(ranked.rows.tolist(), ranked.scores.tolist(), strict=True)
    }


def interleave_versions(
    champion: SearchEngine,
    champion_ranked: Ranked,
    challenger: SearchEngine,
    challenger_ranked: Ranked,
    k: int,
    seed: int,
) -> list[SearchItem]:
    """The team-draft list (champion = team A) of the two versions' rankings, at most ``k``
    items, each from the version that drafted it (module docstring)."""
    by_team = (_drafted_by(champion, champion_ranked), _drafted_by(challenger, challenger_ranked))
    b_ids = list(by_team[1])
    served = champion.products.rows_of(b_ids) >= 0 if b_ids else np.zeros(0, dtype=bool)
    drafted = team_draft(
        list(by_team[0]), [pid for pid, kept in zip(b_ids, served.tolist(), strict=True) if kept], k, seed
    )
    items = []
    for pid, team in zip(drafted.items, drafted.teams, strict=True):
        row, score = by_team[team][pid]
        engine = champion if team == TEAM_A else challenger
        items.append(shown_item(engine, row, score, CHAMPION if team == TEAM_A else CHALLENGER))
    return items
