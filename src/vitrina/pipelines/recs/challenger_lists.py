"""``recs · publish challenger``: a published challenger's lists follow the data as the champion's do.

The loop re-publishes the champion's lists whenever the data changed (``recs · publish``): the
customers and products that arrived since are folded in. A registered challenger published
beside it for an experiment (shadow, A/B, canary) must follow the same data, or its arm answers
every customer who arrived since its lists were written with the popularity fallback while the
champion's arm knows them — a difference of data, not of models, that the experiment would
charge to the challenger. So after the champion's publish, :func:`refresh_challenger`
re-publishes the challenger's lists on the current data with the same model, when

* the store has challenger lists and the registry a ``challenger`` (a rollback withdraws both,
  a promotion makes the lists current), and
* those lists were made by that version's model (their ``model_version`` is the one
  :func:`~vitrina.pipelines.recs.publish.publish_challenger` writes for it): lists published by
  other means — a hand-made list, an older challenger's — are left as they are, since re-publishing
  them from the registry would change what the experiment's challenger arm serves.

It is a ledger step keyed on the validated tables, the challenger's version and the lists'
model: on unchanged data it is reused. The DAGs (``train recs``) and ``train all`` run it
through :func:`vitrina.pipelines.recs.run.run_recs`; the API reloads on the ``models`` counter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vitrina.adapters.registry.mlflow_client import RECS_MODEL
from vitrina.adapters.registry.models import get_version
from vitrina.adapters.reload_counters import bump_counter
from vitrina.adapters.step_ledger import Ledger
from vitrina.bootstrap import open_store
from vitrina.config import Settings
from vitrina.core.promotion.alias_plans import CHALLENGER
from vitrina.core.recs.dataset import RecsData
from vitrina.pipelines.recs.options import RecsConfig
from vitrina.pipelines.recs.publish import lists_model_version, publish_challenger

CHALLENGER_STEP = "publish challenger"


def refreshable(settings: Settings) -> tuple[dict[str, Any] | None, str]:
    """(what identifies the challenger's lists, "") when they should follow the data, else
    (None, why not)."""
    with open_store(settings) as store:
        published = store.challenger_version()
        infos = {info.version: info for info in store.versions()} if published else {}
    if published is None:
        return None, "no challenger lists published: nothing to refresh"
    challenger = get_version(settings, RECS_MODEL, CHALLENGER)
    if challenger is None:
        return None, f"{RECS_MODEL} has no challenger: its lists {published} are left as published"
    made_by = infos[published].model_version if published in infos else None
    expected = lists_model_version(challenger.version, challenger.tags)
    if made_by != expected:
        return None, (
            f"the challenger lists {published} were made by {made_by}, not by v{challenger.version}'s "
            f"model ({expected}): left as published"
        )
    return {"challenger": challenger.version, "model_version": expected}, ""


def refresh_challenger(
    settings: Settings,
    ledger: Ledger,
    tables: Callable[[], dict[str, str]],
    config: RecsConfig,
    data: Callable[[], RecsData] | None = None,
) -> dict[str, Any] | None:
    """Re-publish the challenger's lists on the current data (module docstring); skipped with
    the reason when they should not follow it. Returns the step's outputs (store version,
    users), None when skipped."""
    found, why = refreshable(settings)
    if found is None:
        ledger.skipped(CHALLENGER_STEP, why)
        return None

    def inputs() -> dict[str, Any]:
        return {"tables": tables(), **found, "top_k": config.top_k, "active_days": config.active_days}

    def work() -> dict[str, Any]:
        report = publish_challenger(settings, config, data=data() if data is not None else None)
        if report is None:  # the alias moved between the check and the publish
            return {"store_version": None}
        bump_counter(settings.home, "models")  # the API reloads what its challenger arm serves
        return {"store_version": report.version, "model_version": report.model_version, "users": report.users}

    def detail(outputs: Any) -> str:
        if outputs.get("store_version") is None:
            return "the challenger vanished: nothing re-published"
        return f"v{found['challenger']}'s lists re-published on today's data ({outputs['users']} users)"

    outputs, _ = ledger.run(CHALLENGER_STEP, inputs, work, detail)
    return outputs
