"""The search logs as the search pipeline reads them, and its time windows.

``[.., t_rank)`` fits the encoder's training pairs and the signals, ``[t_rank, t_eval)`` labels
the ranker, ``[t_eval, end]`` is held out for evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.config import Settings
from vitrina.pipelines.search.live_logs import live_search_ids

LOG_COLUMNS = "search_id, user_id, query, ts, results_shown, results_clicked, results_purchased"


@dataclass(frozen=True)
class LogWindows:
    t_rank: pd.Timestamp
    t_eval: pd.Timestamp
    end: pd.Timestamp


def read_search_logs(settings: Settings) -> pd.DataFrame:
    """Validated search logs in time order, list columns as Python lists (empty frame if none)."""
    with Warehouse.from_settings(settings) as warehouse:
        if "search_logs" not in warehouse.present:
            return pd.DataFrame(columns=[c.strip() for c in LOG_COLUMNS.split(",")])
        logs = warehouse.df(f"SELECT {LOG_COLUMNS} FROM search_logs ORDER BY ts, search_id")
    for column in ("results_shown", "results_clicked", "results_purchased"):
        logs[column] = [list(v) if v is not None else [] for v in logs[column]]
    return logs


def held_out_start(end: pd.Timestamp, eval_days: int) -> pd.Timestamp:
    """``t_eval`` of logs whose last search is at ``end``: midnight ``eval_days - 1`` days
    before the last day (the last ``eval_days`` days are held out)."""
    return pd.Timestamp(end).floor("D") - pd.Timedelta(days=eval_days - 1)


def log_windows(logs: pd.DataFrame, eval_days: int, ranker_days: int) -> LogWindows | None:
    """The split, or ``None`` when the logs are too short to hold out anything."""
    if logs.empty:
        return None
    end = pd.Timestamp(logs["ts"].max())
    t_eval = held_out_start(end, eval_days)
    # Short histories (the 3-week ci data) split what precedes the evaluation in half.
    days_before = int((t_eval - pd.Timestamp(logs["ts"].min()).floor("D")).days)
    ranker_days = min(ranker_days, days_before // 2)
    if ranker_days < 1:
        return None
    return LogWindows(t_eval - pd.Timedelta(days=ranker_days), t_eval, end)


def count_live_logs(
    settings: Settings, logs: pd.DataFrame, windows: LogWindows | None, notes: list[str]
) -> dict[str, int]:
    """How many of ``logs`` came from the API's own traffic, and how many of those precede the
    held-out days (the encoder and the ranker learn from them); noted in ``notes`` when any did."""
    live_ids = live_search_ids(settings) if len(logs) else set()
    is_live = logs["search_id"].isin(live_ids).to_numpy(dtype=bool) if live_ids else np.zeros(len(logs), bool)
    n_live = int(is_live.sum())
    learnt = 0 if windows is None else int((is_live & (logs["ts"] < windows.t_eval).to_numpy()).sum())
    if n_live:
        notes.append(
            f"{n_live:,} of {len(logs):,} search logs from the shop's own traffic (the API's logged "
            f"answers and the clicks carrying their request id), {learnt:,} of them learnt from "
            "(before the held-out days)"
        )
    return {"rows": len(logs), "live": n_live, "live_learnt": learnt}
