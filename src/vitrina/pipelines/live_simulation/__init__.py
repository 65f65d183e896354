"""``vitrina simulate live``: the loop running a live shop unattended (see :mod:`.run`)."""

from vitrina.pipelines.live_simulation.run import LiveConfig, run_live

__all__ = ["LiveConfig", "run_live"]
