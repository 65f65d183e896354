"""The experiment configuration served by the API (docs/spec.md §5.6), kept in one JSON file.

``$VITRINA_HOME/serving/experiment.json`` holds one experiment per surface (recs, search);
``PUT /admin/experiment`` validates and rewrites it atomically, ``GET`` reads it. A user's
arm is the sticky salted hash of :mod:`vitrina.core.experiments.assignment`. With
``shadow`` on, users of the challenger arm are still shown the champion; the challenger's
answer is computed beside it, off the response path, and compared with the champion's
(overlap@k, rank correlation, its scores, latency: :mod:`vitrina.core.experiments.shadow`)
in the shadow log (:mod:`vitrina.adapters.experiment_logs`).

What a challenger is: ``registered`` — the registered ``challenger`` version itself: for
recs its lists, published into the store beside the champion's under their own version key
(``vitrina experiment publish-challenger``), for search the index version its bundle was
built with, loaded beside the champion's; for recs also the popularity list, or ``champion``
— the champion's own list under the challenger label, an A/A test of the whole pipeline;
for search also another ranking mode of the served engine. A search experiment of ``kind:
interleave`` shows its challenger-arm users one team-draft list of the champion's and the
challenger's rankings — two modes of the served index, or the champion's and the registered
challenger's index versions, drafted by product id (docs/adr/0036) — each item labelled with
the team (champion or challenger) that drafted it.
"""

from __future__ import annotations

import json
import logging
from functools import cached_property
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vitrina.adapters.experiment_file import CONFIG_FILE
from vitrina.config import Settings
from vitrina.core.artifacts.files import write_json_atomic
from vitrina.core.experiments.assignment import Arm, Assignment

log = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"


class SurfaceExperiment(BaseModel):
    """One surface's experiment: enabled, name, salt, the two weights, shadow mode."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    name: str = Field(default="champion-vs-challenger", pattern=r"^[A-Za-z0-9._-]{1,64}$")
    salt: str = Field(default="vitrina", min_length=1, max_length=64)
    champion_weight: float = Field(default=80.0, gt=0, le=1e6)
    challenger_weight: float = Field(default=20.0, gt=0, le=1e6)
    shadow: bool = Field(default=False, description="Compute and log the challenger, show the champion.")

    @cached_property
    def assignment(self) -> Assignment:
        arms = (Arm(CHAMPION, self.champion_weight), Arm(CHALLENGER, self.challenger_weight))
        return Assignment(self.salt, arms)

    def arm(self, user_id: str | None) -> str:
        """The user's arm (champion when disabled or anonymous)."""
        if not self.enabled or user_id is None:
            return CHAMPION
        return self.assignment.assign(user_id)


REGISTERED: Final = "registered"


class RecsExperiment(SurfaceExperiment):
    challenger: Literal["registered", "popularity", "champion"] = Field(
        default="popularity",
        description="registered (the challenger version's published lists), popularity, or "
        "champion (the same list: an A/A test).",
    )


class SearchExperiment(SurfaceExperiment):
    challenger: Literal["registered", "bm25", "semantic", "hybrid", "hybrid_ltr"] = Field(
        default="hybrid",
        description="registered (the challenger version's index, in its served mode), or a "
        "ranking mode of the champion's index.",
    )
    kind: Literal["ab", "interleave"] = Field(
        default="ab",
        description="ab: the challenger arm sees the challenger's ranking; interleave: it sees a "
        "team-draft interleaving of the champion's and the challenger's rankings (another mode "
        "of the served index, or the registered challenger's own index version).",
    )


class ExperimentConfig(BaseModel):
    """Both surfaces' experiments (the body of ``GET|PUT /admin/experiment``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recs: RecsExperiment = RecsExperiment()
    search: SearchExperiment = SearchExperiment()


def config_path(settings: Settings) -> Path:
    return settings.home / CONFIG_FILE


def load_experiment(settings: Settings) -> ExperimentConfig:
    """The stored config; the default (everything disabled) when there is none or it is
    invalid (logged: a broken file must not take the service down)."""
    path = config_path(settings)
    if not path.exists():
        return ExperimentConfig()
    try:
        return ExperimentConfig.model_validate(json.loads(path.read_text()))
    except (ValueError, ValidationError) as error:
        log.error("ignoring the invalid experiment config %s: %s", path, error)
        return ExperimentConfig()


def save_experiment(settings: Settings, config: ExperimentConfig) -> None:
    """Write ``config`` atomically (temporary file, then rename)."""
    write_json_atomic(config.model_dump(mode="json"), str(config_path(settings)))
