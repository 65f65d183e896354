"""`vitrina models promote` / `vitrina models rollback`: switch the champion alias, then make serving follow.

For ``vitrina-recs`` the lists users see are precomputed, so after the switch the new
champion's batch is re-published right away (``republish=True``) and ``vitrina query recs USER``
changes: the CLI is a batch process itself. (The API's admin promote only switches the
alias and queues a ``publish-recs`` job for :mod:`vitrina.pipelines.jobs_runner`.) For
``vitrina-search`` the index pointer moves to the index version the new champion names
(blue-green); running API replicas pick it up on an admin reload.

The alias switch is the decision and always stands; if re-publishing fails (for example the
restored version was trained on other users or products than today's data), the store keeps
its current batch and the failure is reported in :attr:`Switch.publish_error`.
"""

from __future__ import annotations

from dataclasses import dataclass

from vitrina.adapters.home_lock import holds_home_lock
from vitrina.adapters.models.recs_bundle import IncompatibleBundleError
from vitrina.adapters.registry.mlflow_client import RECS_MODEL
from vitrina.adapters.registry.models import promote, rollback
from vitrina.config import Settings
from vitrina.core.promotion.alias_plans import AliasPlan
from vitrina.pipelines.recs.batch import BatchReport


@dataclass(frozen=True)
class Switch:
    """A promotion or rollback and what serving did about it."""

    model: str
    plan: AliasPlan
    batch: BatchReport | None = None
    publish_error: str | None = None
    note: str = ""

    def render(self) -> str:
        lines = [self.plan.summary(self.model)]
        if self.batch is not None:
            lines.append(self.batch.render())
        if self.publish_error:
            lines.append(f"re-publish failed, the store keeps its current batch: {self.publish_error}")
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)


def _follow(settings: Settings, model: str, plan: AliasPlan, republish: bool) -> Switch:
    if model != RECS_MODEL:
        from vitrina.adapters.models.champion_index import serve_champion_index

        served = serve_champion_index(settings)
        return Switch(
            model, plan, note=f"search now serves index {served} (API replicas pick it up on reload)"
        )
    if not republish:
        return Switch(model, plan, note="not re-published: lists change with the next `vitrina train recs`")
    from vitrina.pipelines.recs.publish import publish_champion

    try:
        batch = publish_champion(settings)
    except (IncompatibleBundleError, FileNotFoundError, ValueError) as error:
        return Switch(model, plan, publish_error=str(error))
    return Switch(model, plan, batch=batch)


@holds_home_lock
def promote_model(
    settings: Settings, model: str, reason: str, version: int | None = None, republish: bool = True
) -> Switch:
    """Challenger (or ``version``) → champion; LifecycleError when there is nothing to promote."""
    return _follow(settings, model, promote(settings, model, reason, version), republish)


@holds_home_lock
def rollback_model(settings: Settings, model: str, reason: str, republish: bool = True) -> Switch:
    """Champion ← previous champion; LifecycleError when there is none."""
    return _follow(settings, model, rollback(settings, model, reason), republish)
