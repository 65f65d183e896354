"""Champion / challenger lifecycle as pure plans over alias state (ADR-0004).

The registry holds, per model, aliases → version and, on each version that became champion,
the tag ``previous_champion`` (the version it replaced). From that state:

* **registration** of a gated version: it becomes ``challenger``; the very first passing
  version becomes ``champion`` directly (there is nothing to challenge); while a canary of
  the current challenger runs, the new version is *held* instead (ADR-0028): registered
  without an alias, tagged with why, so the version under canary is never replaced;
* **promotion**: ``champion`` moves to the challenger (or a named version), the replaced
  champion is written on the new one as ``previous_champion`` and gets the alias
  ``previous``; the ``challenger`` alias is removed from the promoted version;
* **withdrawal** of a challenger that failed online (a canary rolled back): the
  ``challenger`` alias is removed, the champion stays, the reason is tagged on the version;
* **rollback**: ``champion`` moves back to the current champion's ``previous_champion``,
  and ``previous`` to *that* version's predecessor (or is removed): repeated rollbacks walk
  the chain of champions backwards.

Each plan also says which tags to write on which version (who, when, why) and the history
event to append. :mod:`vitrina.adapters.registry.models` applies plans with MLflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS = "previous"
PREVIOUS_TAG = "previous_champion"
HELD = "held"
"""``registered_as`` of a version registered while a canary ran: no alias (ADR-0028)."""


class LifecycleError(ValueError):
    """A promotion or rollback that the current state does not allow (with the reason)."""


@dataclass(frozen=True)
class AliasState:
    """Aliases of one registered model and each version's ``previous_champion`` tag."""

    aliases: Mapping[str, int] = field(default_factory=dict)
    previous_champion: Mapping[int, int] = field(default_factory=dict)

    @property
    def champion(self) -> int | None:
        return self.aliases.get(CHAMPION)

    @property
    def challenger(self) -> int | None:
        return self.aliases.get(CHALLENGER)


@dataclass(frozen=True)
class AliasPlan:
    """What to write: aliases to set and delete, tags per version, one history event."""

    action: str
    set_aliases: dict[str, int]
    delete_aliases: tuple[str, ...]
    version_tags: dict[int, dict[str, str]]
    event: dict[str, Any]

    def summary(self, model: str) -> str:
        """``vitrina-recs: promote champion v1 → v2 (why)``: the line every caller prints."""
        if self.action == HELD:
            return f"{model}: v{self.event['to']} registered without an alias ({self.event['reason']})"
        before = "none" if self.event["from"] is None else f"v{self.event['from']}"
        return f"{model}: {self.action} champion {before} → v{self.event['to']} ({self.event['reason']})"


def plan_registration(
    state: AliasState, version: int, at: str, reason: str = "gate passed", hold: str | None = None
) -> AliasPlan:
    """A version that passed the gate: challenger, or champion when there is none yet; with
    ``hold`` (why the challenger must not move: a canary of it is running) no alias moves,
    the version is tagged ``registered_as = held`` with ``held_reason`` and the history says so."""
    if state.champion is None:
        return AliasPlan(
            action="register",
            set_aliases={CHAMPION: version},
            delete_aliases=(),
            version_tags={version: {"registered_at": at, "registered_as": CHAMPION}},
            event=_event("register", None, version, f"{reason}; first champion", at),
        )
    if hold is not None:
        return AliasPlan(
            action=HELD,
            set_aliases={},
            delete_aliases=(),
            version_tags={version: {"registered_at": at, "registered_as": HELD, "held_reason": hold}},
            event=_event(HELD, state.challenger, version, f"{reason}; held: {hold}", at),
        )
    return AliasPlan(
        action="register",
        set_aliases={CHALLENGER: version},
        delete_aliases=(),
        version_tags={version: {"registered_at": at, "registered_as": CHALLENGER}},
        event=_event("register", state.challenger, version, reason, at),
    )


def plan_promotion(state: AliasState, reason: str, at: str, version: int | None = None) -> AliasPlan:
    """Champion ← ``version`` (default: the challenger); the old champion is kept as previous."""
    target = version if version is not None else state.challenger
    if target is None:
        raise LifecycleError("there is no challenger to promote (register one that passes the gate)")
    old = state.champion
    if target == old:
        raise LifecycleError(f"version {target} is already the champion")
    set_aliases = {CHAMPION: target}
    tags = {
        target: {PREVIOUS_TAG: "" if old is None else str(old), "promoted_at": at, "promote_reason": reason}
    }
    if old is not None:
        set_aliases[PREVIOUS] = old
        tags[old] = {"demoted_at": at, "demoted_by": str(target)}
    delete = (CHALLENGER,) if state.challenger == target else ()
    return AliasPlan("promote", set_aliases, delete, tags, _event("promote", old, target, reason, at))


def plan_rollback(state: AliasState, reason: str, at: str) -> AliasPlan:
    """Champion ← the current champion's ``previous_champion``; ``previous`` steps back too."""
    current = state.champion
    if current is None:
        raise LifecycleError("there is no champion to roll back")
    target = state.previous_champion.get(current)
    if target is None:
        raise LifecycleError(f"champion version {current} has no previous champion to roll back to")
    before = state.previous_champion.get(target)
    set_aliases = {CHAMPION: target}
    delete: tuple[str, ...] = ()
    if before is None:
        delete = (PREVIOUS,)
    else:
        set_aliases[PREVIOUS] = before
    tags = {
        current: {"rolled_back_at": at, "rollback_reason": reason, "rolled_back_to": str(target)},
        target: {"restored_at": at, "restore_reason": reason},
    }
    return AliasPlan("rollback", set_aliases, delete, tags, _event("rollback", current, target, reason, at))


def plan_withdrawal(state: AliasState, reason: str, at: str) -> AliasPlan:
    """The challenger loses its alias (it failed online); the champion keeps serving."""
    challenger = state.challenger
    if challenger is None:
        raise LifecycleError("there is no challenger to withdraw")
    tags = {challenger: {"withdrawn_at": at, "withdraw_reason": reason}}
    kept = state.champion if state.champion is not None else challenger
    event = _event("withdraw", challenger, kept, reason, at)
    return AliasPlan("withdraw", {}, (CHALLENGER,), tags, event)


def _event(action: str, before: int | None, after: int, reason: str, at: str) -> dict[str, Any]:
    return {"action": action, "from": before, "to": after, "reason": reason, "at": at}
